"""What /networking tells clients, and which room each event goes to.

``match:found`` and ``session:ended`` go to the connection that joined the lobby
(``conn:<engine.io sid>``), ``networking:connected`` to every socket of the user,
``lobby:update`` to the lobby's room (the sockets that joined it). With the Redis
manager the rooms span every process.
"""

from __future__ import annotations

from typing import Any

from ..emitter import Emitter, UserEvents, conn_room
from .models import EndReason, LobbyStatus, Peer, Role

NAMESPACE = "/networking"


def lobby_room(lobby_id: str) -> str:
    return f"lobby:{lobby_id}"


class NetworkingEvents:
    def __init__(self, emitter: Emitter) -> None:
        self.emitter = emitter
        self.users = UserEvents(emitter, NAMESPACE)

    async def lobby_update(
        self, lobby_id: str, waiting: int, active_sessions: int, status: LobbyStatus
    ) -> None:
        data = {
            "lobby_id": lobby_id,
            "waiting": waiting,
            "active_sessions": active_sessions,
            "status": status,
        }
        await self._emit("lobby:update", data, lobby_room(lobby_id))

    async def match_found(
        self,
        conn: str,
        session_id: str,
        lobby_id: str,
        peer: Peer,
        role: Role,
        times: tuple[str, str],
        ice_servers: list[dict[str, Any]],
    ) -> None:
        """Tells one side of a new session who it meets (masked) and how: the
        answerer is the polite peer of perfect negotiation."""
        starts_at, ends_at = times
        data = {
            "session_id": session_id,
            "lobby_id": lobby_id,
            "peer": peer.model_dump(),
            "role": role,
            "polite": role == "answerer",
            "starts_at": starts_at,
            "ends_at": ends_at,
            "ice_servers": ice_servers,
        }
        await self._emit("match:found", data, conn_room(conn))

    async def session_ended(self, conn: str, session_id: str, reason: EndReason) -> None:
        await self._emit(
            "session:ended", {"session_id": session_id, "reason": reason}, conn_room(conn)
        )

    async def connected(self, user_id: str, data: dict[str, str]) -> None:
        await self.users.to_users("networking:connected", data, [user_id])

    async def _emit(self, event: str, data: dict[str, Any], room: str) -> None:
        await self.emitter.emit(event, data, to=room, namespace=NAMESPACE)
