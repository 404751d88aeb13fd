"""The /notifications namespace: server-to-client ``notification`` events only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..emitter import user_room
from ..realtime import Caller, HubNamespace
from .service import NAMESPACE

if TYPE_CHECKING:
    from ..realtime.gate import SocketGate


class NotificationsNamespace(HubNamespace):
    """Each socket joins its user's room, where ``notification`` events go.
    The inbox itself (list, read, unread count) is REST."""

    def __init__(self, hub: SocketGate) -> None:
        super().__init__(NAMESPACE, hub)

    async def on_user_connected(self, caller: Caller) -> None:
        await self.enter_room(caller.sid, user_room(caller.user_id))
