"""Presence: who is online, told only to those who subscribed to them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from storage import Store

from ..emitter import Emitter
from ..errors import Unavailable
from .backends import OFFLINE, BackendUnavailable, PresenceBackend
from .models import PresenceState

log = logging.getLogger(__name__)

NAMESPACE = "/presence"

T = TypeVar("T")


def watchers_room(user_id: str) -> str:
    return f"presence:{user_id}"


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
    ) -> None:
        self.store = store
        self.backend = backend
        self.emitter = emitter
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
