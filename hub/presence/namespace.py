"""The /presence namespace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ValidationFailed
from ..realtime import Caller, HubNamespace, event
from .models import SetStatus, UserIds
from .service import NAMESPACE, watchers_room

if TYPE_CHECKING:
    from ..realtime.gate import SocketGate
    from .service import PresenceService

    class Door(SocketGate, Protocol):
        """What this namespace needs from the composition root."""

        @property
        def presence(self) -> PresenceService: ...


MAX_SUBSCRIPTIONS_PER_SOCKET = 2000


class PresenceNamespace(HubNamespace):
    """A socket here makes its user online; subscriptions are rooms per watched user."""

    def __init__(self, hub: Door) -> None:
        super().__init__(NAMESPACE, hub)
        self.service = hub.presence

    async def on_user_connected(self, caller: Caller) -> None:
        await self.service.connected(caller.user_id, caller.sid)

    async def on_user_disconnected(self, caller: Caller) -> None:
        await self.service.disconnected(caller.user_id, caller.sid)

    @event("presence:subscribe", UserIds, limit="presence")
    async def subscribe(self, caller: Caller, payload: UserIds) -> dict[str, Any]:
        user_ids = list(dict.fromkeys(payload.user_ids))
        already = len(self.rooms(caller.sid)) - 1  # every socket is in its own sid room
        if already + len(user_ids) > MAX_SUBSCRIPTIONS_PER_SOCKET:
            raise ValidationFailed.field(
                "user_ids", f"At most {MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per socket"
            )
        # Only users the caller may see (issue 20): the others answer offline
        # and their watchers rooms are not entered, so nothing live leaks.
        allowed = await self.service.visible(caller.user_id, user_ids)
        for user_id in user_ids:
            if user_id in allowed:
                await self.enter_room(caller.sid, watchers_room(user_id))
        states = await self.service.states_for(caller.user_id, user_ids, allowed)
        return {"items": [state.model_dump() for state in states]}

    @event("presence:unsubscribe", UserIds, limit="presence")
    async def unsubscribe(self, caller: Caller, payload: UserIds) -> dict[str, Any]:
        for user_id in payload.user_ids:
            await self.leave_room(caller.sid, watchers_room(user_id))
        return {}

    @event("presence:set", SetStatus, limit="presence")
    async def set_status(self, caller: Caller, payload: SetStatus) -> dict[str, Any]:
        return (await self.service.set_status(caller.user_id, payload.status)).model_dump()
