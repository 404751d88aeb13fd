"""The port through which domain services reach connected clients.

Services emit events to rooms; they never see the Socket.IO server, only this
protocol, which python-socketio's ``AsyncServer`` satisfies as it is. The room
names every namespace shares are defined here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class Emitter(Protocol):
    """Sends an event to the sockets in ``to`` (a room or several) on a namespace,
    on every process (through Redis when configured) unless ``ignore_queue``."""

    async def emit(
        self,
        event: str,
        data: Any = None,
        *,
        to: str | list[str] | None = None,
        namespace: str | None = None,
        skip_sid: str | list[str] | None = None,
        ignore_queue: bool = False,
    ) -> None: ...


def user_room(user_id: str) -> str:
    """Every socket of one user on a namespace (each namespace joins its own)."""
    return f"user:{user_id}"


def conn_room(eio_sid: str) -> str:
    """Every socket of one client connection (Engine.IO session) on a namespace."""
    return f"conn:{eio_sid}"


class UserEvents:
    """Emits on one namespace to users' rooms. ``skip_sid`` is the socket that
    caused the event: it has its answer in the ack already."""

    def __init__(self, emitter: Emitter, namespace: str) -> None:
        self.emitter = emitter
        self.namespace = namespace

    async def to_users(
        self, event: str, data: Any, user_ids: Iterable[str], skip_sid: str | None = None
    ) -> None:
        rooms = [user_room(user_id) for user_id in user_ids]
        if rooms:
            await self.emitter.emit(
                event, data, to=rooms, namespace=self.namespace, skip_sid=skip_sid
            )

    async def to_local_users(
        self, event: str, data: Any, user_ids: Iterable[str], skip_sid: str | None = None
    ) -> None:
        """Like ``to_users`` but only to sockets of this process (no Redis relay)."""
        rooms = [user_room(user_id) for user_id in user_ids]
        if rooms:
            await self.emitter.emit(
                event,
                data,
                to=rooms,
                namespace=self.namespace,
                skip_sid=skip_sid,
                ignore_queue=True,
            )
