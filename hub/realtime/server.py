"""The python-socketio server attached to the aiohttp app, and the hub's gate
in front of it: every packet a client sends is checked here before any
handler runs, and whatever is wrong with it gets an answer, not a traceback.

- An event must be ``[name, payload?]`` with a name of 1..64 characters that
  is not reserved (``connect``, ``disconnect``, ``connect_error``): a client
  naming an event ``disconnect`` must not run the server's disconnect hook.
- Data that is not JSON, or text that is not valid Unicode, is answered
  ``validation_failed`` on the packet's own ack id.
- Binary attachments are refused (no hub event takes bytes) and skipped.
- Anything that cannot be answered (a header that does not parse, an ack the
  hub never asked for, an event on a namespace the socket did not join) is
  counted and logged within bounds (ClientFaults), and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from ..config import Settings
from ..errors import ValidationFailed
from .codec import HubPacket, PayloadFault
from .engine import HubEngineServer
from .faults import ClientFaults

RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error"})
MAX_EVENT_NAME = 64
UNAVAILABLE = {"code": "unavailable", "message": "Server is shutting down; reconnect shortly"}


def check_event(data: Any) -> str:
    """The event name of a decoded EVENT packet's data; ValidationFailed if the
    packet is not an event the hub can dispatch."""
    if isinstance(data, PayloadFault):
        raise data.error()
    if not isinstance(data, list) or not data:
        raise ValidationFailed.field("event", "An event is [name, payload]")
    name = data[0]
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_EVENT_NAME:
        raise ValidationFailed.field("event", "An event name is a string of 1 to 64 characters")
    if name in RESERVED_EVENTS:
        raise ValidationFailed.field("event", f"{name!r} is a reserved event name")
    return name


class HubSocketServer(socketio.AsyncServer):
    """python-socketio's server behind the gate the module docstring describes."""

    def __init__(self, *, faults: ClientFaults, **options: Any) -> None:
        super().__init__(on_fault=faults.report, **options)
        self.faults = faults
        self._attachments_to_skip: dict[str, int] = {}

    def _engineio_server_class(self) -> type[HubEngineServer]:
        return HubEngineServer

    @property
    def accepting(self) -> bool:
        return bool(self.eio.accepting)

    def stop_accepting(self) -> None:
        """Shutdown has begun: new Engine.IO sessions get 503 and namespace
        connects ``unavailable``; connected sockets are served until closed."""
        self.eio.accepting = False

    def peer(self, eio_sid: str) -> str:
        """The client address behind an Engine.IO session (for fault logs)."""
        request = self.environ.get(eio_sid, {}).get("aiohttp.request")
        return (request.remote if request is not None else None) or "unknown"

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        skipping = self._attachments_to_skip.get(eio_sid)
        if skipping:
            self._skip_attachment(eio_sid, skipping)
            return
        if not isinstance(data, str):
            self.faults.report(self.peer(eio_sid), "binary_payload", "unannounced binary frame")
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except (ValueError, TypeError, IndexError) as exc:
            self.faults.report(self.peer(eio_sid), "malformed_packet", f"{exc}: {data[:40]!r}")
            return
        kind = pkt.packet_type
        if kind == packet.EVENT:
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind == packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif kind in (packet.BINARY_EVENT, packet.BINARY_ACK):
            await self._refuse_binary(eio_sid, pkt)
        else:  # ACK (the hub never asks a client for one), CONNECT_ERROR, unknown
            self.faults.report(self.peer(eio_sid), "unexpected_packet", f"type {kind!r}")

    def _skip_attachment(self, eio_sid: str, remaining: int) -> None:
        if remaining > 1:
            self._attachments_to_skip[eio_sid] = remaining - 1
        else:
            del self._attachments_to_skip[eio_sid]

    async def _refuse_binary(self, eio_sid: str, pkt: HubPacket) -> None:
        """No hub event takes bytes: answer at once and skip the attachments
        as they arrive (their count alone is kept, whatever it claims)."""
        self.faults.report(
            self.peer(eio_sid), "binary_payload", f"{pkt.attachment_count} attachments"
        )
        if pkt.attachment_count:
            self._attachments_to_skip[eio_sid] = pkt.attachment_count
        if pkt.packet_type == packet.BINARY_EVENT:
            error = ValidationFailed.field("payload", "Binary payloads are not accepted: send JSON")
            await self._refuse_event(eio_sid, pkt.namespace, pkt.id, error)

    async def _handle_event(
        self, eio_sid: str, namespace: str | None, id: int | None, data: Any
    ) -> None:
        namespace = namespace or "/"
        if self._connected_sid(eio_sid, namespace) is None:
            return
        try:
            check_event(data)
        except ValidationFailed as error:
            await self._refuse_event(eio_sid, namespace, id, error)
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    def _connected_sid(self, eio_sid: str, namespace: str) -> str | None:
        """The socket's sid on ``namespace``; None (a fault: there is no socket
        to answer on) when it did not connect that namespace."""
        sid: str | None = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            self.faults.report(self.peer(eio_sid), "not_connected", namespace[:64])
            return None
        return sid

    async def _refuse_event(
        self, eio_sid: str, namespace: str | None, id: int | None, error: ValidationFailed
    ) -> None:
        """Answer an event no handler may see, on the namespace it came on."""
        namespace = namespace or "/"
        sid = self._connected_sid(eio_sid, namespace)
        if sid is None:
            return
        self.faults.report(self.peer(eio_sid), "invalid_event", error.message)
        ack = await self.namespace_handlers[namespace].refuse(sid, error)
        if id is not None:
            await self._send_packet(
                eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[ack])
            )

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        if self.accepting:
            await super()._handle_connect(eio_sid, namespace, data)
            return
        await self._send_packet(
            eio_sid,
            self.packet_class(
                packet.CONNECT_ERROR,
                data={**UNAVAILABLE, "data": UNAVAILABLE},
                namespace=namespace or "/",
            ),
        )

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self._attachments_to_skip.pop(eio_sid, None)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def close_all(self, deadline: float) -> None:
        """Shutdown: every socket gets a Socket.IO disconnect for each of its
        namespaces, then the hub closes the transports itself by ``deadline``."""
        disconnects = {  # one frame per namespace, shared by every socket's queue
            namespace: eio_packet.Packet(
                eio_packet.MESSAGE,
                self.packet_class(packet.DISCONNECT, namespace=namespace).encode(),
            )
            for namespace in self.namespace_handlers
        }

        def before_close(eio_sid: str) -> None:
            queue = self.eio.sockets[eio_sid].queue
            for namespace, frame in disconnects.items():
                if self.manager.sid_from_eio_sid(eio_sid, namespace) is not None:
                    queue.put_nowait(frame)

        await self.eio.close_all(deadline, before_close)


def origin_check(allowed: list[str]) -> Callable[[str | None, dict[str, Any]], bool]:
    """Who may open a socket from a browser: the listed origins (``*`` for
    any), and always the hub's own origin, so the page the hub serves works
    whatever HUB_CORS_ORIGINS lists. Clients without an Origin header (apps,
    servers) are not browsers and are never refused."""
    listed = frozenset(allowed)

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None or "*" in listed or origin in listed:
            return True
        return origin in own_origins(environ)

    return check


def own_origins(environ: dict[str, Any]) -> set[str]:
    """The origins this request was addressed to: its scheme and Host, and
    what a reverse proxy says in X-Forwarded-Proto/-Host (as engine.io's own
    same-origin default does)."""
    request = environ["aiohttp.request"]
    scheme, host = request.scheme, request.host
    origins = {f"{scheme}://{host}"}
    proto = request.headers.get("X-Forwarded-Proto", scheme).split(",")[0].strip()
    forwarded_host = request.headers.get("X-Forwarded-Host", host).split(",")[0].strip()
    origins.add(f"{proto}://{forwarded_host}")
    return origins


def create_socket_server(
    settings: Settings, manager: socketio.AsyncManager | None, faults: ClientFaults
) -> HubSocketServer:
    return HubSocketServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=origin_check(settings.cors_origins),
        max_http_buffer_size=settings.max_payload_bytes,
        serializer=HubPacket,
        # Logger objects, not False: with False the libraries add a plain-text
        # handler of their own beside the hub's JSON one (hub/logs.py).
        logger=logging.getLogger("socketio.server"),
        engineio_logger=logging.getLogger("engineio.server"),
        faults=faults,
        send_buffer_bytes=settings.socket_send_buffer_bytes,
        ws_compression=settings.ws_compression,
    )
