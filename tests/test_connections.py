"""The per-connection bookkeeping of the realtime layer: token expiry with one
timer for every connection, remembered tokens, and the room index."""

from __future__ import annotations

import asyncio
import time

import pytest
import socketio

from hub.realtime.connections import ConnectionRegistry
from hub.realtime.rooms import HubManager, Room
from waits import eventually


class Expired:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def __call__(self, eio_sid: str, sids: dict[str, str]) -> None:
        self.calls.append((eio_sid, sids))


@pytest.mark.slow  # waits for a token deadline (up to 1 s)
async def test_connections_expire_at_their_tokens_deadline_with_one_timer():
    expired = Expired()
    registry = ConnectionRegistry(expired)
    soon = int(time.time()) + 1
    for n in range(50):
        registry.attach(f"e{n}", "/a", f"s{n}", f"u{n}", "session", soon)
        registry.attach(f"e{n}", "/b", f"t{n}", f"u{n}", "session", soon)
    registry.attach("late", "/a", "s-late", "u-late", "session", soon + 3600)
    registry.extend("e0", soon + 3600)  # refreshed: stays
    registry.detach("e1", "/a")
    registry.detach("e1", "/b")  # gone before its deadline: nothing to do
    # One timer fires at the deadline and expires the whole batch at once.
    await eventually(lambda: len(expired.calls) >= 48, timeout=soon - time.time() + 2)
    assert sorted(eio for eio, _ in expired.calls) == sorted(f"e{n}" for n in range(2, 50))
    assert ("e2", {"/a": "s2", "/b": "t2"}) in expired.calls
    assert registry._timer is not None and registry._timer_second == soon + 3600


@pytest.mark.slow  # waits for two token deadlines, a second apart
async def test_expiry_waits_for_the_newest_token():
    expired = Expired()
    registry = ConnectionRegistry(expired)
    now = int(time.time())
    registry.attach("e", "/a", "s", "u", "session", now + 1)
    registry.attach("e", "/b", "t", "u", "session", now + 2)  # a later token on another namespace
    await asyncio.sleep(now + 1 - time.time() + 0.3)  # on purpose: past the first deadline
    assert expired.calls == []
    await eventually(lambda: expired.calls, timeout=2)  # the second deadline
    assert [eio for eio, _ in expired.calls] == ["e"]


async def test_a_remembered_token_must_match_and_be_unexpired():
    registry = ConnectionRegistry(Expired())
    later = time.time() + 60
    registry.attach("e", "/a", "s", "u", "session", later, "token-one")
    assert registry.verified("e", "token-one") is registry.get("e")
    assert registry.verified("e", "token-two") is None
    assert registry.verified("other", "token-one") is None
    registry.attach("x", "/a", "s2", "u", "session", time.time() - 1, "token-old")
    assert registry.verified("x", "token-old") is None  # expired: verify (and refuse) again


def test_rooms_are_plain_dicts_indexed_per_sid():
    server = socketio.AsyncServer(client_manager=HubManager(), async_mode="aiohttp")
    manager = server.manager
    manager.set_server(server)
    ns = "/n"
    for sid, eio in (("a", "ea"), ("b", "eb")):
        manager.basic_enter_room(sid, ns, None, eio_sid=eio)
        manager.basic_enter_room(sid, ns, sid, eio_sid=eio)
        manager.basic_enter_room(sid, ns, "user:1")
    manager.basic_enter_room("a", ns, "lobby")
    assert isinstance(manager.rooms[ns]["user:1"], Room)
    assert dict(manager.get_participants(ns, "user:1")) == {"a": "ea", "b": "eb"}
    assert sorted(manager.get_rooms("a", ns)) == ["a", "lobby", "user:1"]
    assert manager.eio_sid_from_sid("a", ns) == "ea"
    assert manager.sid_from_eio_sid("ea", ns) == "a"
    with pytest.raises(ValueError):
        manager.basic_enter_room("a", ns, "b")  # another socket's own room
    manager.basic_leave_room("a", ns, "lobby")
    assert "lobby" not in manager.rooms[ns]
    assert sorted(manager.get_rooms("a", ns)) == ["a", "user:1"]
    manager.basic_disconnect("a", ns)
    assert manager.get_rooms("a", ns) == []
    assert dict(manager.get_participants(ns, "user:1")) == {"b": "eb"}
    assert "a" not in manager.rooms[ns] and "a" not in manager.rooms[ns][None]
    manager.basic_close_room("user:1", ns)
    assert manager.get_rooms("b", ns) == ["b"]
    manager.basic_disconnect("b", ns)
    assert ns not in manager.rooms
    assert manager._rooms_of == {}
