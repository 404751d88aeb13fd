"""Lobbies: created by admins, open within an optional window, listed with live counts."""

from __future__ import annotations

from storage import Store
from storage.records import LobbyRecord

from ..clock import new_id, now_iso
from ..cursors import decode_cursor, encode_cursor
from ..errors import Conflict, NotFound
from .events import NetworkingEvents
from .models import CreateLobby, Lobby, LobbyPage, LobbyQuery, LobbyStatus
from .queues import LobbyQueues


def lobby_status(lobby: LobbyRecord, now: str) -> LobbyStatus:
    if lobby.closed_at or (lobby.ends_at and lobby.ends_at <= now):
        return "closed"
    if lobby.starts_at and lobby.starts_at > now:
        return "scheduled"
    return "open"


class Lobbies:
    def __init__(self, store: Store, queues: LobbyQueues, events: NetworkingEvents) -> None:
        self.store = store
        self.queues = queues
        self.events = events

    async def create(self, user_id: str, request: CreateLobby) -> Lobby:
        lobby = LobbyRecord(
            id=new_id(),
            title=request.title,
            topic=request.topic,
            duration_minutes=request.duration_minutes,
            created_by=user_id,
            created_at=now_iso(),
            starts_at=request.starts_at,
            ends_at=request.ends_at,
        )
        await self.store.networking.create_lobby(lobby)
        return await self.view(lobby)

    async def get(self, lobby_id: str) -> LobbyRecord:
        lobby = await self.store.networking.get_lobby(lobby_id)
        if lobby is None:
            raise NotFound("No such lobby")
        return lobby

    async def get_open(self, lobby_id: str) -> LobbyRecord:
        """The lobby, if it takes joins now (``conflict`` outside its window)."""
        lobby = await self.get(lobby_id)
        status = lobby_status(lobby, now_iso())
        if status == "closed":
            raise Conflict("This lobby is closed")
        if status == "scheduled":
            raise Conflict(f"This lobby opens at {lobby.starts_at}")
        return lobby

    async def page(self, query: LobbyQuery) -> LobbyPage:
        rows = await self.store.networking.list_lobbies(
            duration=int(query.duration) if query.duration else None,
            topic=query.topic,
            before=decode_cursor(query.cursor),
            limit=query.limit + 1,
        )
        page = rows[: query.limit]
        return LobbyPage(
            items=[await self.view(lobby) for lobby in page],
            next_cursor=encode_cursor(page[-1].id) if len(rows) > query.limit else None,
        )

    async def view(self, lobby: LobbyRecord) -> Lobby:
        waiting, active_sessions = await self._counts(lobby.id)
        return Lobby(
            id=lobby.id,
            title=lobby.title,
            topic=lobby.topic,
            duration_minutes=lobby.duration_minutes,
            starts_at=lobby.starts_at,
            ends_at=lobby.ends_at,
            status=lobby_status(lobby, now_iso()),
            created_by=lobby.created_by,
            created_at=lobby.created_at,
            waiting=waiting,
            active_sessions=active_sessions,
        )

    async def announce(self, lobby_id: str) -> None:
        """``lobby:update`` with the open lobby's live counts."""
        waiting, active_sessions = await self._counts(lobby_id)
        await self.events.lobby_update(lobby_id, waiting, active_sessions, "open")

    async def announce_closed(self, lobby_id: str) -> None:
        await self.events.lobby_update(lobby_id, 0, 0, "closed")

    async def _counts(self, lobby_id: str) -> tuple[int, int]:
        """Users waiting, and sessions running, in the lobby."""
        return (
            len(await self.queues.waiting(lobby_id)),
            len(await self.store.networking.active_sessions(lobby_id)),
        )
