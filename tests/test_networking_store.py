"""NetworkingStore contract, on every engine (Mongo: the mongomock double unless
HUB_TEST_MONGODB_URL names a real server)."""

from __future__ import annotations

import pytest

from engines import add_users
from storage import DuplicateError
from storage.interfaces import Store
from storage.records import (
    LobbyRecord,
    NetworkingSessionRecord,
    SessionRatingRecord,
)

NOW = "2026-01-01T10:00:00.000Z"


def _session(
    session_id: str,
    lobby_id: str = "L1",
    started: str = NOW,
    ends: str = "2026-01-01T10:02:00.000Z",
) -> NetworkingSessionRecord:
    return NetworkingSessionRecord(
        id=session_id,
        lobby_id=lobby_id,
        offerer_id="a",
        answerer_id="b",
        offerer_conn="ca",
        answerer_conn="cb",
        started_at=started,
        ends_at=ends,
    )


async def test_lobbies(store: Store) -> None:
    await add_users(store, "admin")
    for index, (minutes, topic, ends) in enumerate(
        [(2, "design", None), (5, "design", "2026-01-01T11:00:00.000Z"), (2, "dev", None)]
    ):
        await store.networking.create_lobby(
            LobbyRecord(
                id=f"L{index + 1}",
                title="t",
                topic=topic,
                duration_minutes=minutes,
                created_by="admin",
                created_at=NOW,
                ends_at=ends,
            )
        )
    assert (await store.networking.get_lobby("L2")).duration_minutes == 5  # type: ignore[union-attr]
    assert await store.networking.get_lobby("nope") is None
    page = await store.networking.list_lobbies(duration=None, topic=None, before=None, limit=2)
    assert [lobby.id for lobby in page] == ["L3", "L2"]
    page = await store.networking.list_lobbies(duration=2, topic=None, before="L3", limit=5)
    assert [lobby.id for lobby in page] == ["L1"]
    page = await store.networking.list_lobbies(duration=None, topic="design", before=None, limit=5)
    assert [lobby.id for lobby in page] == ["L2", "L1"]
    assert [
        lobby.id for lobby in await store.networking.lobbies_to_close("2026-01-01T12:00:00.000Z")
    ] == ["L2"]
    assert await store.networking.close_lobby("L2", NOW) is True
    assert await store.networking.close_lobby("L2", NOW) is False
    assert await store.networking.lobbies_to_close("2026-01-01T12:00:00.000Z") == []


async def test_sessions_end_once_and_ratings_are_unique(store: Store) -> None:
    await add_users(store, "admin", "a", "b")
    await store.networking.create_lobby(
        LobbyRecord(
            id="L1", title="t", topic="x", duration_minutes=2, created_by="admin", created_at=NOW
        )
    )
    await store.networking.create_session(_session("S1"))
    await store.networking.create_session(
        _session("S2", started="2026-01-01T10:05:00.000Z", ends="2026-01-01T10:07:00.000Z")
    )
    assert sorted(s.id for s in await store.networking.active_sessions("L1")) == ["S1", "S2"]
    # S1 started before the no-show cut-off with nobody signaled; S2 did not.
    due = await store.networking.due_sessions(
        "2026-01-01T10:01:00.000Z", "2026-01-01T10:00:30.000Z"
    )
    assert [s.id for s in due] == ["S1"]
    await store.networking.mark_signaled("S1", "a", NOW)
    await store.networking.mark_signaled("S1", "a", "2026-01-01T10:00:09.000Z")  # first one stays
    await store.networking.mark_signaled("S1", "b", NOW)
    session = await store.networking.get_session("S1")
    assert session is not None and session.offerer_signaled_at == NOW
    assert session.answerer_signaled_at == NOW
    assert (
        await store.networking.due_sessions("2026-01-01T10:01:00.000Z", "2026-01-01T10:00:30.000Z")
        == []
    )
    due = await store.networking.due_sessions(
        "2026-01-01T10:07:00.000Z", "2026-01-01T10:00:00.000Z"
    )
    assert sorted(s.id for s in due) == ["S1", "S2"]

    assert await store.networking.end_session("S1", "time_up", NOW) is True
    assert await store.networking.end_session("S1", "peer_left", NOW) is False
    ended = await store.networking.get_session("S1")
    assert ended is not None and ended.status == "ended" and ended.end_reason == "time_up"
    assert [s.id for s in await store.networking.active_sessions("L1")] == ["S2"]

    await store.networking.add_rating(SessionRatingRecord("S1", "a", 5, True, NOW, "good"))
    with pytest.raises(DuplicateError):
        await store.networking.add_rating(SessionRatingRecord("S1", "a", 1, False, NOW))
    await store.networking.add_rating(SessionRatingRecord("S1", "b", 4, True, NOW))
    ratings = await store.networking.ratings("S1")
    assert sorted((r.rater_id, r.stars, r.connect, r.note) for r in ratings) == [
        ("a", 5, True, "good"),
        ("b", 4, True, None),
    ]
    assert await store.networking.mark_connected("S1", NOW) is True
    assert await store.networking.mark_connected("S1", NOW) is False
    await store.networking.set_conversation("S1", "C1")
    assert (await store.networking.get_session("S1")).conversation_id == "C1"  # type: ignore[union-attr]

    usage = await store.networking.usage()
    assert usage == [
        {
            "lobby_id": "L1",
            "sessions": 2,
            "connections": 1,
            "ratings": 2,
            "stars_total": 9,
            "connect_choices": 2,
        }
    ]
