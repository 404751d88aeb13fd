"""Speed networking as the doors see it: lobbies, membership, sessions, ratings,
usage, and the tick that runs the timers and the matching.

Live state is split by what it needs:

- lobby membership, the waiting queues and the pairs that already met live in
  ``LobbyQueues`` (memory, or Redis shared by every process), where ``claim``
  takes a pair out of a queue atomically (``matching.py``);
- lobbies, sessions and ratings live in the store, and every session change is
  a conditional write that one caller wins (``sessions.py``, ``ratings.py``).

Every process runs the same tick: close lobbies whose window passed, end
sessions that are over (``time_up``) or whose peer never signaled
(``peer_no_show``), and match whoever is waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

from storage import Store
from storage.records import LobbyRecord, NetworkingSessionRecord

from ..clock import iso, now_iso, utc_now
from ..config import Settings
from ..conversations import ConversationService
from ..emitter import Emitter
from ..errors import Conflict, NotFound
from ..notifications import NotificationService
from .events import NetworkingEvents
from .lobbies import Lobbies
from .matching import Matcher
from .models import (
    CreateLobby,
    EndReason,
    Lobby,
    LobbyJoined,
    LobbyLeft,
    LobbyPage,
    LobbyQuery,
    Rating,
    RatingView,
    Session,
    Usage,
)
from .queues import LobbyQueues, Member
from .ratings import Ratings
from .sessions import IceServersFor, Sessions
from .usage import usage

log = logging.getLogger(__name__)


class NetworkingService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        emitter: Emitter,
        queues: LobbyQueues,
        conversations: ConversationService,
        notifications: NotificationService,
        ice_servers: IceServersFor,
    ) -> None:
        """``ice_servers`` gives a user's STUN/TURN entries for ``match:found``."""
        self.settings = settings
        self.store = store
        self.queues = queues
        events = NetworkingEvents(emitter)
        self.lobbies = Lobbies(store, queues, events)
        self.sessions = Sessions(
            store, queues, self.lobbies, events, settings.networking_minute_s, ice_servers
        )
        self.ratings = Ratings(store, self.sessions, events, conversations, notifications)
        self.matcher = Matcher(store, queues, self.sessions)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick_forever(), name="networking-tick")

    async def stop(self) -> None:
        tasks = [t for t in [self._ticker, *self._tasks] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Lobbies

    async def create_lobby(self, user_id: str, request: CreateLobby) -> Lobby:
        return await self.lobbies.create(user_id, request)

    async def get_lobby(self, lobby_id: str) -> Lobby:
        return await self.lobbies.view(await self.lobbies.get(lobby_id))

    async def list_lobbies(self, query: LobbyQuery) -> LobbyPage:
        return await self.lobbies.page(query)

    # Membership

    async def join(self, user_id: str, sid: str, conn: str, lobby_id: str) -> LobbyJoined:
        """Join from socket ``sid`` of connection ``conn`` and wait to be matched
        (unless a session of the user's in this lobby is still running)."""
        await self.lobbies.get_open(lobby_id)
        other = await self.queues.join(Member(lobby_id, user_id, sid, conn))
        if other is not None:
            raise Conflict("You are in another lobby: leave it first", {"lobby_id": other})
        if await self.sessions.active_of(lobby_id, user_id) is None:
            await self.queues.enqueue(lobby_id, user_id)
        waiting = len(await self.queues.waiting(lobby_id))
        await self.lobbies.announce(lobby_id)
        self._match_soon(lobby_id)
        return LobbyJoined(lobby_id=lobby_id, waiting=waiting)

    async def leave_lobby(self, user_id: str, lobby_id: str, sid: str | None = None) -> LobbyLeft:
        """Leave (only the membership of socket ``sid``, when given); a running
        session ends as ``peer_left`` for the peer."""
        member = await self.queues.member(user_id)
        if member is None or member.lobby_id != lobby_id:
            raise NotFound("You are not in this lobby")
        if await self.queues.leave(user_id, sid) is None:
            raise NotFound("You are not in this lobby")
        session = await self.sessions.active_of(lobby_id, user_id)
        if session is not None:
            await self.end_session(session, "peer_left", leaver=user_id)
        else:
            await self.lobbies.announce(lobby_id)
        return LobbyLeft(lobby_id=lobby_id)

    async def socket_gone(self, user_id: str, sid: str) -> None:
        """A /networking socket closed: if it is the one that joined, its user leaves."""
        member = await self.queues.member(user_id)
        if member is not None and member.sid == sid:
            try:
                await self.leave_lobby(user_id, member.lobby_id, sid)
            except NotFound:
                pass

    # Sessions

    async def get_session(self, user_id: str, session_id: str) -> Session:
        return await self.sessions.view(
            await self.sessions.participant(user_id, session_id), user_id
        )

    async def leave_session(self, user_id: str, session_id: str) -> Session:
        """End the session for both (the peer is told ``peer_left`` and queued
        first); the leaver stays in the lobby and is queued again too."""
        session = await self.sessions.participant(user_id, session_id)
        if session.status == "active":
            await self.end_session(session, "peer_left", leaver=user_id)
            session = await self.sessions.participant(user_id, session_id)
        return await self.sessions.view(session, user_id)

    async def rate(self, user_id: str, session_id: str, rating: Rating) -> RatingView:
        return await self.ratings.rate(user_id, session_id, rating)

    async def signal_target(self, session_id: str, user_id: str, conn: str | None) -> str:
        """Where a signal of the session goes (the /signaling relay asks)."""
        return await self.sessions.signal_target(session_id, user_id, conn)

    async def end_session(
        self,
        session: NetworkingSessionRecord,
        reason: EndReason,
        leaver: str | None = None,
        rematch: bool = True,
    ) -> bool:
        """End an active session once; those queued again are matched soon
        (``rematch``) or at the end of the tick that ended it."""
        ended = await self.sessions.end(session, reason, leaver)
        if ended and rematch:
            self._match_soon(session.lobby_id)
        return ended

    async def usage(self) -> Usage:
        return await usage(self.store)

    # Timers and matching

    async def tick(self) -> None:
        now = utc_now()
        for lobby in await self.store.networking.lobbies_to_close(iso(now)):
            await self.close_lobby(lobby)
        touched = await self._end_due_sessions(now)
        for lobby_id in touched | set(await self.queues.lobbies()):
            await self.matcher.match(lobby_id)

    async def close_lobby(self, lobby: LobbyRecord) -> None:
        """Its window passed: end its sessions (``lobby_closed``), drop its queue."""
        if not await self.store.networking.close_lobby(lobby.id, now_iso()):
            return
        for session in await self.store.networking.active_sessions(lobby.id):
            await self.end_session(session, "lobby_closed", rematch=False)
        await self.queues.close(lobby.id)
        await self.lobbies.announce_closed(lobby.id)

    async def _end_due_sessions(self, now: datetime) -> set[str]:
        """End the sessions that are over or whose peer never signaled; the
        lobbies they were in."""
        now_text = iso(now)
        no_show_before = iso(now - timedelta(seconds=self.settings.networking_no_show_s))
        touched = set()
        for session in await self.store.networking.due_sessions(now_text, no_show_before):
            reason: EndReason = "time_up" if session.ends_at <= now_text else "peer_no_show"
            if await self.end_session(session, reason, rematch=False):
                touched.add(session.lobby_id)
        return touched

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store or Redis away: try again next tick
                log.warning("networking tick failed: %s", exc)
            await asyncio.sleep(self.settings.networking_tick_s)

    def _match_soon(self, lobby_id: str) -> None:
        self._spawn(self.matcher.match(lobby_id))

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
