"""Thin REST handlers: parse, call the domain service, shape the response.

Each module declares its routes beside its handlers (its ``ROUTES``); this
module gathers them into ``ROUTES``, the single list of operations, which both
registers them under ``/api/v1`` and generates the OpenAPI document, so the
two never disagree.
"""

from __future__ import annotations

from aiohttp import web

from hub.http import API_PREFIX
from hub.services import SERVICES

from . import (
    admin,
    attachments,
    auth,
    conversations,
    email,
    health,
    marketplace,
    moderation,
    networking,
    notification_settings,
    notifications,
    push,
    signaling,
    users,
    wallet,
    webhooks,
)
from .openapi import PATH_PARAM, build_openapi, openapi_handler, path_param_pattern
from .routing import Route, services_of, serving
from .web_client import setup_web_routes

ROUTES: list[Route] = [
    *health.ROUTES,
    *auth.ROUTES,
    *users.ROUTES,
    *admin.ROUTES,
    *conversations.ROUTES,
    *attachments.ROUTES,
    *marketplace.ROUTES,
    *wallet.ROUTES,
    *notifications.ROUTES,
    *email.ROUTES,
    *notification_settings.ROUTES,
    *push.ROUTES,
    *signaling.ROUTES,
    *networking.ROUTES,
    *webhooks.ROUTES,
    *moderation.ROUTES,
]

UNVERSIONED = ("/healthz", "/readyz")

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def prometheus_metrics(request: web.Request) -> web.Response:
    """Prometheus exposition of this process's metrics (scraped, not part of the API)."""
    return web.Response(
        body=services_of(request).metrics.render(), headers={"Content-Type": PROMETHEUS_TEXT}
    )


def setup_routes(app: web.Application) -> None:
    """Register ROUTES under /api/v1 (each path parameter matching ID_PATTERN
    only, or its own pattern: handlers.openapi.OTHER_PATH_PARAMS), the probes
    outside it too, the OpenAPI document, /metrics and the page."""
    for route in ROUTES:
        path = PATH_PARAM.sub(lambda m: f"{{{m[1]}:{path_param_pattern(m[1])}}}", route.path)
        handler = serving(route)
        app.router.add_route(route.method, API_PREFIX + path, handler)
        if route.path in UNVERSIONED:
            app.router.add_route(route.method, route.path, handler)
    document = build_openapi(ROUTES, version="0.1.0", settings=app[SERVICES].settings)
    app.router.add_get(API_PREFIX + "/openapi.json", openapi_handler(document))
    # Not in ROUTES: it is unversioned only, plain text, and for scrapers, not
    # API clients, so it stays out of the OpenAPI document.
    app.router.add_get("/metrics", prometheus_metrics)
    # The browser client (handlers/web/): a page and its files, not API routes either.
    setup_web_routes(app)
