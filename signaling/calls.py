"""Calls: the state machine behind ``call:*`` (docs/video.md, "Calls").

```
ringing ── accept ──► active ── end / a device disconnects ──► ended
   ├ decline (every callee) ► declined
   ├ cancel (caller)        ► cancelled
   └ ring timeout           ► missed
```

A call leaves a system message in its conversation (hub/conversations/
system_messages.py): ``ended`` with its duration once an answered call ends,
``missed`` when nobody answered before the caller gave up or the ring timed
out (the caller is its actor, so it is unread for the callees). A call every
callee declined leaves none: they answered it.

Call events go to per-user rooms (``user:<id>``), so every device of each
member hears them, on any process with the Redis manager. ``sid`` arguments are
/signaling socket ids; REST callers pass None.
"""

from __future__ import annotations

import asyncio
import logging

from hub.clock import new_id, now_iso, parse_iso
from hub.config import Settings
from hub.conversations.system_messages import SystemMessages
from hub.emitter import Emitter, UserEvents
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from storage import Store

from .ice import IceServerProvider
from .models import AcceptedCall, Call, CallInvite, CallStatus
from .state import CallChanges, CallRecord, CallState, Outcome

log = logging.getLogger(__name__)

NAMESPACE = "/signaling"
FINISHED_CALL_TTL_S = 300  # a finished call can still be looked up this long


def call_view(call: CallRecord) -> Call:
    return Call.model_validate(call)


def members(call: CallRecord) -> list[str]:
    return [call["caller_id"], *call["callee_ids"]]


class Calls:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        emitter: Emitter,
        state: CallState,
        ice: IceServerProvider,
        system_messages: SystemMessages,
    ) -> None:
        self.system_messages = system_messages
        self.settings = settings
        self.store = store
        self.events = UserEvents(emitter, NAMESPACE)
        self.state = state
        self.ice = ice
        self._ring_timers: dict[str, asyncio.TimerHandle] = {}

    async def get(self, call_id: str) -> CallRecord:
        call = await self.state.get(call_id)
        if call is None:
            raise NotFound("No such call")
        return call

    async def invite(self, user_id: str, sid: str, request: CallInvite) -> Call:
        """Ring every other participant not blocked with the caller; the
        inviting socket is engaged from now on."""
        callees = await self._callees(user_id, request.conversation_id)
        call: CallRecord = {
            "id": new_id(),
            "conversation_id": request.conversation_id,
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
        self._start_ringing(call["id"])
        view = call_view(call)
        for callee in callees:
            incoming = {"call": view.model_dump(), "ice_servers": self.ice.entries(callee)}
            await self.events.to_users("call:incoming", incoming, [callee])
        return view

    async def accept(self, user_id: str, sid: str, call_id: str) -> AcceptedCall:
        """Take the call on this socket (exactly one of racing devices wins)."""
        call = await self.get(call_id)
        if user_id not in call["callee_ids"]:
            raise Forbidden("Only a callee can accept this call")
        answered: CallChanges = {
            "state": "active",
            "answered_by": user_id,
            "callee_sid": sid,
            "answered_at": now_iso(),
        }
        outcome = await self.state.transition(call_id, ("ringing",), answered, engage_sid=sid)
        _refuse(outcome)
        self._stop_ringing(call_id)
        call = await self.get(call_id)
        others = [u for u in call["callee_ids"] if u != user_id]
        await self.events.to_users(
            "call:accepted",
            {"call_id": call_id, "user_id": user_id, "polite": False},
            [call["caller_id"], *others],
        )
        await self.events.to_users(
            "call:answered_elsewhere", {"call_id": call_id}, [user_id], skip_sid=sid
        )
        # Perfect negotiation: the callee is the polite peer, the caller is not.
        return AcceptedCall.model_validate({**call, "polite": True})

    async def decline(self, user_id: str, sid: str | None, call_id: str) -> Call:
        """A callee says no; the call is over once every callee declined."""
        call = await self.get(call_id)
        if user_id not in call["callee_ids"]:
            raise Forbidden("Only a callee can decline this call")
        if call["state"] != "ringing":
            raise Conflict(f"The call is {call['state']}")
        if await self.state.decline(call_id, user_id) >= len(call["callee_ids"]):
            _refuse(await self._conclude(call_id, "ringing", "declined", "declined"))
        await self.events.to_users(
            "call:declined", {"call_id": call_id, "user_id": user_id}, members(call), sid
        )
        return call_view(await self.get(call_id))

    async def cancel(self, user_id: str, sid: str | None, call_id: str) -> Call:
        call = await self.get(call_id)
        if user_id != call["caller_id"]:
            raise Forbidden("Only the caller can cancel this call")
        _refuse(await self._conclude(call_id, "ringing", "cancelled", "cancelled"))
        await self.events.to_users("call:cancelled", {"call_id": call_id}, members(call), sid)
        await self._missed_message(call)
        return call_view(await self.get(call_id))

    async def end(
        self, user_id: str, sid: str | None, call_id: str, reason: str = "hangup"
    ) -> Call:
        """Hang up an active call (a ringing one is cancelled or declined instead)."""
        call = await self.get(call_id)
        if user_id not in (call["caller_id"], call["answered_by"]):
            if user_id in call["callee_ids"] and call["state"] == "ringing":
                return await self.decline(user_id, sid, call_id)
            raise Forbidden("You are not in this call")
        if call["state"] == "ringing":
            return await self.cancel(user_id, sid, call_id)
        _refuse(await self._conclude(call_id, "active", "ended", reason))
        await self.events.to_users(
            "call:ended",
            {"call_id": call_id, "reason": reason, "user_id": user_id},
            members(call),
            sid,
        )
        ended = await self.get(call_id)
        await self._ended_message(ended, user_id)
        return call_view(ended)

    async def socket_gone(self, user_id: str, sid: str) -> None:
        """A /signaling socket disconnected: its ringing call is cancelled, its
        active call ended (``reason: "disconnected"``)."""
        call_id = await self.state.engaged(sid)
        if call_id is None:
            return
        try:
            call = await self.get(call_id)
            if call["state"] == "ringing" and call["caller_sid"] == sid:
                await self.cancel(user_id, None, call_id)
            elif call["state"] == "active":
                await self.end(user_id, None, call_id, reason="disconnected")
        except (Conflict, Forbidden, NotFound):
            pass  # someone else changed it first

    async def close(self) -> None:
        for timer in self._ring_timers.values():
            timer.cancel()
        self._ring_timers.clear()

    async def _missed_message(self, call: CallRecord) -> None:
        await self.system_messages.call(
            call["conversation_id"], call["caller_id"], call["id"], "missed", call["media"]
        )

    async def _ended_message(self, call: CallRecord, by_user_id: str) -> None:
        """From the answer to the hang-up, in whole seconds."""
        duration = 0
        if call["answered_at"] and call["ended_at"]:
            elapsed = parse_iso(call["ended_at"]) - parse_iso(call["answered_at"])
            duration = max(0, round(elapsed.total_seconds()))
        await self.system_messages.call(
            call["conversation_id"], by_user_id, call["id"], "ended", call["media"], duration
        )

    async def _callees(self, user_id: str, conversation_id: str) -> list[str]:
        """The conversation's other participants the caller may call."""
        conversation = await self.store.conversations.get(conversation_id)
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
        return callees

    async def _conclude(
        self, call_id: str, allowed: CallStatus, state: CallStatus, reason: str
    ) -> Outcome:
        """Move the call from ``allowed`` to a final ``state`` and free its sockets."""
        outcome = await self.state.transition(
            call_id, (allowed,), {"state": state, "ended_at": now_iso(), "end_reason": reason}
        )
        if outcome.ok:
            await self._finish(call_id)
        return outcome

    async def _finish(self, call_id: str) -> None:
        self._stop_ringing(call_id)
        call = await self.state.get(call_id)
        if call is not None:
            engaged = [sid for sid in (call["caller_sid"], call["callee_sid"]) if sid]
            await self.state.release(call_id, engaged)
            await self.state.expire(call_id, FINISHED_CALL_TTL_S)

    def _start_ringing(self, call_id: str) -> None:
        """The ring timer runs on this process; ``missed`` is a transition like
        any other, so it does nothing once the call was answered anywhere."""
        self._ring_timers[call_id] = asyncio.get_running_loop().call_later(
            self.settings.call_ring_timeout_s,
            lambda: asyncio.ensure_future(self._ring_timeout(call_id)),
        )

    def _stop_ringing(self, call_id: str) -> None:
        timer = self._ring_timers.pop(call_id, None)
        if timer is not None:
            timer.cancel()

    async def _ring_timeout(self, call_id: str) -> None:
        self._ring_timers.pop(call_id, None)
        try:
            if not (await self._conclude(call_id, "ringing", "missed", "missed")).ok:
                return
            call = await self.get(call_id)
            await self.events.to_users("call:missed", {"call_id": call_id}, members(call))
            await self._missed_message(call)
        except Exception:
            log.exception("ring timeout of call %s failed", call_id)


def _refuse(outcome: Outcome) -> None:
    """A transition that did not apply, as the error the caller gets."""
    if outcome.ok:
        return
    if outcome.reason == "missing":
        raise NotFound("No such call")
    if outcome.reason == "busy":
        raise Conflict("This device is already in another call")
    raise Conflict(f"The call is {outcome.state}")
