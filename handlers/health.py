"""Liveness and readiness."""

from __future__ import annotations

import logging

from aiohttp import web

from hub.http import json_response

from .routing import hub_of

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 when storage (and Redis, once configured) answers; 503 degraded otherwise."""
    checks = {"storage": "ok"}
    try:
        await hub_of(request).store.ping()
    except Exception as exc:  # any failure means not ready, whatever the engine
        log.warning("storage not ready: %s", exc)
        checks["storage"] = "unavailable"
    ready = all(state == "ok" for state in checks.values())
    return json_response(
        {"status": "ok" if ready else "degraded", "checks": checks}, status=200 if ready else 503
    )
