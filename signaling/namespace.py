"""The /signaling namespace: thin event handlers over the calls, the relay and
the echo check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from hub.emitter import conn_room, user_room
from hub.realtime import Caller, HubNamespace, event

from .calls import NAMESPACE
from .models import CallInvite, CallRef, EchoStart, Signal

if TYPE_CHECKING:
    from hub.realtime.gate import SocketGate

    from .echo import EchoService
    from .service import SignalingService

    class Door(SocketGate, Protocol):
        """What this namespace needs from the composition root."""

        @property
        def signaling(self) -> SignalingService: ...
        @property
        def echo(self) -> EchoService: ...


Result = dict[str, Any]


class SignalingNamespace(HubNamespace):
    """Each socket joins its user's room (call events for every device) and its
    connection's room (networking-session signals)."""

    def __init__(self, hub: Door) -> None:
        super().__init__(NAMESPACE, hub)
        self.signaling = hub.signaling
        self.calls = hub.signaling.calls
        self.echo = hub.echo

    async def on_user_connected(self, caller: Caller) -> None:
        await self.enter_room(caller.sid, user_room(caller.user_id))
        await self.enter_room(caller.sid, conn_room(self.sockets[caller.sid][1]))

    async def on_user_disconnected(self, caller: Caller) -> None:
        await self.echo.stop(caller.sid)
        await self.signaling.socket_gone(caller.user_id, caller.sid)

    @event("call:invite", CallInvite, limit="call")
    async def invite(self, caller: Caller, payload: CallInvite) -> Result:
        return (await self.calls.invite(caller.user_id, caller.sid, payload)).model_dump()

    @event("call:accept", CallRef, limit="call")
    async def accept(self, caller: Caller, payload: CallRef) -> Result:
        return (await self.calls.accept(caller.user_id, caller.sid, payload.call_id)).model_dump()

    @event("call:decline", CallRef, limit="call")
    async def decline(self, caller: Caller, payload: CallRef) -> Result:
        return (await self.calls.decline(caller.user_id, caller.sid, payload.call_id)).model_dump()

    @event("call:cancel", CallRef, limit="call")
    async def cancel(self, caller: Caller, payload: CallRef) -> Result:
        return (await self.calls.cancel(caller.user_id, caller.sid, payload.call_id)).model_dump()

    @event("call:end", CallRef, limit="call")
    async def end(self, caller: Caller, payload: CallRef) -> Result:
        return (await self.calls.end(caller.user_id, caller.sid, payload.call_id)).model_dump()

    @event("signal", Signal, limit="signal")
    async def signal(self, caller: Caller, payload: Signal) -> Result:
        conn = self.sockets[caller.sid][1]
        relayed = await self.signaling.relay(caller.user_id, caller.sid, conn, payload)
        return relayed.model_dump()

    @event("echo:start", EchoStart, limit="echo")
    async def echo_start(self, caller: Caller, payload: EchoStart) -> Result:
        return (await self.echo.start(caller.sid, payload.sdp)).model_dump()

    @event("echo:stop", limit="echo")
    async def echo_stop(self, caller: Caller, payload: Any) -> Result:
        return {"stopped": await self.echo.stop(caller.sid)}
