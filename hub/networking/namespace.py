"""The /networking namespace: thin event handlers over NetworkingService."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..emitter import conn_room, user_room
from ..realtime import Caller, HubNamespace, event
from .events import NAMESPACE, lobby_room
from .models import LobbyRef, RateSession, SessionRef

if TYPE_CHECKING:
    from ..realtime.gate import SocketGate
    from .service import NetworkingService

    class Door(SocketGate, Protocol):
        """What this namespace needs from the composition root."""

        @property
        def networking(self) -> NetworkingService: ...


Result = dict[str, Any]


class NetworkingNamespace(HubNamespace):
    """Sockets join their user's room (``networking:connected``) and their
    connection's room (``match:found``, ``session:ended``); a joined lobby's room
    carries ``lobby:update``."""

    def __init__(self, hub: Door) -> None:
        super().__init__(NAMESPACE, hub)
        self.service = hub.networking

    async def on_user_connected(self, caller: Caller) -> None:
        await self.enter_room(caller.sid, user_room(caller.user_id))
        await self.enter_room(caller.sid, conn_room(self._conn(caller)))

    async def on_user_disconnected(self, caller: Caller) -> None:
        await self.service.socket_gone(caller.user_id, caller.sid)

    @event("lobby:join", LobbyRef, limit="networking")
    async def join(self, caller: Caller, payload: LobbyRef) -> Result:
        room = lobby_room(payload.lobby_id)
        await self.enter_room(caller.sid, room)
        try:
            joined = await self.service.join(
                caller.user_id, caller.sid, self._conn(caller), payload.lobby_id
            )
        except Exception:
            await self.leave_room(caller.sid, room)
            raise
        return joined.model_dump()

    @event("lobby:leave", LobbyRef, limit="networking")
    async def leave(self, caller: Caller, payload: LobbyRef) -> Result:
        await self.leave_room(caller.sid, lobby_room(payload.lobby_id))
        return (await self.service.leave_lobby(caller.user_id, payload.lobby_id)).model_dump()

    @event("session:leave", SessionRef, limit="networking")
    async def leave_session(self, caller: Caller, payload: SessionRef) -> Result:
        session = await self.service.leave_session(caller.user_id, payload.session_id)
        return session.model_dump()

    @event("session:rate", RateSession, limit="networking")
    async def rate(self, caller: Caller, payload: RateSession) -> Result:
        rated = await self.service.rate(caller.user_id, payload.session_id, payload)
        return rated.model_dump()

    def _conn(self, caller: Caller) -> str:
        """The Engine.IO connection of the caller's socket."""
        return self.sockets[caller.sid][1]
