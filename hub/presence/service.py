"""Presence: who is online, told only to those who subscribed to them.

Presence is private (issue 20): a user's presence is visible only to users
related to them -- sharing a conversation, a job/bid relation or a networking
connection -- and never across a block. ``visible`` decides, in one batched
query per kind of relation; everyone else is answered ``offline`` with no
``last_seen_at`` and never enters the user's watchers room, so no live
``presence`` event reaches them either. A block made while subscribed takes
both users out of each other's watchers rooms at once (``separate``, called by
``AccountService.block`` on every process through the Socket.IO manager);
a relation that appears later counts at the next ``presence:subscribe``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol, TypeVar

from storage import Store

from ..clock import now_iso
from ..emitter import Emitter
from ..errors import Unavailable
from .backends import OFFLINE, BackendUnavailable, PresenceBackend
from .models import PresenceState

log = logging.getLogger(__name__)

NAMESPACE = "/presence"

T = TypeVar("T")


def watchers_room(user_id: str) -> str:
    return f"presence:{user_id}"


class Rooms(Protocol):
    """Takes a socket (of any process) out of a room: ``AsyncServer.leave_room``."""

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None: ...


def hidden(user_id: str) -> PresenceState:
    """What a user not allowed to see ``user_id`` is told: offline, no reason."""
    return PresenceState(user_id=user_id, status=OFFLINE, last_seen_at=None)


class PresenceService:
    """Tracks /presence sockets through a backend and emits ``presence`` to the
    room of each user's subscribers (never to everyone)."""

    def __init__(
        self,
        store: Store,
        backend: PresenceBackend,
        emitter: Emitter,
        grace_s: float,
        sweep_interval_s: float,
        rooms: Rooms | None = None,
    ) -> None:
        self.store = store
        self.backend = backend
        self.emitter = emitter
        self.rooms = rooms  # None: blocks do not reach sockets already subscribed
        self.grace_s = grace_s
        self.sweep_interval_s = sweep_interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._sweep_forever(), name="presence-sweeper")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._quietly(self.backend.leave())

    async def connected(self, user_id: str, sid: str) -> None:
        if await self._quietly(self.backend.connected(user_id, sid)):
            await self._announce(user_id, "online")

    async def disconnected(self, user_id: str, sid: str) -> None:
        await self._quietly(self.backend.disconnected(user_id, sid, self.grace_s))

    async def set_status(self, user_id: str, status: str) -> PresenceState:
        if await self._required(self.backend.set_status(user_id, status)):
            await self._announce(user_id, status)
        return (await self.states([user_id]))[0]

    async def states(self, user_ids: list[str]) -> list[PresenceState]:
        statuses = await self._required(self.backend.statuses(user_ids))
        seen = {u.id: u.last_seen_at for u in await self.store.users.get_many(user_ids)}
        return [
            PresenceState(user_id=uid, status=statuses[uid], last_seen_at=seen.get(uid))
            for uid in user_ids
        ]

    async def visible(self, viewer_id: str, user_ids: list[str]) -> set[str]:
        """Those of ``user_ids`` whose presence ``viewer_id`` may see: the viewer
        themself, and users sharing a conversation, a bid or a networking
        connection with them, minus anyone on either side of a block with them.
        At most five queries whatever the number of ids; each relation is only
        asked about the ids the previous ones did not relate."""
        others = [uid for uid in dict.fromkeys(user_ids) if uid != viewer_id]
        seen = {viewer_id} & set(user_ids)
        if not others:
            return seen
        related = await self.store.conversations.share_conversation(viewer_id, others)
        for relation in (self.store.market.bid_partners, self.store.networking.connected_peers):
            rest = [uid for uid in others if uid not in related]
            if not rest:
                break
            related |= await relation(viewer_id, rest)
        if related:
            related -= await self.store.blocks.blocked_either_way(viewer_id, list(related))
        if related:
            # A suspended or banned user appears offline to everyone (issue 20);
            # their sockets were dropped at the suspension, and they cannot
            # connect again until it ends.
            now = now_iso()
            related -= {
                user.id
                for user in await self.store.users.get_many(list(related))
                if user.banned_at is not None
                or (user.suspended_until is not None and user.suspended_until > now)
            }
        return seen | related

    async def states_for(
        self, viewer_id: str, user_ids: list[str], allowed: set[str] | None = None
    ) -> list[PresenceState]:
        """``states`` as ``viewer_id`` may see them: ``offline`` (no
        ``last_seen_at``) for users they may not see, without saying why.
        ``allowed``: ``visible``'s answer, when the caller has it already."""
        if allowed is None:
            allowed = await self.visible(viewer_id, user_ids)
        shown = {s.user_id: s for s in await self.states([u for u in user_ids if u in allowed])}
        return [shown.get(uid) or hidden(uid) for uid in user_ids]

    async def separate(self, user_a: str, user_b: str) -> None:
        """Take each user's /presence sockets out of the other's watchers room
        (a block was made): no more live ``presence`` events between them, on
        any process (the Socket.IO manager relays to the socket's process)."""
        if self.rooms is None:
            return
        for watcher, watched in ((user_a, user_b), (user_b, user_a)):
            for sid in await self._quietly(self.backend.sockets(watcher)) or []:
                # The block is stored: a relay failure must not fail it (the
                # next subscribe answers offline anyway).
                await self._quietly(
                    self.rooms.leave_room(sid, watchers_room(watched), namespace=NAMESPACE)
                )

    async def sweep_once(self) -> None:
        await self.backend.heartbeat()
        gone = await self.backend.sweep()
        await self.store.users.set_last_seen(gone)
        for user_id, last_seen_at in gone:
            await self._emit(
                PresenceState(user_id=user_id, status=OFFLINE, last_seen_at=last_seen_at)
            )

    async def _sweep_forever(self) -> None:
        while True:  # sweep first: the heartbeat registers this process at once
            try:
                await self.sweep_once()
            except Exception as exc:  # Redis or the store away: try again next tick
                log.warning("presence sweep failed: %s", exc)
            await asyncio.sleep(self.sweep_interval_s)

    async def _announce(self, user_id: str, status: str) -> None:
        user = await self.store.users.get(user_id)
        last_seen_at = user.last_seen_at if user else None
        await self._emit(PresenceState(user_id=user_id, status=status, last_seen_at=last_seen_at))

    async def _emit(self, state: PresenceState) -> None:
        await self.emitter.emit(
            "presence", state.model_dump(), to=watchers_room(state.user_id), namespace=NAMESPACE
        )

    @staticmethod
    async def _required(call: Awaitable[T]) -> T:
        """A caller waiting for an answer is told the backend is away."""
        try:
            return await call
        except BackendUnavailable as exc:
            raise Unavailable("Presence is temporarily unavailable") from exc

    @staticmethod
    async def _quietly(call: Awaitable[T]) -> T | None:
        """Connects and disconnects must not fail because Redis is down."""
        try:
            return await call
        except Exception as exc:
            log.warning("presence backend unavailable: %s", exc)
            return None
