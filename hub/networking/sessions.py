"""Sessions: a matched pair's timed, anonymous meeting, from ``match:found`` to its end.

A session belongs to the connections that joined the lobby: signals go only
between those two. Every change is a conditional store write
(``end_session``) that one caller wins, so a timer firing on two processes
ends a session once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from storage import Store
from storage.records import LobbyRecord, NetworkingSessionRecord, SessionRatingRecord, UserRecord

from ..clock import iso, new_id, now_iso, utc_now
from ..errors import Forbidden, NotFound
from .events import NetworkingEvents
from .lobbies import Lobbies
from .models import EndReason, MaskedPeer, Peer, RatingView, Role, Session
from .queues import LobbyQueues, Member

SIGNALED_CACHE = 10_000  # (session, user) pairs known to have signaled, most recent kept

IceServersFor = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Side:
    """One member of a session, as the session record has them."""

    user_id: str
    conn: str
    signaled_at: str | None
    role: Role


def sides(session: NetworkingSessionRecord) -> tuple[Side, Side]:
    """The offerer, then the answerer."""
    return (
        Side(session.offerer_id, session.offerer_conn, session.offerer_signaled_at, "offerer"),
        Side(session.answerer_id, session.answerer_conn, session.answerer_signaled_at, "answerer"),
    )


def mine_and_peer(session: NetworkingSessionRecord, user_id: str) -> tuple[Side, Side]:
    offerer, answerer = sides(session)
    return (offerer, answerer) if user_id == offerer.user_id else (answerer, offerer)


def masked(user: UserRecord | None) -> Peer:
    """What a peer sees before both choose to connect: no id, no email."""
    if user is None:
        return Peer(display_name="Someone", headline="", avatar_url=None)
    return Peer(display_name=user.display_name, headline=user.headline, avatar_url=user.avatar_url)


def rating_view(session: NetworkingSessionRecord, rating: SessionRatingRecord) -> RatingView:
    return RatingView(
        session_id=session.id,
        stars=rating.stars,
        note=rating.note,
        connect=rating.connect,
        created_at=rating.created_at,
        connected=session.conversation_id is not None,
        conversation_id=session.conversation_id,
    )


class Sessions:
    def __init__(
        self,
        store: Store,
        queues: LobbyQueues,
        lobbies: Lobbies,
        events: NetworkingEvents,
        minute_s: float,
        ice_servers: IceServersFor,
    ) -> None:
        self.store = store
        self.queues = queues
        self.lobbies = lobbies
        self.events = events
        self.minute_s = minute_s
        self.ice_servers = ice_servers
        self._signaled: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def participant(self, user_id: str, session_id: str) -> NetworkingSessionRecord:
        session = await self.store.networking.get_session(session_id)
        if session is None:
            raise NotFound("No such session")
        if user_id not in (session.offerer_id, session.answerer_id):
            raise Forbidden("You are not in this session")
        return session

    async def active_of(self, lobby_id: str, user_id: str) -> NetworkingSessionRecord | None:
        """The user's running session in the lobby, if any."""
        for session in await self.store.networking.active_sessions(lobby_id):
            if user_id in (session.offerer_id, session.answerer_id):
                return session
        return None

    async def start(self, lobby: LobbyRecord, offerer: str, answerer: str) -> None:
        """Open a session for a claimed pair and tell both; if one of them left
        the lobby meanwhile, the other is queued first instead."""
        members = [await self.queues.member(user) for user in (offerer, answerer)]
        a, b = members
        if a is None or b is None or a.lobby_id != lobby.id or b.lobby_id != lobby.id:
            await self._requeue_present(lobby.id, members)
            return
        now = utc_now()
        session = NetworkingSessionRecord(
            id=new_id(),
            lobby_id=lobby.id,
            offerer_id=offerer,
            answerer_id=answerer,
            offerer_conn=a.conn,
            answerer_conn=b.conn,
            started_at=iso(now),
            ends_at=iso(now + timedelta(seconds=lobby.duration_minutes * self.minute_s)),
        )
        await self.store.networking.create_session(session)
        await self._tell_matched(session)
        await self.lobbies.announce(lobby.id)

    async def end(
        self, session: NetworkingSessionRecord, reason: EndReason, leaver: str | None = None
    ) -> bool:
        """End an active session once (whichever process gets here first), tell
        both sides (but the leaver) and queue those who stay: the side whose
        peer left or did not show up goes first. A side that never signaled
        leaves the lobby. False if it had ended already."""
        if not await self.store.networking.end_session(session.id, reason, now_iso()):
            return False
        if reason == "peer_no_show":  # who signaled, as the store has it now
            session = await self.store.networking.get_session(session.id) or session
        for side in sides(session):
            if side.user_id != leaver:
                await self.events.session_ended(side.conn, session.id, reason)
        await self._requeue_after(session, reason, leaver)
        await self.lobbies.announce(session.lobby_id)
        return True

    async def signal_target(self, session_id: str, user_id: str, conn: str | None) -> str:
        """The peer's connection for a signal from ``user_id`` (from ``conn``,
        the sending socket's connection, unless it came over REST)."""
        session = await self.store.networking.get_session(session_id)
        if session is None:
            raise NotFound("No such session")
        if user_id not in (session.offerer_id, session.answerer_id) or session.status != "active":
            raise Forbidden("Signals go only between the members of an active session")
        mine, peer = mine_and_peer(session, user_id)
        if conn is not None and conn != mine.conn:
            raise Forbidden("Signal from the connection that joined the lobby")
        await self._mark_signaled(session_id, user_id)
        return peer.conn

    async def view(self, session: NetworkingSessionRecord, user_id: str) -> Session:
        mine, peer = mine_and_peer(session, user_id)
        connected = session.conversation_id is not None
        profile = masked(await self.store.users.get(peer.user_id))
        rating = await self.rating_of(session.id, user_id)
        return Session(
            id=session.id,
            lobby_id=session.lobby_id,
            status=session.status,
            role=mine.role,
            polite=mine.role == "answerer",
            peer=MaskedPeer(**profile.model_dump(), user_id=peer.user_id if connected else None),
            starts_at=session.started_at,
            ends_at=session.ends_at,
            ended_at=session.ended_at,
            end_reason=session.end_reason,
            connected=connected,
            conversation_id=session.conversation_id,
            my_rating=rating_view(session, rating) if rating else None,
        )

    async def rating_of(self, session_id: str, user_id: str) -> SessionRatingRecord | None:
        for rating in await self.store.networking.ratings(session_id):
            if rating.rater_id == user_id:
                return rating
        return None

    async def _tell_matched(self, session: NetworkingSessionRecord) -> None:
        offerer, answerer = sides(session)
        users = {
            u.id: u for u in await self.store.users.get_many([offerer.user_id, answerer.user_id])
        }
        for me, peer in ((offerer, answerer), (answerer, offerer)):
            await self.events.match_found(
                me.conn,
                session.id,
                session.lobby_id,
                masked(users.get(peer.user_id)),
                me.role,
                (session.started_at, session.ends_at),
                self.ice_servers(me.user_id),
            )

    async def _requeue_present(self, lobby_id: str, members: list[Member | None]) -> None:
        for member in members:
            if member is not None:
                await self.queues.enqueue(lobby_id, member.user_id, priority=True)

    async def _requeue_after(
        self, session: NetworkingSessionRecord, reason: EndReason, leaver: str | None
    ) -> None:
        """After ``time_up`` both go to the back of the queue; after ``peer_left``
        the one who stayed goes first and the leaver to the back; after
        ``peer_no_show`` the side that signaled goes first and the other leaves
        the lobby; a closed lobby drops its queue anyway."""
        first, back = [], []
        for side in sides(session):
            if reason == "time_up" or (reason == "peer_left" and side.user_id == leaver):
                back.append(side.user_id)
            elif reason == "peer_left" or (
                reason == "peer_no_show" and side.signaled_at is not None
            ):
                first.append(side.user_id)
            elif reason == "peer_no_show":
                await self.queues.leave(side.user_id)
        for user_id in first:
            await self.queues.enqueue(session.lobby_id, user_id, priority=True)
        for user_id in back:
            await self.queues.enqueue(session.lobby_id, user_id)

    async def _mark_signaled(self, session_id: str, user_id: str) -> None:
        """The first signal of each side counts against the no-show timer."""
        if (session_id, user_id) in self._signaled:
            return
        await self.store.networking.mark_signaled(session_id, user_id, now_iso())
        self._signaled[(session_id, user_id)] = None
        if len(self._signaled) > SIGNALED_CACHE:
            self._signaled.popitem(last=False)
