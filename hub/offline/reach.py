"""Who can be reached live: a user is *connected* while any of their
/conversations sockets is open on any process. The offline channels (Web Push,
email digests) act for everyone else.

The bookkeeping is presence's (``PresenceBackend``: in memory, or shared in
Redis with per-process heartbeats so a dead process's sockets are released),
kept under its own keys: /presence sockets say who wants to be seen online,
/conversations sockets say who receives messages, and a tab can have one
without the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..presence.backends import OFFLINE, PresenceBackend

log = logging.getLogger(__name__)

# (user_id, since): the user's last /conversations socket closed (and the grace passed).
OnDisconnected = Callable[[str, str], Awaitable[None]]


class Reachability:
    """Tracks /conversations sockets and tells listeners who went away."""

    def __init__(self, backend: PresenceBackend, grace_s: float, sweep_interval_s: float) -> None:
        self.backend = backend
        self.grace_s = grace_s
        self.sweep_interval_s = sweep_interval_s
        self._listeners: list[OnDisconnected] = []
        self._task: asyncio.Task[None] | None = None

    def on_disconnected(self, listener: OnDisconnected) -> None:
        """Call ``listener(user_id, since)`` when a user's last socket is gone."""
        self._listeners.append(listener)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._sweep_forever(), name="reach-sweeper")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await self.backend.leave()
        except Exception as exc:
            log.warning("reachability backend unavailable: %s", exc)

    async def connected(self, user_id: str, sid: str) -> None:
        try:
            await self.backend.connected(user_id, sid)
        except Exception as exc:  # a socket must connect even with Redis away
            log.warning("reachability backend unavailable: %s", exc)

    async def disconnected(self, user_id: str, sid: str) -> None:
        try:
            await self.backend.disconnected(user_id, sid, self.grace_s)
        except Exception as exc:
            log.warning("reachability backend unavailable: %s", exc)

    async def connected_among(self, user_ids: list[str]) -> set[str]:
        """Those of ``user_ids`` with a /conversations socket open. When the
        shared state cannot be read, everyone counts as connected: a missed
        push is better than a storm of them."""
        if not user_ids:
            return set()
        try:
            statuses = await self.backend.statuses(user_ids)
        except Exception as exc:
            log.warning("reachability backend unavailable: %s", exc)
            return set(user_ids)
        return {user_id for user_id, status in statuses.items() if status != OFFLINE}

    async def sweep_once(self) -> None:
        await self.backend.heartbeat()
        for user_id, since in await self.backend.sweep():
            for listener in self._listeners:
                try:
                    await listener(user_id, since)
                except Exception:
                    log.exception("reachability listener failed for %s", user_id)

    async def _sweep_forever(self) -> None:
        while True:  # sweep first: the heartbeat registers this process at once
            try:
                await self.sweep_once()
            except Exception as exc:  # Redis away: try again next tick
                log.warning("reachability sweep failed: %s", exc)
            await asyncio.sleep(self.sweep_interval_s)
