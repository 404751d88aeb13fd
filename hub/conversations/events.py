"""Where conversation events go: every socket of each addressed user."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import socketio

NAMESPACE = "/conversations"


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


class ConversationEvents:
    """Emits on /conversations to users' rooms. ``skip_sid`` is the socket that
    caused the event: it has its answer in the ack already."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def to_users(
        self, event: str, data: Any, user_ids: Iterable[str], skip_sid: str | None = None
    ) -> None:
        rooms = [user_room(user_id) for user_id in user_ids]
        if rooms:
            await self.sio.emit(event, data, to=rooms, namespace=NAMESPACE, skip_sid=skip_sid)

    async def to_local_users(
        self, event: str, data: Any, user_ids: Iterable[str], skip_sid: str | None = None
    ) -> None:
        """Like ``to_users`` but only to sockets of this process (no Redis relay)."""
        rooms = [user_room(user_id) for user_id in user_ids]
        if rooms:
            await self.sio.emit(
                event, data, to=rooms, namespace=NAMESPACE, skip_sid=skip_sid, ignore_queue=True
            )
