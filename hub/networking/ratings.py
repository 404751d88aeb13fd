"""Ratings: once per side, during or after a session; both choosing ``connect``
opens a direct conversation and tells both (live and as a notification)."""

from __future__ import annotations

import logging

from storage import DuplicateError, Store
from storage.records import NetworkingSessionRecord, SessionRatingRecord

from ..clock import now_iso
from ..conversations import ConversationService
from ..conversations.models import ContextRef, CreateConversation
from ..errors import Conflict, Forbidden, ValidationFailed
from ..notifications import NotificationService
from .events import NetworkingEvents
from .models import Rating, RatingView
from .sessions import Sessions, rating_view

log = logging.getLogger(__name__)


class Ratings:
    def __init__(
        self,
        store: Store,
        sessions: Sessions,
        events: NetworkingEvents,
        conversations: ConversationService,
        notifications: NotificationService,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.events = events
        self.conversations = conversations
        self.notifications = notifications

    async def rate(self, user_id: str, session_id: str, rating: Rating) -> RatingView:
        session = await self.sessions.participant(user_id, session_id)
        await self._add(session.id, user_id, rating)
        if await self._both_connect(session.id):
            await self._connect(session)
        session = await self.sessions.participant(user_id, session_id)
        mine = await self.sessions.rating_of(session.id, user_id)
        assert mine is not None  # added above
        return rating_view(session, mine)

    async def _add(self, session_id: str, user_id: str, rating: Rating) -> None:
        record = SessionRatingRecord(
            session_id=session_id,
            rater_id=user_id,
            stars=rating.stars,
            connect=rating.connect,
            created_at=now_iso(),
            note=rating.note,
        )
        try:
            await self.store.networking.add_rating(record)
        except DuplicateError as exc:
            raise Conflict("You already rated this session") from exc

    async def _both_connect(self, session_id: str) -> bool:
        """Whether both sides chose to connect; True once only (a conditional write)."""
        ratings = await self.store.networking.ratings(session_id)
        return (
            len(ratings) == 2
            and all(r.connect for r in ratings)
            and await self.store.networking.mark_connected(session_id, now_iso())
        )

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
        except (Forbidden, ValidationFailed) as exc:  # a block came between them
            log.info("session %s: no connection (%s)", session.id, exc.message)
            return
        conversation_id = conversation["id"]
        await self.store.networking.set_conversation(session.id, conversation_id)
        for me, peer in (
            (session.offerer_id, session.answerer_id),
            (session.answerer_id, session.offerer_id),
        ):
            connected = {
                "session_id": session.id,
                "conversation_id": conversation_id,
                "peer_user_id": peer,
            }
            await self.events.connected(me, connected)
            await self.notifications.notify(me, "networking.connection", connected)
