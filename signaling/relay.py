"""The ``signal`` relay: offers, answers and ICE candidates between exactly two
sockets, for calls and for speed-networking sessions (docs/video.md).

A call's signals go to one socket id (``to=sid``), the peer's engaged device; a
session's to the peer's connection room (``conn:<engine.io sid>``), the
connection that joined the lobby. Both reach sockets on any process with the
Redis manager.
"""

from __future__ import annotations

from typing import Any, Protocol

from hub.emitter import Emitter, conn_room
from hub.errors import Forbidden, ValidationFailed

from .calls import NAMESPACE, Calls
from .models import MAX_SDP_BYTES, RelayAccepted, Signal
from .state import CallState


class SessionSignals(Protocol):
    """Where a networking session's signals go (hub.networking answers)."""

    async def signal_target(self, session_id: str, user_id: str, conn: str | None) -> str:
        """The peer's connection for a signal from ``user_id`` sent from ``conn``
        (None over REST); Forbidden unless both are in the active session."""


class SignalRelay:
    def __init__(
        self,
        emitter: Emitter,
        calls: Calls,
        state: CallState,
        sessions: SessionSignals,
        max_candidates: int,
    ) -> None:
        self.emitter = emitter
        self.calls = calls
        self.state = state
        self.sessions = sessions
        self.max_candidates = max_candidates

    async def relay(
        self, user_id: str, sid: str | None, conn: str | None, request: Signal
    ) -> RelayAccepted:
        """Relay one offer, answer or candidate to the peer's engaged socket.

        The sender is ``user_id`` (from the socket or the bearer token), never
        the payload. ``sid``/``conn`` are the sending socket and its connection,
        which must be the engaged ones (None for REST).
        """
        if request.sdp is not None and len(request.sdp.encode()) > MAX_SDP_BYTES:
            raise ValidationFailed.field("sdp", f"SDP is over {MAX_SDP_BYTES // 1024} KB")
        if request.call_id is not None:
            await self._to_call(request.call_id, user_id, sid, request)
        else:
            assert request.session_id is not None  # Target: exactly one of the two
            await self._to_session(request.session_id, user_id, conn, request)
        return RelayAccepted()

    async def _to_call(self, call_id: str, user_id: str, sid: str | None, request: Signal) -> None:
        call = await self.calls.get(call_id)
        if call["state"] != "active" or user_id not in (call["caller_id"], call["answered_by"]):
            raise Forbidden("Signals go only between the members of an active call")
        mine, peer = (
            (call["caller_sid"], call["callee_sid"])
            if user_id == call["caller_id"]
            else (call["callee_sid"], call["caller_sid"])
        )
        if sid is not None and sid != mine:
            raise Forbidden("Only the device in the call can signal")
        await self._count(f"{call_id}:{user_id}", request)
        data = {"call_id": call_id, "from_user_id": user_id, **_body(request)}
        await self.emitter.emit("signal", data, to=peer, namespace=NAMESPACE)

    async def _to_session(
        self, session_id: str, user_id: str, conn: str | None, request: Signal
    ) -> None:
        peer_conn = await self.sessions.signal_target(session_id, user_id, conn)
        await self._count(f"{session_id}:{user_id}", request)
        # No from_user_id: the peer stays anonymous until both choose to connect.
        data = {"session_id": session_id, **_body(request)}
        await self.emitter.emit("signal", data, to=conn_room(peer_conn), namespace=NAMESPACE)

    async def _count(self, key: str, request: Signal) -> None:
        """At most ``max_candidates`` candidates per side and negotiation (an
        offer or an answer starts a new one)."""
        if request.type != "candidate":
            await self.state.count(key, reset=True)
            return
        if await self.state.count(key, reset=False) > self.max_candidates:
            raise ValidationFailed.field(
                "candidate",
                f"At most {self.max_candidates} candidates per "
                "negotiation; send a new offer to restart ICE",
            )


def _body(request: Signal) -> dict[str, Any]:
    """What the peer gets of a signal: its type, and its SDP or candidate."""
    body: dict[str, Any] = {"type": request.type}
    if request.sdp is not None:
        body["sdp"] = request.sdp
    if request.candidate is not None:
        body["candidate"] = request.candidate.model_dump(exclude_none=True)
    return body
