"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response

from .routing import Route, services_of


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 when storage (and Redis, when configured) answers; 503 degraded otherwise."""
    checks = await services_of(request).readiness.checks()
    ready = all(state == "ok" for state in checks.values())
    return json_response(
        {"status": "ok" if ready else "degraded", "checks": checks}, status=200 if ready else 503
    )


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
