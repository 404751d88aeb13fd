"""Where call state lives: the ``CallState`` port, and its in-memory adapter
(``hub.cluster.call_state.RedisCallState`` shares it between processes).

A call is a flat ``CallRecord``. Every state change is a ``transition``: it applies only from the
allowed states, atomically, so of two devices accepting at once (on one process
or two) exactly one wins. A socket is *engaged* in at most one call at a time
(one active call per device): the caller's socket from the invite, the accepting
socket from the accept, until the call ends.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, Protocol, TypedDict

from .models import CallStatus

MAX_MEMORY_COUNTERS = 10_000


class CallRecord(TypedDict):
    """A call as the state keeps it: the ``Call`` the members see, plus the
    engaged sockets (``caller_sid`` from the invite, ``callee_sid`` from the accept)."""

    id: str
    conversation_id: str
    caller_id: str
    callee_ids: list[str]
    media: Literal["audio", "video"]
    state: CallStatus
    created_at: str
    caller_sid: str
    callee_sid: str | None
    answered_by: str | None
    answered_at: str | None
    ended_at: str | None
    end_reason: str | None


class CallChanges(TypedDict, total=False):
    """The fields a transition sets."""

    state: CallStatus
    callee_sid: str | None
    answered_by: str | None
    answered_at: str | None
    ended_at: str | None
    end_reason: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a transition did: ``ok``, or why not (``missing``, ``state``, ``busy``)."""

    ok: bool
    reason: str = ""
    state: str = ""  # the state found, when ``reason == "state"``


class CallState(Protocol):
    async def create(self, call: CallRecord) -> bool:
        """Store a new call and engage its caller's socket; False if that socket
        is engaged already."""

    async def get(self, call_id: str) -> CallRecord | None: ...

    async def transition(
        self,
        call_id: str,
        allowed: tuple[str, ...],
        changes: CallChanges,
        engage_sid: str | None = None,
    ) -> Outcome:
        """Apply ``changes`` if the call is in one of ``allowed``; with ``engage_sid``,
        also engage that socket (``busy`` if it is engaged in another call)."""

    async def release(self, call_id: str, sids: list[str]) -> None:
        """Free the sockets that are engaged in this call."""

    async def engaged(self, sid: str) -> str | None:
        """The call a socket is engaged in."""

    async def decline(self, call_id: str, user_id: str) -> int:
        """Record a callee's decline; how many distinct callees have declined."""

    async def count(self, key: str, reset: bool) -> int:
        """A per-negotiation counter: reset to 0 (``reset``) or incremented."""

    async def expire(self, call_id: str, after_s: float) -> None:
        """Forget a finished call after a while (late lookups still find it)."""


class MemoryCallState:
    """Calls of a single process. Nothing here awaits, so each method is atomic."""

    def __init__(self) -> None:
        self._calls: dict[str, CallRecord] = {}
        self._engaged: dict[str, str] = {}
        self._declined: dict[str, set[str]] = {}
        self._counts: OrderedDict[str, int] = OrderedDict()  # bounded: oldest dropped

    async def create(self, call: CallRecord) -> bool:
        sid = call["caller_sid"]
        if sid in self._engaged:
            return False
        self._engaged[sid] = call["id"]
        self._calls[call["id"]] = call.copy()
        return True

    async def get(self, call_id: str) -> CallRecord | None:
        call = self._calls.get(call_id)
        return call.copy() if call is not None else None

    async def transition(
        self,
        call_id: str,
        allowed: tuple[str, ...],
        changes: CallChanges,
        engage_sid: str | None = None,
    ) -> Outcome:
        call = self._calls.get(call_id)
        if call is None:
            return Outcome(False, "missing")
        if call["state"] not in allowed:
            return Outcome(False, "state", call["state"])
        if engage_sid is not None:
            current = self._engaged.get(engage_sid)
            if current is not None and current != call_id:
                return Outcome(False, "busy")
            self._engaged[engage_sid] = call_id
        # CallChanges' keys are a subset of CallRecord's; mypy only takes a
        # TypedDict that declares every key as update's argument.
        call.update(changes)  # type: ignore[typeddict-item]
        return Outcome(True)

    async def release(self, call_id: str, sids: list[str]) -> None:
        for sid in sids:
            if sid and self._engaged.get(sid) == call_id:
                del self._engaged[sid]
        self._declined.pop(call_id, None)
        for key in [k for k in self._counts if k.startswith(call_id + ":")]:
            del self._counts[key]

    async def engaged(self, sid: str) -> str | None:
        return self._engaged.get(sid)

    async def decline(self, call_id: str, user_id: str) -> int:
        declined = self._declined.setdefault(call_id, set())
        declined.add(user_id)
        return len(declined)

    async def count(self, key: str, reset: bool) -> int:
        self._counts[key] = 0 if reset else self._counts.get(key, 0) + 1
        self._counts.move_to_end(key)
        if len(self._counts) > MAX_MEMORY_COUNTERS:
            self._counts.popitem(last=False)
        return self._counts[key]

    async def expire(self, call_id: str, after_s: float) -> None:
        asyncio.get_running_loop().call_later(after_s, self._calls.pop, call_id, None)
