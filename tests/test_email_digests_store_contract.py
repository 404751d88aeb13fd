"""Email digests (issue 18): the store's one behaviour, every engine.

One record per user for their latest absence; every change is conditional on
the absence it was read for, and a claim is a lease one caller wins. Each test
runs on SQLite and on MongoDB (the mongomock double unless
HUB_TEST_MONGODB_URL is set).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from storage.interfaces import Store
from storage.records import EmailDigestRecord

T0 = "2024-05-01T10:00:00.000Z"
T1 = "2024-05-01T10:15:00.000Z"
T2 = "2024-05-01T10:30:00.000Z"
T3 = "2024-05-01T10:45:00.000Z"
LATER = "2024-05-02T10:00:00.000Z"


def pending(user_id: str, since: str = T0, due: str = T1) -> EmailDigestRecord:
    return EmailDigestRecord(user_id=user_id, absence_since=since, due_at=due)


async def test_schedule_keeps_one_record_per_user_for_the_latest_absence(store: Store) -> None:
    assert await store.email_digests.get("u1") is None
    assert await store.email_digests.schedule(pending("u1")) is True
    assert await store.email_digests.get("u1") == pending("u1")

    # The same absence again (a second process, a replay) or an older one: kept.
    assert await store.email_digests.schedule(pending("u1", T0, T3)) is False
    assert await store.email_digests.schedule(pending("u1", "2024-04-01T00:00:00.000Z")) is False
    assert await store.email_digests.get("u1") == pending("u1")

    # A later absence replaces it, whatever state the earlier one reached.
    await store.email_digests.finish("u1", T0, "sent", T1)
    assert await store.email_digests.schedule(pending("u1", T2, T3)) is True
    assert await store.email_digests.get("u1") == pending("u1", T2, T3)


async def test_due_lists_pending_unleased_records_earliest_first(store: Store) -> None:
    await store.email_digests.schedule(pending("late", T0, T2))
    await store.email_digests.schedule(pending("early", T0, T1))
    await store.email_digests.schedule(pending("future", T0, LATER))
    await store.email_digests.schedule(pending("done", T0, T1))
    await store.email_digests.finish("done", T0, "sent", T1)

    due = await store.email_digests.due(T3, limit=10)
    assert [r.user_id for r in due] == ["early", "late"]
    assert [r.user_id for r in await store.email_digests.due(T3, limit=1)] == ["early"]

    await store.email_digests.claim("early", T0, T3, LATER)
    assert [r.user_id for r in await store.email_digests.due(T3, limit=10)] == ["late"]
    # An expired lease is due again.
    assert [r.user_id for r in await store.email_digests.due(LATER, limit=10)] == [
        "early",
        "late",
        "future",
    ]


async def test_one_of_concurrent_claims_wins(store: Store) -> None:
    await store.email_digests.schedule(pending("u1"))

    claims = await asyncio.gather(*(store.email_digests.claim("u1", T0, T2, T3) for _ in range(5)))

    won = [c for c in claims if c is not None]
    assert won == [replace(pending("u1"), lease_until=T3)]
    # Not before it is due, not for another absence, not while leased.
    await store.email_digests.schedule(pending("u2", T0, T2))
    assert await store.email_digests.claim("u2", T0, T1, T3) is None
    assert await store.email_digests.claim("u2", T1, T2, T3) is None
    assert await store.email_digests.claim("u1", T0, T2, LATER) is None
    # After the lease ran out, someone else may take it over.
    assert await store.email_digests.claim("u1", T0, T3, LATER) is not None


async def test_finish_and_release_act_only_on_the_pending_absence_read(store: Store) -> None:
    await store.email_digests.schedule(pending("u1"))
    await store.email_digests.claim("u1", T0, T1, T2)

    assert await store.email_digests.release("u1", T0, T3, attempts=1) is True
    assert await store.email_digests.get("u1") == replace(pending("u1", T0, T3), attempts=1)
    assert await store.email_digests.release("u1", T1, T3, attempts=2) is False

    assert await store.email_digests.finish("u1", T1, "sent", T3) is False  # another absence
    assert await store.email_digests.finish("u1", T0, "sent", T3) is True
    assert await store.email_digests.finish("u1", T0, "sent", T3) is False  # sent once
    assert await store.email_digests.release("u1", T0, T3, attempts=2) is False
    sent = await store.email_digests.get("u1")
    assert sent == replace(pending("u1", T0, T3), state="sent", attempts=1, finished_at=T3)
    assert await store.email_digests.claim("u1", T0, LATER, LATER) is None


async def test_rearm_makes_idle_records_pending_again(store: Store) -> None:
    for user_id in ("idle", "sent", "pending"):
        await store.email_digests.schedule(pending(user_id))
    await store.email_digests.finish("idle", T0, "idle", T1)
    await store.email_digests.finish("sent", T0, "sent", T1)

    assert await store.email_digests.rearm([], T2) == 0
    assert await store.email_digests.rearm(["idle", "sent", "pending", "nobody"], T2) == 1

    assert await store.email_digests.get("idle") == pending("idle", T0, T2)
    assert (await store.email_digests.get("sent")).state == "sent"  # type: ignore[union-attr]
    assert await store.email_digests.get("pending") == pending("pending")
    assert await store.email_digests.rearm(["idle"], T3) == 0  # pending now
