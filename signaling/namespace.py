"""The /signaling namespace: thin event handlers over SignalingService and EchoService."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.emitter import conn_room, user_room
from hub.realtime import Caller, HubNamespace, event

from .models import CallInvite, CallRef, EchoStart, Signal
from .service import NAMESPACE

if TYPE_CHECKING:
    from hub.context import Hub

Result = dict[str, Any]


class SignalingNamespace(HubNamespace):
    """Each socket joins its user's room (call events for every device) and its
    connection's room (networking-session signals)."""

    def __init__(self, hub: Hub) -> None:
        super().__init__(NAMESPACE, hub)
        self.service = hub.signaling
        self.echo = hub.echo

    async def on_user_connected(self, caller: Caller) -> None:
        await self.enter_room(caller.sid, user_room(caller.user_id))
        await self.enter_room(caller.sid, conn_room(self.sockets[caller.sid][1]))

    async def on_user_disconnected(self, caller: Caller) -> None:
        await self.echo.stop(caller.sid)
        await self.service.socket_gone(caller.user_id, caller.sid)

    @event("call:invite", CallInvite, limit="call")
    async def invite(self, caller: Caller, payload: CallInvite) -> Result:
        return await self.service.invite(caller.user_id, caller.sid, payload)

    @event("call:accept", CallRef, limit="call")
    async def accept(self, caller: Caller, payload: CallRef) -> Result:
        return await self.service.accept(caller.user_id, caller.sid, payload.call_id)

    @event("call:decline", CallRef, limit="call")
    async def decline(self, caller: Caller, payload: CallRef) -> Result:
        return await self.service.decline(caller.user_id, caller.sid, payload.call_id)

    @event("call:cancel", CallRef, limit="call")
    async def cancel(self, caller: Caller, payload: CallRef) -> Result:
        return await self.service.cancel(caller.user_id, caller.sid, payload.call_id)

    @event("call:end", CallRef, limit="call")
    async def end(self, caller: Caller, payload: CallRef) -> Result:
        return await self.service.end(caller.user_id, caller.sid, payload.call_id)

    @event("signal", Signal, limit="signal")
    async def signal(self, caller: Caller, payload: Signal) -> Result:
        conn = self.sockets[caller.sid][1]
        return await self.service.relay(caller.user_id, caller.sid, conn, payload)

    @event("echo:start", EchoStart, limit="echo")
    async def echo_start(self, caller: Caller, payload: EchoStart) -> Result:
        return await self.echo.start(caller.sid, payload.sdp)

    @event("echo:stop", limit="echo")
    async def echo_stop(self, caller: Caller, payload: Any) -> Result:
        return {"stopped": await self.echo.stop(caller.sid)}
