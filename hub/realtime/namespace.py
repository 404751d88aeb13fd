"""The base of every namespace: token check on connect, typed events, acks."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import socketio
from pydantic import BaseModel, ConfigDict, Field

from ..config import SOCKET_LIMIT_FAMILIES
from ..errors import HubError, RateLimited, Unauthorized, ValidationFailed
from ..schema import validate

if TYPE_CHECKING:
    from .gate import SocketGate

log = logging.getLogger(__name__)

ALL_EVENTS = "socket_events"  # the family every event counts against

HandlerT = TypeVar("HandlerT", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent an event: the socket and its authenticated user."""

    sid: str
    user_id: str


class AuthRefused(socketio.exceptions.ConnectionRefusedError):
    """Refuses a connect with ``{code: "unauthorized", message}`` (also under
    ``data``, where the JavaScript client exposes it as ``err.data``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        error = {"code": "unauthorized", "message": message}
        self.error_args = {**error, "data": error}


class AuthRefresh(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    token: str = Field(min_length=1, max_length=8192)


def event(
    name: str, payload: type[BaseModel] | None = None, *, limit: str
) -> Callable[[HandlerT], HandlerT]:
    """Declare a method as the handler of client event ``name``.

    The handler is called as ``handler(caller, payload)`` with the payload
    validated against ``payload``; what it returns becomes the ack's ``data``.
    ``limit`` names the event's rate-limit family (one of
    ``SOCKET_LIMIT_FAMILIES``, setting ``HUB_RATE_LIMIT_<FAMILY>``): no event
    can be declared without one.
    """
    if limit not in SOCKET_LIMIT_FAMILIES or limit == ALL_EVENTS:
        raise ValueError(f"{limit!r} is not a socket rate-limit family")

    def mark(handler: HandlerT) -> HandlerT:
        handler.__hub_event__ = (name, payload, limit)  # type: ignore[attr-defined]
        return handler

    return mark


class HubNamespace(socketio.AsyncNamespace):
    """Authenticates every connection and turns events into ``{ok, data|error}`` acks."""

    def __init__(self, namespace: str, hub: SocketGate) -> None:
        super().__init__(namespace)
        self.hub = hub
        self.sockets: dict[str, tuple[str, str]] = {}  # sid -> (user id, engine.io sid)
        self._events = {
            method.__hub_event__[0]: (method, *method.__hub_event__[1:])
            for _, method in inspect.getmembers(self, inspect.ismethod)
            if hasattr(method, "__hub_event__")
        }
        self._metric_children: dict[str, tuple[Any, Any]] = {}
        # Per-user token buckets: one for all of a user's events, one per
        # family (shared by the user's sockets, and by every node when the
        # limiter is Redis-backed).
        self._limits = {
            family: hub.settings.socket_limit(family) for family in SOCKET_LIMIT_FAMILIES
        }

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
        user_id, session_id, expires_at = await self._authenticate(eio_sid, token)
        # No await from the check above to attach: a revocation handled in
        # between would miss this socket.
        self.sockets[sid] = (user_id, eio_sid)
        self.hub.metrics.sockets.labels(self.namespace).inc()
        self.hub.connections.attach(
            eio_sid, self.namespace, sid, user_id, session_id, expires_at, token
        )
        await self.on_user_connected(Caller(sid, user_id))

    async def _authenticate(self, eio_sid: str, token: Any) -> tuple[str, str, float]:
        """The user, session and token expiry of a namespace connect;
        AuthRefused otherwise.

        A client connects each namespace with the same token over one
        Engine.IO connection: a token already verified on this connection
        (same string, not expired since, session not revoked since) is not
        verified again, which was a third of the CPU of a connect. Any other
        token is verified in full, its session included.
        """
        connections = self.hub.connections
        known = connections.verified(eio_sid, token) if isinstance(token, str) else None
        if known is not None:
            return known.user_id, known.session_id, known.token_expires_at
        try:
            claims = await self.hub.sessions.authenticate(token)
        except Unauthorized as exc:
            raise AuthRefused(exc.message) from exc
        if connections.revoked_lately(claims.session_id):  # while the store was read
            raise AuthRefused("Access token revoked")
        existing = connections.get(eio_sid)
        if existing is None:
            return claims.user_id, claims.session_id, claims.expires_at
        if existing.user_id != claims.user_id:
            raise AuthRefused("This connection belongs to another user")
        # One user id string per connection.
        return existing.user_id, claims.session_id, claims.expires_at

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        socket = self.sockets.pop(sid, None)
        if socket is not None:
            self.hub.metrics.sockets.labels(self.namespace).dec()
            user_id, eio_sid = socket
            self.hub.connections.detach(eio_sid, self.namespace)
            await self.on_user_disconnected(Caller(sid, user_id))

    def others_in_room(self, room: str, sid: str) -> bool:
        """Whether a socket of this process other than ``sid`` is in ``room``."""
        return any(
            other != sid for other, _ in self.server.manager.get_participants(self.namespace, room)
        )

    async def on_user_connected(self, caller: Caller) -> None:
        """Hook for subclasses: the socket is authenticated and connected."""

    async def on_user_disconnected(self, caller: Caller) -> None:
        """Hook for subclasses: the socket has gone."""

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid, data = args[0], args[1:]
        if self.hub.drain.draining:
            return {
                "ok": False,
                "error": {
                    "code": "unavailable",
                    "message": "Server is restarting; retry after reconnecting",
                },
            }
        started = time.perf_counter()
        self.hub.drain.enter()
        try:
            ack = await self._ack(event, sid, data)
        finally:
            self.hub.drain.leave()
        # Only declared event names become label values: anything a client
        # invents is "unknown", so clients cannot grow the metric series.
        label = event if event in self._events else "unknown"
        count, latency = self._event_metrics(label)
        count.inc()
        if not ack["ok"]:
            self.hub.metrics.event_errors.labels(self.namespace, label, ack["error"]["code"]).inc()
        latency.observe(time.perf_counter() - started)
        return ack

    def _event_metrics(self, label: str) -> tuple[Any, Any]:
        """The event's counter and ack-latency histogram, looked up once
        (``labels()`` takes a lock and builds a key on every call)."""
        children = self._metric_children.get(label)
        if children is None:
            metrics = self.hub.metrics
            children = (
                metrics.events.labels(self.namespace, label),
                metrics.ack_latency.labels(label),
            )
            self._metric_children[label] = children
        return children

    async def _ack(self, event: str, sid: str, data: tuple[Any, ...]) -> dict[str, Any]:
        try:
            result = await self._dispatch(event, sid, data)
        except HubError as exc:
            return {"ok": False, "error": exc.to_ack_error()}
        except Exception:
            log.exception("event %s on %s failed", event, self.namespace)
            return {"ok": False, "error": {"code": "internal", "message": "Internal error"}}
        return {"ok": True, "data": result}

    async def _dispatch(self, event: str, sid: str, data: tuple[Any, ...]) -> Any:
        socket = self.sockets.get(sid)
        if socket is None:
            raise Unauthorized("Not authenticated")
        user_id = socket[0]
        entry = self._events.get(event)
        await self._take_tokens(user_id, entry[2] if entry is not None else None)
        if entry is None:
            raise ValidationFailed.field("event", f"Unknown event {event!r} on {self.namespace}")
        handler, model, _ = entry
        if len(data) > 1:
            raise ValidationFailed.field("payload", "Send one payload object")
        payload = data[0] if data else {}
        if model is not None:
            if not isinstance(payload, dict):
                raise ValidationFailed.field("payload", "Payload must be an object")
            payload = validate(model, payload)
        return await handler(Caller(sid, user_id), payload)

    async def _take_tokens(self, user_id: str, family: str | None) -> None:
        """Every event takes a token of the user's all-events bucket, and a
        known one also of its family's; RateLimited when either is empty."""
        limiter = self.hub.rate_limiter
        if limiter is None:
            return
        hits = [(f"rl:{ALL_EVENTS}:{user_id}", self._limits[ALL_EVENTS])]
        if family is not None:
            hits.append((f"rl:{family}:{user_id}", self._limits[family]))
        decision = await limiter.hit_all(hits)
        if not decision.allowed:
            raise RateLimited(decision.retry_after_ms)

    async def refuse(self, sid: str, error: HubError) -> dict[str, Any]:
        """The ack of an event the server refused before dispatch (a bad
        name, shape or encoding: hub/realtime/server.py). It still counts
        against the sender's all-events limit."""
        socket = self.sockets.get(sid)
        if socket is not None:
            try:
                await self._take_tokens(socket[0], None)
            except RateLimited as limited:
                error = limited
        self._event_metrics("invalid")[0].inc()
        self.hub.metrics.event_errors.labels(self.namespace, "invalid", error.code).inc()
        return {"ok": False, "error": error.to_ack_error()}

    @event("auth:refresh", AuthRefresh, limit="auth_refresh")
    async def auth_refresh(self, caller: Caller, payload: AuthRefresh) -> dict[str, Any]:
        """Swap in a fresh access token (of an active session of the same
        user) so the connection outlives the old one."""
        claims = await self.hub.sessions.authenticate(payload.token)
        if claims.user_id != caller.user_id:
            raise Unauthorized("The token belongs to another user")
        connections = self.hub.connections
        socket = self.sockets.get(caller.sid)
        if socket is None:
            raise Unauthorized("Not authenticated")  # disconnected while the store was read
        if connections.revoked_lately(claims.session_id):
            raise Unauthorized("Access token revoked")
        connections.refreshed(socket[1], claims.session_id, payload.token, claims.expires_at)
        return {"expires_at": claims.expires_at}
