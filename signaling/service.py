"""Calls and the ``signal`` relay: the rules behind /signaling and its REST fallback.

Events go through python-socketio rooms and socket ids, so with the Redis
manager they reach sockets on any process: per-user rooms (``user:<id>``) for
call events every device should see, one socket id (``to=sid``) for signals to a
call's engaged device, and a per-connection room (``conn:<engine.io sid>``) for
signals to a networking session's peer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import socketio

from hub.clock import new_id, now_iso
from hub.config import Settings
from hub.emitter import conn_room, user_room
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from storage import Store

from .ice import ice_servers
from .models import MAX_SDP_BYTES, CallInvite, Signal
from .state import CallState, Outcome

if TYPE_CHECKING:
    from hub.networking.service import NetworkingService

log = logging.getLogger(__name__)

NAMESPACE = "/signaling"
FINISHED_CALL_TTL_S = 300  # a finished call can still be looked up this long
CALL_FIELDS = (
    "id",
    "conversation_id",
    "caller_id",
    "callee_ids",
    "media",
    "state",
    "created_at",
    "answered_by",
    "answered_at",
    "ended_at",
    "end_reason",
)


def call_view(call: dict[str, Any]) -> dict[str, Any]:
    return {name: call.get(name) for name in CALL_FIELDS}


class SignalingService:
    """Owns the call state machine and relays signals between engaged sockets.

    ``sid`` arguments are /signaling socket ids; REST callers pass None (they
    have no socket: their signals come from the user, to the peer's device).
    """

    def __init__(
        self, settings: Settings, store: Store, sio: socketio.AsyncServer, state: CallState
    ) -> None:
        self.settings = settings
        self.store = store
        self.sio = sio
        self.state = state
        self.networking: NetworkingService | None = None  # wired by the hub
        self._ring_timers: dict[str, asyncio.TimerHandle] = {}

    def ice_servers(self, user_id: str) -> dict[str, Any]:
        return ice_servers(self.settings, user_id)

    # Calls

    async def invite(self, user_id: str, sid: str, request: CallInvite) -> dict[str, Any]:
        conversation = await self.store.conversations.get(request.conversation_id)
        if conversation is None:
            raise NotFound("No such conversation")
        if await self.store.conversations.membership(conversation.id, user_id) is None:
            raise Forbidden("You are not a participant of this conversation")
        others = [
            m for m in await self.store.conversations.member_ids(conversation.id) if m != user_id
        ]
        callees = [m for m in others if not await self.store.blocks.exists_between(user_id, m)]
        if not callees:
            if others:
                raise Forbidden("You cannot call this user")
            raise ValidationFailed.field("conversation_id", "Nobody else is in this conversation")
        call = {
            "id": new_id(),
            "conversation_id": conversation.id,
            "caller_id": user_id,
            "callee_ids": callees,
            "media": request.media,
            "state": "ringing",
            "created_at": now_iso(),
            "caller_sid": sid,
            "callee_sid": None,
            "answered_by": None,
            "answered_at": None,
            "ended_at": None,
            "end_reason": None,
        }
        if not await self.state.create(call):
            raise Conflict("This device is already in a call")
        self._ring_timers[call["id"]] = asyncio.get_running_loop().call_later(
            self.settings.call_ring_timeout_s,
            lambda: asyncio.ensure_future(self._ring_timeout(call["id"])),
        )
        view = call_view(call)
        for callee in callees:
            await self._emit(
                "call:incoming",
                {"call": view, "ice_servers": self.ice_servers(callee)["ice_servers"]},
                [callee],
            )
        return view

    async def accept(self, user_id: str, sid: str, call_id: str) -> dict[str, Any]:
        call = await self._call(call_id)
        if user_id not in call["callee_ids"]:
            raise Forbidden("Only a callee can accept this call")
        outcome = await self.state.transition(
            call_id,
            ("ringing",),
            {
                "state": "active",
                "answered_by": user_id,
                "callee_sid": sid,
                "answered_at": now_iso(),
            },
            engage_sid=sid,
        )
        self._refuse(outcome)
        self._stop_ringing(call_id)
        call = await self._call(call_id)
        others = [u for u in call["callee_ids"] if u != user_id]
        await self._emit(
            "call:accepted",
            {"call_id": call_id, "user_id": user_id, "polite": False},
            [call["caller_id"], *others],
        )
        await self._emit("call:answered_elsewhere", {"call_id": call_id}, [user_id], skip_sid=sid)
        # Perfect negotiation: the callee is the polite peer, the caller is not.
        return {**call_view(call), "polite": True}

    async def decline(self, user_id: str, sid: str | None, call_id: str) -> dict[str, Any]:
        call = await self._call(call_id)
        if user_id not in call["callee_ids"]:
            raise Forbidden("Only a callee can decline this call")
        if call["state"] != "ringing":
            raise Conflict(f"The call is {call['state']}")
        declined = await self.state.decline(call_id, user_id)
        if declined >= len(call["callee_ids"]):
            outcome = await self.state.transition(
                call_id,
                ("ringing",),
                {"state": "declined", "ended_at": now_iso(), "end_reason": "declined"},
            )
            self._refuse(outcome)
            await self._finish(call_id)
        await self._emit(
            "call:declined",
            {"call_id": call_id, "user_id": user_id},
            self._members(call),
            skip_sid=sid,
        )
        return call_view(await self._call(call_id))

    async def cancel(self, user_id: str, sid: str | None, call_id: str) -> dict[str, Any]:
        call = await self._call(call_id)
        if user_id != call["caller_id"]:
            raise Forbidden("Only the caller can cancel this call")
        outcome = await self.state.transition(
            call_id,
            ("ringing",),
            {"state": "cancelled", "ended_at": now_iso(), "end_reason": "cancelled"},
        )
        self._refuse(outcome)
        await self._finish(call_id)
        await self._emit("call:cancelled", {"call_id": call_id}, self._members(call), skip_sid=sid)
        return call_view(await self._call(call_id))

    async def end(
        self, user_id: str, sid: str | None, call_id: str, reason: str = "hangup"
    ) -> dict[str, Any]:
        """Hang up an active call (a ringing one is cancelled or declined instead)."""
        call = await self._call(call_id)
        if user_id not in (call["caller_id"], call["answered_by"]):
            if user_id in call["callee_ids"] and call["state"] == "ringing":
                return await self.decline(user_id, sid, call_id)
            raise Forbidden("You are not in this call")
        if call["state"] == "ringing":
            return await self.cancel(user_id, sid, call_id)
        outcome = await self.state.transition(
            call_id, ("active",), {"state": "ended", "ended_at": now_iso(), "end_reason": reason}
        )
        self._refuse(outcome)
        await self._finish(call_id)
        await self._emit(
            "call:ended",
            {"call_id": call_id, "reason": reason, "user_id": user_id},
            self._members(call),
            skip_sid=sid,
        )
        return call_view(await self._call(call_id))

    async def socket_gone(self, user_id: str, sid: str) -> None:
        """A /signaling socket disconnected: its ringing call is cancelled, its
        active call ended (``reason: "disconnected"``)."""
        call_id = await self.state.engaged(sid)
        if call_id is None:
            return
        try:
            call = await self._call(call_id)
            if call["state"] == "ringing" and call["caller_sid"] == sid:
                await self.cancel(user_id, None, call_id)
            elif call["state"] == "active":
                await self.end(user_id, None, call_id, reason="disconnected")
        except (Conflict, Forbidden, NotFound):
            pass  # someone else changed it first

    async def _ring_timeout(self, call_id: str) -> None:
        self._ring_timers.pop(call_id, None)
        try:
            outcome = await self.state.transition(
                call_id,
                ("ringing",),
                {"state": "missed", "ended_at": now_iso(), "end_reason": "missed"},
            )
            if not outcome.ok:
                return
            call = await self._call(call_id)
            await self._finish(call_id)
            await self._emit("call:missed", {"call_id": call_id}, self._members(call))
        except Exception:
            log.exception("ring timeout of call %s failed", call_id)

    # Relay

    async def relay(
        self, user_id: str, sid: str | None, conn: str | None, request: Signal
    ) -> dict[str, Any]:
        """Relay one offer, answer or candidate to the peer's engaged socket.

        The sender is ``user_id`` (from the socket or the bearer token), never
        the payload. ``sid``/``conn`` are the sending socket and its connection,
        which must be the engaged ones (None for REST).
        """
        if request.sdp is not None and len(request.sdp.encode()) > MAX_SDP_BYTES:
            raise ValidationFailed.field("sdp", f"SDP is over {MAX_SDP_BYTES // 1024} KB")
        event: dict[str, Any] = {"type": request.type}
        if request.sdp is not None:
            event["sdp"] = request.sdp
        if request.candidate is not None:
            event["candidate"] = request.candidate.model_dump(exclude_none=True)
        if request.call_id is not None:
            call = await self._call(request.call_id)
            if call["state"] != "active" or user_id not in (call["caller_id"], call["answered_by"]):
                raise Forbidden("Signals go only between the members of an active call")
            mine, peer = (
                (call["caller_sid"], call["callee_sid"])
                if user_id == call["caller_id"]
                else (call["callee_sid"], call["caller_sid"])
            )
            if sid is not None and sid != mine:
                raise Forbidden("Only the device in the call can signal")
            await self._count(f"{call['id']}:{user_id}", request)
            await self.sio.emit(
                "signal",
                {"call_id": call["id"], "from_user_id": user_id, **event},
                to=peer,
                namespace=NAMESPACE,
            )
            return {}
        if self.networking is None:
            raise NotFound("No such session")
        peer_conn = await self.networking.signal_target(request.session_id, user_id, conn)  # type: ignore[arg-type]
        await self._count(f"{request.session_id}:{user_id}", request)
        # No from_user_id: the peer stays anonymous until both choose to connect.
        await self.sio.emit(
            "signal",
            {"session_id": request.session_id, **event},
            to=conn_room(peer_conn),
            namespace=NAMESPACE,
        )
        return {}

    async def _count(self, key: str, request: Signal) -> None:
        """At most ``signal_max_candidates`` candidates per side and negotiation
        (an offer or an answer starts a new one)."""
        if request.type != "candidate":
            await self.state.count(key, reset=True)
            return
        if await self.state.count(key, reset=False) > self.settings.signal_max_candidates:
            raise ValidationFailed.field(
                "candidate",
                f"At most {self.settings.signal_max_candidates} candidates per "
                "negotiation; send a new offer to restart ICE",
            )

    # Helpers

    async def _call(self, call_id: str) -> dict[str, Any]:
        call = await self.state.get(call_id)
        if call is None:
            raise NotFound("No such call")
        return call

    @staticmethod
    def _refuse(outcome: Outcome) -> None:
        if outcome.ok:
            return
        if outcome.reason == "missing":
            raise NotFound("No such call")
        if outcome.reason == "busy":
            raise Conflict("This device is already in another call")
        raise Conflict(f"The call is {outcome.state}")

    @staticmethod
    def _members(call: dict[str, Any]) -> list[str]:
        return [call["caller_id"], *call["callee_ids"]]

    def _stop_ringing(self, call_id: str) -> None:
        timer = self._ring_timers.pop(call_id, None)
        if timer is not None:
            timer.cancel()

    async def _finish(self, call_id: str) -> None:
        self._stop_ringing(call_id)
        call = await self.state.get(call_id)
        if call is not None:
            await self.state.release(call_id, [call["caller_sid"], call["callee_sid"]])
            await self.state.expire(call_id, FINISHED_CALL_TTL_S)

    async def _emit(
        self, event: str, data: Any, user_ids: Iterable[str], skip_sid: str | None = None
    ) -> None:
        rooms = [user_room(u) for u in dict.fromkeys(user_ids)]
        if rooms:
            await self.sio.emit(event, data, to=rooms, namespace=NAMESPACE, skip_sid=skip_sid)

    async def close(self) -> None:
        for timer in self._ring_timers.values():
            timer.cancel()
        self._ring_timers.clear()
