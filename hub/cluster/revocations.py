"""Session revocations over Redis pub/sub, for several processes (the port
is hub/accounts/revocations.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

import orjson
from redis.asyncio import Redis

from ..accounts.revocations import DisconnectSessions
from .redis import listen_forever

log = logging.getLogger(__name__)

CHANNEL = "hub:sessions-revoked"


class RedisRevocations:
    """Many processes: the announcing process drops its own sockets at once
    (even when Redis is down) and publishes the ids; every process, the
    announcer too, drops its sockets of each id it hears (again finding
    nothing, for the announcer).

    A process that is cut off from Redis when a revocation is published never
    hears it: its sockets of that session live on until their token expires,
    while REST and new connects are refused at once (the store says revoked).
    """

    def __init__(
        self, redis: Redis, listener: Redis, on_publish_error: Callable[[], None] | None = None
    ) -> None:
        self.redis = redis
        self.listener = listener
        self._on_publish_error = on_publish_error
        self._disconnect: DisconnectSessions | None = None
        self._task: asyncio.Task[None] | None = None

    async def announce(self, session_ids: list[str]) -> None:
        if not session_ids:
            return
        if self._disconnect is not None:
            await self._disconnect(session_ids)
        try:
            await self.redis.publish(CHANNEL, orjson.dumps(session_ids))
        except Exception as exc:
            log.warning("cannot publish the revocation of %d sessions: %s", len(session_ids), exc)
            if self._on_publish_error:
                self._on_publish_error()

    async def start(self, disconnect: DisconnectSessions) -> None:
        self._disconnect = disconnect
        self._task = asyncio.create_task(self._listen(disconnect), name="session-revocations")

    async def stop(self) -> None:
        self._disconnect = None
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.listener.aclose()

    async def _listen(self, disconnect: DisconnectSessions) -> None:
        await listen_forever(
            self.listener, CHANNEL, partial(self._deliver, disconnect), "session revocations"
        )

    @staticmethod
    async def _deliver(disconnect: DisconnectSessions, data: bytes) -> None:
        # One bad notice must not end the subscription (notices published
        # while it resubscribes would be lost).
        try:
            await disconnect(orjson.loads(data))
        except Exception:
            log.exception("session revocation %r failed", data[:200])
