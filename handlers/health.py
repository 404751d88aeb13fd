"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from aiohttp import web

from hub.http import json_response

from .routing import Route, hub_of

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 1.0


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 when storage (and Redis, when configured) answers; 503 degraded otherwise."""
    hub = hub_of(request)
    checks = {"storage": await _check("storage", hub.store.ping())}
    if hub.redis is not None:
        checks["redis"] = await _check("redis", hub.redis.ping())
    ready = all(state == "ok" for state in checks.values())
    return json_response(
        {"status": "ok" if ready else "degraded", "checks": checks}, status=200 if ready else 503
    )


async def _check(name: str, probe: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(probe, PROBE_TIMEOUT_S)
    except Exception as exc:  # any failure means not ready, whatever the engine
        log.warning("%s not ready: %s", name, exc)
        return "unavailable"
    return "ok"


ROUTES: list[Route] = [
    Route("GET", "/healthz", healthz, "Liveness", "health", auth=False),
    Route(
        "GET",
        "/readyz",
        readyz,
        "Readiness: storage (and Redis) answer",
        "health",
        auth=False,
        errors=(503,),
    ),
]
