"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web

from hub.health import Liveness, ReadinessReport
from hub.http import json_response

from .routing import Route, services_of


async def healthz(request: web.Request) -> web.Response:
    return json_response(Liveness(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    """200 when storage (and Redis, when configured) answers; 503 degraded otherwise."""
    report = await services_of(request).readiness.report()
    return json_response(report, status=200 if report.status == "ok" else 503)


ROUTES: list[Route] = [
    Route("GET", "/healthz", healthz, "Liveness", "health", auth=False, response=Liveness),
    Route(
        "GET",
        "/readyz",
        readyz,
        "Readiness: storage (and Redis) answer",
        "health",
        auth=False,
        response=ReadinessReport,
        answers=(503,),
    ),
]
