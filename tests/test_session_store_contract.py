"""Sessions, one behaviour on every engine: each test runs on SQLite and on MongoDB."""

from __future__ import annotations

import asyncio

import pytest

from engines import add_users
from storage.errors import DuplicateError
from storage.interfaces import Store
from storage.records import RefreshTokenRecord, SessionRecord

T0 = "2024-05-01T10:00:00.000Z"
T1 = "2024-05-01T11:00:00.000Z"
T2 = "2024-05-01T12:00:00.000Z"
T3 = "2024-05-01T13:00:00.000Z"


def session(
    session_id: str, user_id: str = "u1", created_at: str = T0, **extra: object
) -> SessionRecord:
    values: dict[str, object] = {"last_used_at": created_at, **extra}
    return SessionRecord(id=session_id, user_id=user_id, created_at=created_at, **values)  # type: ignore[arg-type]


@pytest.fixture
async def users(store: Store) -> Store:
    await add_users(store, "u1", "u2")
    return store


async def test_create_then_get_returns_every_field(users: Store) -> None:
    created = session("s1", user_agent="Firefox/130", ip="203.0.113.7")
    await users.sessions.create(created)

    assert await users.sessions.get("s1") == created
    assert await users.sessions.get("missing") is None


async def test_unknown_agent_and_ip_stay_none(users: Store) -> None:
    await users.sessions.create(session("s1"))

    found = await users.sessions.get("s1")

    assert found is not None and (found.user_agent, found.ip, found.revoked_at) == (
        None,
        None,
        None,
    )


async def test_a_session_id_is_unique(users: Store) -> None:
    await users.sessions.create(session("s1"))

    with pytest.raises(DuplicateError):
        await users.sessions.create(session("s1", "u2"))
    stored = await users.sessions.get("s1")
    assert stored is not None and stored.user_id == "u1"


async def test_list_for_user_is_active_sessions_newest_first(users: Store) -> None:
    await users.sessions.create(session("a", created_at=T0))
    await users.sessions.create(session("c", created_at=T2))
    await users.sessions.create(session("b", created_at=T1))
    await users.sessions.create(session("other", "u2", created_at=T1))
    await users.sessions.create(session("gone", created_at=T2, revoked_at=T3))

    listed = await users.sessions.list_for_user("u1")

    assert [s.id for s in listed] == ["c", "b", "a"]
    assert await users.sessions.list_for_user("nobody") == []


async def test_touch_moves_last_used_at_only(users: Store) -> None:
    await users.sessions.create(session("s1", user_agent="curl/8"))

    await users.sessions.touch("s1", T2)

    assert await users.sessions.get("s1") == session("s1", user_agent="curl/8", last_used_at=T2)


async def test_revoke_is_true_once_and_keeps_the_first_time(users: Store) -> None:
    await users.sessions.create(session("s1"))

    assert await users.sessions.revoke("s1", T1) is True
    assert await users.sessions.revoke("s1", T2) is False
    assert await users.sessions.revoke("missing", T2) is False

    revoked = await users.sessions.get("s1")
    assert revoked is not None and revoked.revoked_at == T1
    assert await users.sessions.list_for_user("u1") == []


async def test_revoke_all_for_user_returns_the_sessions_it_revoked(users: Store) -> None:
    for session_id in ("a", "b"):
        await users.sessions.create(session(session_id))
    await users.sessions.create(session("old", revoked_at=T0))
    await users.sessions.create(session("theirs", "u2"))

    revoked = await users.sessions.revoke_all_for_user("u1", T1)

    assert sorted(revoked) == ["a", "b"]
    assert await users.sessions.list_for_user("u1") == []
    old = await users.sessions.get("old")
    assert old is not None and old.revoked_at == T0
    assert [s.id for s in await users.sessions.list_for_user("u2")] == ["theirs"]
    assert await users.sessions.revoke_all_for_user("u1", T2) == []


async def test_revoke_all_for_user_can_keep_one_session(users: Store) -> None:
    for session_id in ("a", "b", "c"):
        await users.sessions.create(session(session_id))

    revoked = await users.sessions.revoke_all_for_user("u1", T1, except_id="b")

    assert sorted(revoked) == ["a", "c"]
    assert [s.id for s in await users.sessions.list_for_user("u1")] == ["b"]


# --- retention (hub/accounts/retention.py): what ended before ``before`` goes --------------

T4 = "2024-05-01T14:00:00.000Z"


def refresh_token(
    token_hash: str, family_id: str, expires_at: str, **extra: object
) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=token_hash,
        family_id=family_id,
        user_id="u1",
        created_at=T0,
        expires_at=expires_at,
        # (extra holds the record's other fields, of several types: mypy sees only object)
        **extra,  # type: ignore[arg-type]
    )


async def remaining_tokens(store: Store, *hashes: str) -> set[str]:
    return {h for h in hashes if await store.refresh_tokens.get(h) is not None}


async def remaining_sessions(store: Store, *ids: str) -> set[str]:
    return {i for i in ids if await store.sessions.get(i) is not None}


async def test_prune_deletes_the_tokens_expired_before_and_keeps_the_rest(users: Store) -> None:
    for record in (
        refresh_token("used-expired", "f1", T0, used_at=T0),
        refresh_token("revoked-expired", "f2", T0, revoked_at=T0),
        refresh_token("fresh-expired", "f1", T1),
        # expiring exactly at ``before``, and a live family's rotated (used)
        # token within its life: a reuse of it must still be detected.
        refresh_token("at-before", "f1", T2),
        refresh_token("rotated-live", "f3", T4, used_at=T1),
        refresh_token("current-live", "f3", T4),
    ):
        await users.refresh_tokens.create(record)

    assert await users.refresh_tokens.prune(T2, 10) == 3

    everything = ("used-expired", "revoked-expired", "fresh-expired", "at-before")
    kept = await remaining_tokens(users, *everything, "rotated-live", "current-live")
    assert kept == {"at-before", "rotated-live", "current-live"}
    rotated = await users.refresh_tokens.get("rotated-live")
    assert rotated == refresh_token("rotated-live", "f3", T4, used_at=T1)
    assert await users.refresh_tokens.mark_used("rotated-live", T3) is False  # still a reuse
    assert await users.refresh_tokens.prune(T2, 10) == 0


async def test_token_prune_is_bounded_by_its_limit(users: Store) -> None:
    for index in range(5):
        await users.refresh_tokens.create(refresh_token(f"old{index}", "f1", T0))

    assert [await users.refresh_tokens.prune(T1, 2) for _ in range(4)] == [2, 2, 1, 0]


async def test_prune_revoked_deletes_sessions_revoked_before_only(users: Store) -> None:
    await users.sessions.create(session("revoked-long-ago", revoked_at=T0))
    await users.sessions.create(session("theirs-revoked", "u2", revoked_at=T0))
    await users.sessions.create(session("revoked-lately", revoked_at=T2))
    await users.sessions.create(session("revoked-at-before", revoked_at=T1))
    await users.sessions.create(session("active-unused", created_at=T0))

    assert await users.sessions.prune_revoked(T1, 10) == 2

    ids = ("revoked-long-ago", "theirs-revoked", "revoked-lately", "revoked-at-before")
    kept = await remaining_sessions(users, *ids, "active-unused")
    assert kept == {"revoked-lately", "revoked-at-before", "active-unused"}
    assert [s.id for s in await users.sessions.list_for_user("u1")] == ["active-unused"]


async def test_prune_expired_deletes_unrevoked_sessions_no_token_keeps_alive(
    users: Store,
) -> None:
    tokens = [
        ("lapsed", "l1", T0, T0),  # session, token, expires_at, used_at
        ("lapsed", "l2", T0, None),
        ("theirs-lapsed", "t1", T0, None),
        # rotated long ago, but its newest token expires after ``before``
        ("kept-alive", "k1", T0, T0),
        ("kept-alive", "k2", T4, None),
        ("expires-at-before", "b1", T2, None),
        ("revoked", "r1", T0, None),
    ]
    for session_id, user_id, last_used_at, revoked_at in (
        ("lapsed", "u1", T0, None),
        ("no-tokens", "u1", T0, None),
        ("theirs-lapsed", "u2", T0, None),
        ("kept-alive", "u1", T0, None),
        ("expires-at-before", "u1", T0, None),
        ("used-lately", "u1", T2, None),  # last used at ``before``: not yet
        ("revoked", "u1", T0, T0),  # prune_revoked's
    ):
        await users.sessions.create(
            session(session_id, user_id, last_used_at=last_used_at, revoked_at=revoked_at)
        )
    for session_id, token_hash, expires_at, used_at in tokens:
        await users.refresh_tokens.create(
            refresh_token(token_hash, session_id, expires_at, used_at=used_at)
        )

    assert await users.sessions.prune_expired(T2, 10) == 3

    all_ids = ("lapsed", "no-tokens", "theirs-lapsed", "kept-alive", "expires-at-before")
    kept = await remaining_sessions(users, *all_ids, "used-lately", "revoked")
    assert kept == {"kept-alive", "expires-at-before", "used-lately", "revoked"}
    assert await users.sessions.prune_expired(T2, 10) == 0
    # Sessions only: the tokens are the token prune's.
    assert await remaining_tokens(users, *(t[1] for t in tokens)) == {t[1] for t in tokens}


async def test_prune_expired_looks_past_sessions_kept_alive(users: Store) -> None:
    """A limit of 1 with live candidates (long refresh-token life) ahead of
    the expired ones still deletes one expired session per call."""
    for index in range(3):
        await users.sessions.create(session(f"alive{index}", last_used_at=T0))
        await users.refresh_tokens.create(refresh_token(f"a{index}", f"alive{index}", T4))
    for index in range(2):
        await users.sessions.create(session(f"expired{index}", last_used_at=T0))

    assert [await users.sessions.prune_expired(T1, 1) for _ in range(3)] == [1, 1, 0]
    assert await remaining_sessions(users, "alive0", "alive1", "alive2", "expired0") == {
        "alive0",
        "alive1",
        "alive2",
    }


async def test_two_pruners_at_once_delete_each_row_once(users: Store) -> None:
    for index in range(6):
        await users.sessions.create(session(f"revoked{index}", revoked_at=T0))
        await users.sessions.create(session(f"expired{index}", last_used_at=T0))
        await users.refresh_tokens.create(refresh_token(f"old{index}", "gone", T0))

    prunes = (
        users.sessions.prune_revoked,
        users.sessions.prune_expired,
        users.refresh_tokens.prune,
    )

    results = await asyncio.gather(*(prune(T1, 4) for _ in range(2) for prune in prunes))
    rest = [await prune(T1, 100) for prune in prunes]

    assert sum(results) + sum(rest) == 18  # each row counted by the one that deleted it
    assert [await prune(T1, 100) for prune in prunes] == [0, 0, 0]
