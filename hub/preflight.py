"""Startup checks of the servers the hub depends on: MongoDB and Redis answer.

Without them the hub would log "hub started" and then fail every request (or,
with Redis, drop cross-process deliveries): an unreachable server is a settings
error, reported once, naming the setting and the URL with its credentials hidden.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from .config import Settings, redact_url

# Each driver gives up after PROBE_TIMEOUT_S with its own reason; the hard bound
# covers what a driver does not time out (say, a slow DNS lookup). The probes run
# concurrently, so startup fails within HARD_TIMEOUT_S: well under 10 s.
PROBE_TIMEOUT_S = 5.0
HARD_TIMEOUT_S = PROBE_TIMEOUT_S + 1.0
MAX_REASON_CHARS = 200


class StartupError(Exception):
    """A setting that names something the hub cannot use; ``setting`` is its HUB_* name."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting
        self.message = message


async def check_dependencies(settings: Settings) -> None:
    """Ping the configured MongoDB and Redis; raise StartupError for the first that fails."""
    probes: list[Awaitable[None]] = []
    if settings.uses_mongodb:
        probes.append(_probe("HUB_DATABASE_URL", settings.database_url, _ping_mongo))
    if settings.redis_url is not None:
        probes.append(_probe("HUB_REDIS_URL", settings.redis_url, _ping_redis))
    for outcome in await asyncio.gather(*probes, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


async def _probe(setting: str, url: str, ping: Callable[[str], Awaitable[None]]) -> None:
    try:
        async with asyncio.timeout(HARD_TIMEOUT_S):
            await ping(url)
    except TimeoutError:
        raise StartupError(
            setting, f"{redact_url(url)} did not answer within {HARD_TIMEOUT_S:.0f} s"
        ) from None
    # Drivers raise many types (refused, DNS, auth, bad URL); each is the same
    # verdict: this URL is unusable, and the reason is shown.
    except Exception as exc:
        raise StartupError(
            setting, f"cannot reach {redact_url(url)}: {_reason(exc, url)}"
        ) from None


async def _ping_mongo(url: str) -> None:
    timeout_ms = int(PROBE_TIMEOUT_S * 1000)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
    )
    try:
        await client.admin.command("ping")
    finally:
        await client.close()


async def _ping_redis(url: str) -> None:
    client = Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_S, socket_timeout=PROBE_TIMEOUT_S
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


def _reason(exc: Exception, url: str) -> str:
    """The driver's message, on one line and short: pymongo appends its whole
    topology description, and no message may carry the URL's password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for tail in (" (configured timeouts", ", Timeout:"):
        text = text.split(tail, 1)[0]
    password = url.partition("://")[2].rpartition("@")[0].partition(":")[2]
    if password:
        text = text.replace(password, "***")
    return text[:MAX_REASON_CHARS]
