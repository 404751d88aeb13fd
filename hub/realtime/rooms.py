"""python-socketio's room bookkeeping, made cheap for many sockets.

python-socketio keeps ``rooms[namespace][room]`` as a ``bidict`` per room and,
on every disconnect, copies the namespace's room table and scans every room
for the sid. The hub gives each socket its own room (the framework's) plus a
room per user, and per connection on some namespaces, so a disconnect cost
O(sockets) and 2,000 users dropping at once kept the event loop busy for
about 12 s. Each bidict also weighs about 0.5 KB more than a dict.

``RoomIndexMixin`` remembers, per sid, which rooms it entered, so a disconnect
leaves exactly those, and stores rooms other than the namespace's sid map
(room ``None``, whose reverse lookup python-socketio needs) in plain dicts.
Emits and the Redis pub/sub are left to the managers it is mixed into.
"""

from __future__ import annotations

from typing import Any

from ..cluster.redis import HubRedisManager
from .manager import DirectEmitManager


class Room(dict):  # type: ignore[type-arg]
    """A room's members, ``sid -> eio sid``.

    python-socketio reads a room other than ``None`` only as a mapping and
    through ``room._fwdm`` (the forward map of a bidict): this is that map.
    """

    __slots__ = ()

    @property
    def _fwdm(self) -> Room:
        return self


class RoomIndexMixin:
    """Put before a python-socketio manager class in the bases."""

    rooms: dict[str, dict[Any, Any]]
    callbacks: dict[str, Any]
    pending_connect: dict[str, list[str]]
    pending_disconnect: dict[str, list[str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # sid -> the rooms it entered besides None and its own sid room.
        # Sids are unique across namespaces (random ids from engine.io).
        self._rooms_of: dict[str, tuple[str, ...]] = {}

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        if room is None:  # the sid map: stays a bidict (eio sid -> sid lookups)
            super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
            return
        # The same checks and effect as BaseManager.basic_enter_room.
        if eio_sid is None and namespace not in self.rooms:
            raise ValueError("sid is not connected to requested namespace")
        if sid != room and self.is_sid_room(namespace, room):  # type: ignore[attr-defined]
            raise ValueError("cannot enter a sid room")
        rooms = self.rooms.setdefault(namespace, {})
        if eio_sid is None:
            eio_sid = rooms[None][sid]
        members = rooms.get(room)
        if members is None:
            members = rooms[room] = Room()
        members[sid] = eio_sid
        if room != sid:
            entered = self._rooms_of.get(sid, ())
            if room not in entered:
                self._rooms_of[sid] = (*entered, room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        entered = self._rooms_of.get(sid)
        if entered is not None and room in entered:
            rest = tuple(r for r in entered if r != room)
            if rest:
                self._rooms_of[sid] = rest
            else:
                del self._rooms_of[sid]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """BaseManager.basic_disconnect, leaving only the rooms the sid is in."""
        if namespace not in self.rooms:
            return
        for room in self._rooms_of.pop(sid, ()):
            self.basic_leave_room(sid, namespace, room)
        self.basic_leave_room(sid, namespace, sid)
        self.basic_leave_room(sid, namespace, None)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        """The rooms the sid is in (its own included), as BaseManager.get_rooms."""
        rooms = self.rooms.get(namespace, {})
        candidates = (sid, *self._rooms_of.get(sid, ()))
        return [room for room in candidates if sid in rooms.get(room, ())]


class HubManager(RoomIndexMixin, DirectEmitManager):
    """The manager of a single hub process."""


class HubRedisRoomManager(RoomIndexMixin, HubRedisManager):
    """The manager of a hub process sharing emits with others through Redis."""
