"""The python-socketio server attached to the aiohttp app."""

from __future__ import annotations

import socketio

from ..config import Settings
from .codec import HubPacket, OrjsonCodec


def create_socket_server(
    settings: Settings, manager: socketio.AsyncManager | None = None
) -> socketio.AsyncServer:
    # None lets only same-origin browsers in; clients without an Origin header
    # (mobile apps, servers) are never affected.
    origins = settings.cors_origins or None
    return socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=origins,
        max_http_buffer_size=settings.max_body_bytes,
        json=OrjsonCodec,
        serializer=HubPacket,
        logger=False,
        engineio_logger=False,
    )
