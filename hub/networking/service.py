"""Speed networking: lobbies, matching, session timers, ratings and connections.

Live state is split by what it needs:

- lobby membership, the waiting queues and the pairs that already met live in
  ``LobbyQueues`` (memory, or Redis shared by every process), where ``claim``
  takes a pair out of a queue atomically;
- lobbies, sessions and ratings live in the store, and every session change is
  a conditional write (``end_session``, ``mark_connected``) that one caller wins,
  so a timer firing on two processes ends a session once.

Every process runs the same tick: close lobbies whose window passed, end
sessions that are over (``time_up``) or whose peer never signaled
(``peer_no_show``), and match whoever is waiting.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Coroutine
from datetime import timedelta
from itertools import combinations
from typing import Any

import socketio

from storage import DuplicateError, Store
from storage.records import LobbyRecord, NetworkingSessionRecord, SessionRatingRecord, UserRecord

from ..clock import iso, new_id, now_iso, utc_now
from ..config import Settings
from ..conversations import ConversationService
from ..conversations.models import ContextRef, CreateConversation
from ..emitter import conn_room, user_room
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..notifications import NotificationService
from .models import CreateLobby, LobbyQuery, Rating
from .queues import LobbyQueues, Member, pair_key

log = logging.getLogger(__name__)

NAMESPACE = "/networking"
SIGNALED_CACHE = 10_000
LOCK_TTL_S = 10.0  # a matching pass holding the lobby lock longer than this loses it
LOCK_ATTEMPTS = 10
LOCK_RETRY_S = 0.05


def lobby_room(lobby_id: str) -> str:
    return f"lobby:{lobby_id}"


def lobby_status(lobby: LobbyRecord, now: str) -> str:
    if lobby.closed_at or (lobby.ends_at and lobby.ends_at <= now):
        return "closed"
    if lobby.starts_at and lobby.starts_at > now:
        return "scheduled"
    return "open"


def masked(user: UserRecord | None) -> dict[str, Any]:
    """What a peer sees before both choose to connect: no id, no email."""
    if user is None:
        return {"display_name": "Someone", "headline": "", "avatar_url": None}
    return {
        "display_name": user.display_name,
        "headline": user.headline,
        "avatar_url": user.avatar_url,
    }


def plan_pairs(waiting: list[str], compatible: Callable[[str, str], bool]) -> list[tuple[str, str]]:
    """First come first served: each waiting user, in queue order, takes the
    earliest later user they may meet. Then, while two users are left over who
    could each take one side of a planned pair, that pair is split between them
    (one more pair, nobody who was matched loses out). The earlier of each pair
    in the queue is first (the offerer)."""
    position = {user: index for index, user in enumerate(waiting)}

    def ordered(a: str, b: str) -> tuple[str, str]:
        return (a, b) if position[a] < position[b] else (b, a)

    pairs: list[tuple[str, str]] = []
    matched: set[str] = set()
    for index, user in enumerate(waiting):
        if user in matched:
            continue
        for other in waiting[index + 1 :]:
            if other not in matched and compatible(user, other):
                pairs.append((user, other))
                matched |= {user, other}
                break
    improved = True
    while improved:
        improved = False
        left = [user for user in waiting if user not in matched]
        for x, y in combinations(left, 2):
            for k, (p, q) in enumerate(pairs):
                for a, b in ((p, q), (q, p)):
                    if compatible(x, a) and compatible(y, b):
                        pairs[k] = ordered(x, a)
                        pairs.append(ordered(y, b))
                        matched |= {x, y}
                        improved = True
                        break
                if improved:
                    break
            if improved:
                break
    return sorted(pairs, key=lambda pair: position[pair[0]])


class NetworkingService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        sio: socketio.AsyncServer,
        queues: LobbyQueues,
        conversations: ConversationService,
        ice_servers: Callable[[str], dict[str, Any]],
        notifications: NotificationService | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sio = sio
        self.queues = queues
        self.conversations = conversations
        self.ice_servers = ice_servers
        self.notifications = notifications
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._signaled: OrderedDict[tuple[str, str], None] = OrderedDict()
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

    async def create_lobby(self, user_id: str, request: CreateLobby) -> dict[str, Any]:
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
        return await self._lobby_view(lobby)

    async def get_lobby(self, lobby_id: str) -> dict[str, Any]:
        return await self._lobby_view(await self._lobby(lobby_id))

    async def list_lobbies(self, query: LobbyQuery) -> dict[str, Any]:
        before = _decode_cursor(query.cursor) if query.cursor else None
        rows = await self.store.networking.list_lobbies(
            duration=int(query.duration) if query.duration else None,
            topic=query.topic,
            before=before,
            limit=query.limit + 1,
        )
        page = rows[: query.limit]
        next_cursor = _encode_cursor(page[-1].id) if len(rows) > query.limit else None
        return {
            "items": [await self._lobby_view(lobby) for lobby in page],
            "next_cursor": next_cursor,
        }

    # Membership

    async def join(self, user_id: str, sid: str, conn: str, lobby_id: str) -> dict[str, Any]:
        lobby = await self._lobby(lobby_id)
        status = lobby_status(lobby, now_iso())
        if status != "open":
            raise Conflict(
                "This lobby is closed"
                if status == "closed"
                else f"This lobby opens at {lobby.starts_at}"
            )
        other = await self.queues.join(Member(lobby_id, user_id, sid, conn))
        if other is not None:
            raise Conflict("You are in another lobby: leave it first", {"lobby_id": other})
        if await self._active_session_of(lobby_id, user_id) is None:
            await self.queues.enqueue(lobby_id, user_id)
        waiting = len(await self.queues.waiting(lobby_id))
        await self._lobby_update(lobby_id)
        self._spawn(self.match(lobby_id))
        return {"lobby_id": lobby_id, "waiting": waiting}

    async def leave_lobby(
        self, user_id: str, lobby_id: str, sid: str | None = None
    ) -> dict[str, Any]:
        member = await self.queues.member(user_id)
        if member is None or member.lobby_id != lobby_id:
            raise NotFound("You are not in this lobby")
        if await self.queues.leave(user_id, sid) is None:
            raise NotFound("You are not in this lobby")
        session = await self._active_session_of(lobby_id, user_id)
        if session is not None:
            await self.end_session(session, "peer_left", leaver=user_id)
        else:
            await self._lobby_update(lobby_id)
        return {"lobby_id": lobby_id}

    async def socket_gone(self, user_id: str, sid: str) -> None:
        """A /networking socket closed: if it is the one that joined, its user leaves."""
        member = await self.queues.member(user_id)
        if member is not None and member.sid == sid:
            try:
                await self.leave_lobby(user_id, member.lobby_id, sid)
            except NotFound:
                pass

    # Sessions

    async def get_session(self, user_id: str, session_id: str) -> dict[str, Any]:
        return await self._session_view(await self._participant(user_id, session_id), user_id)

    async def leave_session(self, user_id: str, session_id: str) -> dict[str, Any]:
        """End the session for both (the peer is told ``peer_left`` and queued
        first); the leaver stays in the lobby and is queued again too."""
        session = await self._participant(user_id, session_id)
        if session.status == "active":
            await self.end_session(session, "peer_left", leaver=user_id)
            session = await self._participant(user_id, session_id)
        return await self._session_view(session, user_id)

    async def rate(self, user_id: str, session_id: str, rating: Rating) -> dict[str, Any]:
        session = await self._participant(user_id, session_id)
        try:
            await self.store.networking.add_rating(
                SessionRatingRecord(
                    session_id=session.id,
                    rater_id=user_id,
                    stars=rating.stars,
                    connect=rating.connect,
                    created_at=now_iso(),
                    note=rating.note,
                )
            )
        except DuplicateError as exc:
            raise Conflict("You already rated this session") from exc
        ratings = await self.store.networking.ratings(session.id)
        if (
            len(ratings) == 2
            and all(r.connect for r in ratings)
            and await self.store.networking.mark_connected(session.id, now_iso())
        ):
            await self._connect(session)
        session = await self._participant(user_id, session_id)
        return self._rating_view(
            session,
            next(
                r for r in await self.store.networking.ratings(session.id) if r.rater_id == user_id
            ),
        )

    async def signal_target(self, session_id: str, user_id: str, conn: str | None) -> str:
        """The peer's connection for a signal from ``user_id`` (from ``conn``,
        the sending socket's connection, unless it came over REST)."""
        session = await self.store.networking.get_session(session_id)
        if session is None:
            raise NotFound("No such session")
        if user_id not in (session.offerer_id, session.answerer_id) or session.status != "active":
            raise Forbidden("Signals go only between the members of an active session")
        offerer = user_id == session.offerer_id
        mine, peer = (
            (session.offerer_conn, session.answerer_conn)
            if offerer
            else (session.answerer_conn, session.offerer_conn)
        )
        if conn is not None and conn != mine:
            raise Forbidden("Signal from the connection that joined the lobby")
        if (session_id, user_id) not in self._signaled:
            await self.store.networking.mark_signaled(session_id, user_id, now_iso())
            self._signaled[(session_id, user_id)] = None
            if len(self._signaled) > SIGNALED_CACHE:
                self._signaled.popitem(last=False)
        return peer

    async def usage(self) -> dict[str, Any]:
        lobbies, by_duration = [], defaultdict(lambda: _Tally())
        total = _Tally()
        for row in await self.store.networking.usage():
            lobby = await self.store.networking.get_lobby(row["lobby_id"])
            if lobby is None:
                continue
            tally = _Tally(row["sessions"], row["ratings"], row["stars_total"], row["connections"])
            lobbies.append(
                {
                    "lobby_id": lobby.id,
                    "title": lobby.title,
                    "topic": lobby.topic,
                    "duration_minutes": lobby.duration_minutes,
                    **tally.view(),
                }
            )
            by_duration[lobby.duration_minutes].add(tally)
            total.add(tally)
        return {
            "lobbies": lobbies,
            "by_duration": [
                {"duration_minutes": minutes, **tally.view()}
                for minutes, tally in sorted(by_duration.items())
            ],
            "total": total.view(),
        }

    # Matching and timers

    async def match(self, lobby_id: str) -> None:
        """Pair whoever is waiting; a pair another process claimed first is
        simply planned again from a fresh snapshot."""
        async with self._locks[lobby_id]:
            lobby = await self.store.networking.get_lobby(lobby_id)
            if lobby is None or lobby_status(lobby, now_iso()) != "open":
                return
            token = None
            for _ in range(LOCK_ATTEMPTS):
                token = await self.queues.lock(lobby_id, LOCK_TTL_S)
                if token is not None:
                    break
                await asyncio.sleep(LOCK_RETRY_S)
            if token is None:
                return  # another process is matching this lobby; the next tick retries
            try:
                await self._match_locked(lobby)
            finally:
                await self.queues.unlock(lobby_id, token)

    async def _match_locked(self, lobby: LobbyRecord) -> None:
        """Plan from a snapshot and claim pair by pair; a claim fails when one of
        the two left meanwhile, and then the rest is planned again."""
        lobby_id = lobby.id
        for _ in range(5):
            waiting = await self.queues.waiting(lobby_id)
            if len(waiting) < 2:
                return
            met = await self.queues.met(lobby_id)
            blocked = await self._blocked_pairs(waiting)
            excluded = met | blocked
            pairs = plan_pairs(waiting, lambda a, b, out=excluded: pair_key(a, b) not in out)
            if not pairs:
                return
            lost = False
            for a, b in pairs:
                if await self.queues.claim(lobby_id, a, b):
                    await self._start_session(lobby, a, b)
                else:
                    lost = True
            if not lost:
                return

    async def tick(self) -> None:
        now = utc_now()
        for lobby in await self.store.networking.lobbies_to_close(iso(now)):
            await self.close_lobby(lobby)
        no_show_before = iso(now - timedelta(seconds=self.settings.networking_no_show_s))
        touched = set()
        for session in await self.store.networking.due_sessions(iso(now), no_show_before):
            reason = "time_up" if session.ends_at <= iso(now) else "peer_no_show"
            if await self.end_session(session, reason, rematch=False):
                touched.add(session.lobby_id)
        for lobby_id in touched | set(await self.queues.lobbies()):
            await self.match(lobby_id)

    async def close_lobby(self, lobby: LobbyRecord) -> None:
        if not await self.store.networking.close_lobby(lobby.id, now_iso()):
            return
        for session in await self.store.networking.active_sessions(lobby.id):
            await self.end_session(session, "lobby_closed", rematch=False)
        await self.queues.close(lobby.id)
        await self.sio.emit(
            "lobby:update",
            {"lobby_id": lobby.id, "waiting": 0, "active_sessions": 0, "status": "closed"},
            to=lobby_room(lobby.id),
            namespace=NAMESPACE,
        )

    async def end_session(
        self,
        session: NetworkingSessionRecord,
        reason: str,
        leaver: str | None = None,
        rematch: bool = True,
    ) -> bool:
        """End an active session once (whichever process gets here first), tell
        both sides and queue those who stay: the side whose peer left or did not
        show up goes first. A side that never signaled leaves the lobby."""
        if not await self.store.networking.end_session(session.id, reason, now_iso()):
            return False
        sides = [
            (session.offerer_id, session.offerer_conn, session.offerer_signaled_at),
            (session.answerer_id, session.answerer_conn, session.answerer_signaled_at),
        ]
        if reason == "peer_no_show":
            fresh = await self.store.networking.get_session(session.id) or session
            sides = [
                (fresh.offerer_id, fresh.offerer_conn, fresh.offerer_signaled_at),
                (fresh.answerer_id, fresh.answerer_conn, fresh.answerer_signaled_at),
            ]
        requeue: list[tuple[str, bool]] = []
        for user_id, conn, signaled_at in sides:
            if user_id != leaver:
                await self.sio.emit(
                    "session:ended",
                    {"session_id": session.id, "reason": reason},
                    to=conn_room(conn),
                    namespace=NAMESPACE,
                )
            if reason == "time_up":
                requeue.append((user_id, False))
            elif reason == "peer_left":
                requeue.append((user_id, user_id != leaver))
            elif reason == "peer_no_show":
                if signaled_at is not None:
                    requeue.append((user_id, True))
                else:
                    await self.queues.leave(user_id)
        requeue.sort(key=lambda entry: not entry[1])  # priority first
        for user_id, priority in requeue:
            await self.queues.enqueue(session.lobby_id, user_id, priority)
        await self._lobby_update(session.lobby_id)
        if rematch:
            self._spawn(self.match(session.lobby_id))
        return True

    async def _start_session(self, lobby: LobbyRecord, a: str, b: str) -> None:
        members = {user: await self.queues.member(user) for user in (a, b)}
        if any(m is None or m.lobby_id != lobby.id for m in members.values()):
            for user, member in members.items():  # one left meanwhile: the other goes first
                if member is not None:
                    await self.queues.enqueue(lobby.id, user, priority=True)
            return
        ma, mb = members[a], members[b]
        assert ma is not None and mb is not None
        now = utc_now()
        ends = now + timedelta(seconds=lobby.duration_minutes * self.settings.networking_minute_s)
        session = NetworkingSessionRecord(
            id=new_id(),
            lobby_id=lobby.id,
            offerer_id=a,
            answerer_id=b,
            offerer_conn=ma.conn,
            answerer_conn=mb.conn,
            started_at=iso(now),
            ends_at=iso(ends),
        )
        await self.store.networking.create_session(session)
        users = {u.id: u for u in await self.store.users.get_many([a, b])}
        for me, peer, member, role in ((a, b, ma, "offerer"), (b, a, mb, "answerer")):
            await self.sio.emit(
                "match:found",
                {
                    "session_id": session.id,
                    "lobby_id": lobby.id,
                    "peer": masked(users.get(peer)),
                    "role": role,
                    "polite": role == "answerer",
                    "starts_at": session.started_at,
                    "ends_at": session.ends_at,
                    "ice_servers": self.ice_servers(me)["ice_servers"],
                },
                to=conn_room(member.conn),
                namespace=NAMESPACE,
            )
        await self._lobby_update(lobby.id)

    async def _connect(self, session: NetworkingSessionRecord) -> None:
        try:
            conversation = await self.conversations.create(
                session.offerer_id,
                CreateConversation(
                    participant_ids=[session.answerer_id],
                    type="direct",
                    context=ContextRef(type="networking_session", id=session.id),
                ),
            )
        except (Forbidden, ValidationFailed) as exc:
            log.info("session %s: no connection (%s)", session.id, exc.message)
            return
        await self.store.networking.set_conversation(session.id, conversation["id"])
        for me, peer in (
            (session.offerer_id, session.answerer_id),
            (session.answerer_id, session.offerer_id),
        ):
            connected = {
                "session_id": session.id,
                "conversation_id": conversation["id"],
                "peer_user_id": peer,
            }
            await self.sio.emit(
                "networking:connected", connected, to=user_room(me), namespace=NAMESPACE
            )
            if self.notifications is not None:
                await self.notifications.notify(me, "networking.connection", connected)

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store or Redis away: try again next tick
                log.warning("networking tick failed: %s", exc)
            await asyncio.sleep(self.settings.networking_tick_s)

    # Helpers

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _lobby(self, lobby_id: str) -> LobbyRecord:
        lobby = await self.store.networking.get_lobby(lobby_id)
        if lobby is None:
            raise NotFound("No such lobby")
        return lobby

    async def _participant(self, user_id: str, session_id: str) -> NetworkingSessionRecord:
        session = await self.store.networking.get_session(session_id)
        if session is None:
            raise NotFound("No such session")
        if user_id not in (session.offerer_id, session.answerer_id):
            raise Forbidden("You are not in this session")
        return session

    async def _active_session_of(
        self, lobby_id: str, user_id: str
    ) -> NetworkingSessionRecord | None:
        for session in await self.store.networking.active_sessions(lobby_id):
            if user_id in (session.offerer_id, session.answerer_id):
                return session
        return None

    async def _blocked_pairs(self, users: list[str]) -> set[str]:
        present = set(users)
        blocked = set()
        for user in users:
            for block in await self.store.blocks.list_by_blocker(user):
                if block.blocked_id in present:
                    blocked.add(pair_key(user, block.blocked_id))
        return blocked

    async def _counts(self, lobby_id: str) -> dict[str, int]:
        return {
            "waiting": len(await self.queues.waiting(lobby_id)),
            "active_sessions": len(await self.store.networking.active_sessions(lobby_id)),
        }

    async def _lobby_update(self, lobby_id: str) -> None:
        await self.sio.emit(
            "lobby:update",
            {"lobby_id": lobby_id, **await self._counts(lobby_id), "status": "open"},
            to=lobby_room(lobby_id),
            namespace=NAMESPACE,
        )

    async def _lobby_view(self, lobby: LobbyRecord) -> dict[str, Any]:
        return {
            "id": lobby.id,
            "title": lobby.title,
            "topic": lobby.topic,
            "duration_minutes": lobby.duration_minutes,
            "starts_at": lobby.starts_at,
            "ends_at": lobby.ends_at,
            "status": lobby_status(lobby, now_iso()),
            "created_by": lobby.created_by,
            "created_at": lobby.created_at,
            **await self._counts(lobby.id),
        }

    async def _session_view(self, session: NetworkingSessionRecord, user_id: str) -> dict[str, Any]:
        offerer = user_id == session.offerer_id
        peer_id = session.answerer_id if offerer else session.offerer_id
        peer = masked(await self.store.users.get(peer_id))
        connected = session.conversation_id is not None
        peer["user_id"] = peer_id if connected else None
        mine = [r for r in await self.store.networking.ratings(session.id) if r.rater_id == user_id]
        return {
            "id": session.id,
            "lobby_id": session.lobby_id,
            "status": session.status,
            "role": "offerer" if offerer else "answerer",
            "polite": not offerer,
            "peer": peer,
            "starts_at": session.started_at,
            "ends_at": session.ends_at,
            "ended_at": session.ended_at,
            "end_reason": session.end_reason,
            "connected": connected,
            "conversation_id": session.conversation_id,
            "my_rating": self._rating_view(session, mine[0]) if mine else None,
        }

    @staticmethod
    def _rating_view(
        session: NetworkingSessionRecord, rating: SessionRatingRecord
    ) -> dict[str, Any]:
        return {
            "session_id": session.id,
            "stars": rating.stars,
            "note": rating.note,
            "connect": rating.connect,
            "created_at": rating.created_at,
            "connected": session.conversation_id is not None,
            "conversation_id": session.conversation_id,
        }


class _Tally:
    def __init__(
        self, sessions: int = 0, ratings: int = 0, stars: int = 0, connections: int = 0
    ) -> None:
        self.sessions, self.ratings, self.stars, self.connections = (
            sessions,
            ratings,
            stars,
            connections,
        )

    def add(self, other: _Tally) -> None:
        self.sessions += other.sessions
        self.ratings += other.ratings
        self.stars += other.stars
        self.connections += other.connections

    def view(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "ratings": self.ratings,
            "average_rating": round(self.stars / self.ratings, 2) if self.ratings else None,
            "connections": self.connections,
            "connect_rate": round(self.connections / self.sessions, 4) if self.sessions else None,
        }


def _encode_cursor(lobby_id: str) -> str:
    return base64.urlsafe_b64encode(lobby_id.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed.field("cursor", "Invalid cursor") from exc
