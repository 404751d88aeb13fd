"""The app factory: one aiohttp app with python-socketio attached, no globals."""

from __future__ import annotations

import logging

from aiohttp import web

from handlers import setup_routes
from signaling import SignalingNamespace
from storage import Store

from .config import Settings
from .context import HUB, build_hub
from .conversations.namespace import ConversationsNamespace
from .http import (
    auth_middleware,
    cors_middleware,
    problem_middleware,
    rate_limit_middleware,
    request_id_middleware,
    security_headers_middleware,
)
from .networking.namespace import NetworkingNamespace
from .notifications.namespace import NotificationsNamespace
from .presence.namespace import PresenceNamespace
from .ratelimit import Limit
from .services import SERVICES

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, store: Store | None = None) -> web.Application:
    """Build the hub's aiohttp application. ``store`` overrides the configured engine."""
    settings = settings or Settings()
    hub = build_hub(settings, store)
    middlewares = [
        request_id_middleware,
        security_headers_middleware(settings.env == "production", settings.file_origins),
        cors_middleware(settings.cors_origins),
        # Before the rate limiter, which limits per authenticated user.
        auth_middleware(hub.sessions.authenticate),
    ]
    if hub.rate_limiter is not None:
        # Right outside problem_middleware: it sees every handler error already
        # turned into problem+json, so limited error responses get the headers too.
        middlewares.append(
            rate_limit_middleware(
                hub.rate_limiter,
                Limit.parse(settings.rate_limit_rest),
                Limit.parse(settings.rate_limit_auth),
            )
        )
    middlewares.append(problem_middleware)
    app = web.Application(client_max_size=settings.max_payload_bytes, middlewares=middlewares)
    app[HUB] = hub
    app[SERVICES] = hub  # what the REST handlers see of it (hub/services.py)
    hub.sio.attach(app)
    hub.sio.register_namespace(ConversationsNamespace(hub))
    hub.sio.register_namespace(PresenceNamespace(hub))
    hub.sio.register_namespace(NotificationsNamespace(hub))
    hub.sio.register_namespace(SignalingNamespace(hub))
    hub.sio.register_namespace(NetworkingNamespace(hub))
    setup_routes(app)
    app.on_startup.append(_start)
    app.on_shutdown.append(_shut_down_sockets)
    app.on_cleanup.append(_stop)
    return app


async def _start(app: web.Application) -> None:
    hub = app[HUB]
    await hub.start()
    log.info("hub started", extra={"fields": {"settings": hub.settings.redacted()}})


async def _shut_down_sockets(app: web.Application) -> None:
    # aiohttp has stopped listening by now (SIGTERM -> GracefulExit).
    await app[HUB].shut_down_sockets()


async def _stop(app: web.Application) -> None:
    await app[HUB].stop()
