"""Sessions, one behaviour on every engine: each test runs on SQLite and on MongoDB."""

from __future__ import annotations

import pytest

from engines import add_users
from storage.errors import DuplicateError
from storage.interfaces import Store
from storage.records import SessionRecord

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
