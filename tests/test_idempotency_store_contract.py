"""Idempotency keys: one behaviour, every engine (SQLite and the Mongo engine).

The store holds one record per (scope, key): a claim while its request runs
(status 0), committed with the request's first marketplace transition
(status 1), then its response (an HTTP status). A claim is named by its
``created_at``, the token.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from engines import add_users
from storage.errors import ClaimLost
from storage.interfaces import Store
from storage.records import (
    IdempotencyRecord,
    JobRecord,
    KeyClaim,
    MovementRecord,
    Posting,
    Transition,
)

T0 = "2024-05-01T10:00:00.000Z"
T1 = "2024-05-01T11:00:00.000Z"
T2 = "2024-05-01T12:00:00.000Z"
T3 = "2024-05-01T13:00:00.000Z"
SCOPE = "u1:POST /wallet/payouts"


def claim(key: str = "k1", request_hash: str = "hash-a", at: str = T1) -> IdempotencyRecord:
    return IdempotencyRecord(SCOPE, key, request_hash, 0, None, at)


async def test_a_key_is_claimed_once(store: Store) -> None:
    assert await store.idempotency.reserve(claim()) is True
    assert await store.idempotency.reserve(claim(request_hash="hash-b", at=T2)) is False
    stored = await store.idempotency.get(SCOPE, "k1")
    assert stored == claim()
    assert await store.idempotency.get(SCOPE, "k2") is None
    assert await store.idempotency.get("u2:POST /wallet/payouts", "k1") is None
    assert await store.idempotency.reserve(replace(claim(), scope="u2:POST /wallet/payouts"))


async def test_the_response_is_stored_on_its_own_claim_only(store: Store) -> None:
    await store.idempotency.reserve(claim())
    body = {"content_type": "application/json", "text": '{"id":"p1","nested":[1,"x"]}'}
    assert await store.idempotency.complete(SCOPE, "k1", T0, 202, body) is False  # another token
    assert await store.idempotency.complete(SCOPE, "k1", T1, 202, body) is True
    done = await store.idempotency.get(SCOPE, "k1")
    assert done is not None and (done.status, done.body) == (202, body)
    # Done is done: neither given back nor answered again.
    await store.idempotency.release(SCOPE, "k1", T1)
    assert await store.idempotency.complete(SCOPE, "k1", T1, 500, {"other": True}) is False
    assert await store.idempotency.get(SCOPE, "k1") == done


async def test_a_pending_claim_is_given_back_by_its_own_token(store: Store) -> None:
    await store.idempotency.reserve(claim())
    await store.idempotency.release(SCOPE, "k1", T0)  # not its token
    assert await store.idempotency.get(SCOPE, "k1") is not None
    await store.idempotency.release(SCOPE, "k1", T1)
    assert await store.idempotency.get(SCOPE, "k1") is None
    assert await store.idempotency.reserve(claim())


@pytest.mark.parametrize(
    ("pending_before", "any_before", "taken"),
    [
        (T1, T0, False),  # a claim from T1 is not stale before T1
        (T2, T0, True),  # pending since before T2: its request died
        (T0, T2, True),  # created before T2: expired, whatever its state
    ],
)
async def test_a_dead_or_expired_claim_is_taken_over_once(
    store: Store, pending_before: str, any_before: str, taken: bool
) -> None:
    await store.idempotency.reserve(claim())
    newer = claim(request_hash="hash-c", at=T3)
    assert (
        await store.idempotency.take_over(
            newer, pending_before=pending_before, any_before=any_before
        )
        is taken
    )
    assert (
        await store.idempotency.take_over(
            newer, pending_before=pending_before, any_before=any_before
        )
        is False
    )
    assert await store.idempotency.get(SCOPE, "k1") == (newer if taken else claim())


async def test_a_committed_claim_is_not_taken_over_until_it_expires(store: Store) -> None:
    await add_users(store, "c1")
    await store.idempotency.reserve(claim())
    await store.market.apply(Transition(inserts=[job("j1")], claim=KeyClaim(SCOPE, "k1", T1)))
    newer = claim(request_hash="hash-c", at=T3)
    assert not await store.idempotency.take_over(newer, pending_before=T3, any_before=T0)
    assert await store.idempotency.take_over(newer, pending_before=T3, any_before=T2)


async def test_purge_deletes_what_was_created_before(store: Store) -> None:
    for key, at in (("old", T0), ("mid", T1), ("new", T2)):
        await store.idempotency.reserve(claim(key, at=at))
    assert await store.idempotency.purge(T2) == 2
    assert [
        await store.idempotency.get(SCOPE, key) is not None for key in ("old", "mid", "new")
    ] == [False, False, True]


# The claim commits with the marketplace transition it was made for


def job(job_id: str) -> JobRecord:
    return JobRecord(
        id=job_id,
        owner_id="c1",
        title="t",
        description="d",
        skills=[],
        budget_min=1,
        budget_max=2,
        currency="USD",
        type="fixed",
        status="open",
        created_at=T1,
        updated_at=T1,
    )


def deposit_movement(amount: int) -> MovementRecord:
    return MovementRecord(
        id=f"mv-{amount}",
        kind="deposit",
        ref_type="deposit",
        ref_id="d1",
        created_at=T1,
        postings=[
            Posting("c1", "available", "USD", amount, "deposit"),
            Posting("provider:x", "external", "USD", -amount, "deposit"),
        ],
    )


async def test_apply_commits_the_claim_with_the_transition(store: Store) -> None:
    await add_users(store, "c1")
    await store.idempotency.reserve(claim())
    await store.market.apply(
        Transition(
            inserts=[job("j1")], movement=deposit_movement(5), claim=KeyClaim(SCOPE, "k1", T1)
        )
    )
    stored = await store.idempotency.get(SCOPE, "k1")
    assert stored is not None and stored.status == 1
    assert await store.market.get_job("j1") is not None
    # Committed: the response can be stored on it, and it is no longer given back.
    await store.idempotency.release(SCOPE, "k1", T1)
    assert await store.idempotency.complete(SCOPE, "k1", T1, 201, {"ok": 1}) is True


async def test_a_lost_claim_writes_nothing(store: Store) -> None:
    await add_users(store, "c1")
    await store.idempotency.reserve(claim())
    taken = claim(request_hash="hash-c", at=T3)
    assert await store.idempotency.take_over(taken, pending_before=T2, any_before=T0)
    with pytest.raises(ClaimLost):
        await store.market.apply(
            Transition(
                inserts=[job("j1")], movement=deposit_movement(5), claim=KeyClaim(SCOPE, "k1", T1)
            )
        )
    assert await store.market.get_job("j1") is None
    assert [b for b in await store.ledger.balances("c1")] == []
    assert await store.idempotency.get(SCOPE, "k1") == taken
    # A claim commits once: the same claim again is lost too.
    await store.market.apply(Transition(inserts=[job("j2")], claim=KeyClaim(SCOPE, "k1", T3)))
    with pytest.raises(ClaimLost):
        await store.market.apply(Transition(inserts=[job("j3")], claim=KeyClaim(SCOPE, "k1", T3)))
    assert await store.market.get_job("j3") is None
