"""Redis connections for scale-out: the shared client and the Socket.IO manager."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from redis.asyncio import Redis

from ..realtime.manager import DirectEmitManager

log = logging.getLogger(__name__)

SOCKETIO_CHANNEL = "hub:socketio"


def text_of(value: bytes | str) -> str:
    """A Redis reply (bytes: the client does not decode responses) as text."""
    return value.decode() if isinstance(value, bytes) else value


def create_redis(url: str, *, blocking_reads: bool = False) -> Redis:
    """A client that fails fast while Redis is down instead of hanging callers.

    ``blocking_reads`` is for pub/sub listeners, which wait on a socket for as
    long as the channel is quiet and so must have no read timeout.
    """
    return Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=None if blocking_reads else 2.0,
        health_check_interval=5 if blocking_reads else 0,
    )


async def listen_forever(
    listener: Redis, channel: str, handle: Callable[[bytes], Awaitable[None]], what: str
) -> None:
    """Hand every message published on ``channel`` to ``handle``, until
    cancelled. When Redis fails the subscription is made again, after a
    backoff growing from 0.2 s to 5 s (``what`` names the listener in the log)."""
    backoff = 0.2
    while True:
        try:
            async with listener.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel)
                backoff = 0.2
                async for item in pubsub.listen():
                    if item.get("type") == "message":
                        await handle(item["data"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s lost Redis (%s); retrying in %.1fs", what, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


class HubRedisManager(socketio.AsyncRedisManager, DirectEmitManager):
    """python-socketio's Redis manager, publishing once and counting failures
    instead of retrying: while Redis is down the store stays the source of
    truth and clients mend gaps with ``sync``. Emits to this process's own
    sockets go through DirectEmitManager (it comes next in the MRO)."""

    def __init__(self, url: str, on_publish_error: Callable[[], None] | None = None) -> None:
        super().__init__(
            url,
            channel=SOCKETIO_CHANNEL,
            redis_options={"socket_connect_timeout": 1.0, "health_check_interval": 5},
        )
        self._on_publish_error = on_publish_error

    connected: bool  # set by AsyncRedisManager

    async def _publish(self, data: Any) -> Any:
        try:
            if not self.connected:
                self._redis_connect()
            return await self.redis.publish(self.channel, self.json.dumps(data))
        except Exception as exc:
            self.connected = False
            log.warning("cannot publish to Redis: %s", exc)
            if self._on_publish_error:
                self._on_publish_error()
            return None
