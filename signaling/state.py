"""Where call state lives: process memory, or Redis when several processes share it.

A call is a flat dict (``id, conversation_id, caller_id, callee_ids, media, state,
created_at, caller_sid, callee_sid, answered_by, answered_at, ended_at,
end_reason``). Every state change is a ``transition``: it applies only from the
allowed states, atomically, so of two devices accepting at once (on one process
or two) exactly one wins. A socket is *engaged* in at most one call at a time
(one active call per device): the caller's socket from the invite, the accepting
socket from the accept, until the call ends.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

CALL_TTL_S = 24 * 3600  # Redis keys outlive any call; they are deleted when it ends
MAX_MEMORY_COUNTERS = 10_000


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a transition did: ``ok``, or why not (``missing``, ``state``, ``busy``)."""

    ok: bool
    reason: str = ""
    state: str = ""  # the state found, when ``reason == "state"``


class CallState(Protocol):
    async def create(self, call: dict[str, Any]) -> bool:
        """Store a new call and engage its caller's socket; False if that socket
        is engaged already."""

    async def get(self, call_id: str) -> dict[str, Any] | None: ...

    async def transition(
        self,
        call_id: str,
        allowed: tuple[str, ...],
        changes: dict[str, Any],
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
        self._calls: dict[str, dict[str, Any]] = {}
        self._engaged: dict[str, str] = {}
        self._declined: dict[str, set[str]] = {}
        self._counts: OrderedDict[str, int] = OrderedDict()  # bounded: oldest dropped

    async def create(self, call: dict[str, Any]) -> bool:
        sid = call["caller_sid"]
        if sid in self._engaged:
            return False
        self._engaged[sid] = call["id"]
        self._calls[call["id"]] = dict(call)
        return True

    async def get(self, call_id: str) -> dict[str, Any] | None:
        call = self._calls.get(call_id)
        return dict(call) if call is not None else None

    async def transition(
        self,
        call_id: str,
        allowed: tuple[str, ...],
        changes: dict[str, Any],
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
        call.update(changes)
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


# KEYS: call hash, caller engagement. ARGV: ttl, call id, field/value pairs.
_CREATE = """
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

# KEYS: call hash [, engagement to claim]. ARGV: allowed states (" a b "), ttl,
# field/value pairs (values JSON-encoded, so the state is '"ringing"').
_TRANSITION = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local state = cjson.decode(redis.call('HGET', KEYS[1], 'state'))
if not string.find(ARGV[1], ' ' .. state .. ' ', 1, true) then return {'state', state} end
local id = redis.call('HGET', KEYS[1], 'id')
if KEYS[2] then
  local current = redis.call('GET', KEYS[2])
  if current and current ~= cjson.decode(id) then return {'busy'} end
  redis.call('SET', KEYS[2], cjson.decode(id), 'EX', ARGV[2])
end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {'ok'}
"""

# KEYS: engagements. ARGV: call id. Deletes those still pointing at this call.
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
"""


class RedisCallState:
    """Calls shared by every process: one hash per call, one key per engaged socket."""

    def __init__(self, redis: Redis, prefix: str = "hub:call:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._create = redis.register_script(_CREATE)
        self._transition = redis.register_script(_TRANSITION)
        self._release = redis.register_script(_RELEASE)

    def _call(self, call_id: str) -> str:
        return f"{self.prefix}{call_id}"

    def _sid(self, sid: str) -> str:
        return f"{self.prefix}sid:{sid}"

    @staticmethod
    def _pairs(values: dict[str, Any]) -> list[str]:
        pairs: list[str] = []
        for name, value in values.items():
            pairs += [name, json.dumps(value)]
        return pairs

    async def create(self, call: dict[str, Any]) -> bool:
        keys = [self._call(call["id"]), self._sid(call["caller_sid"])]
        return bool(
            await self._create(keys=keys, args=[CALL_TTL_S, call["id"], *self._pairs(call)])
        )

    async def get(self, call_id: str) -> dict[str, Any] | None:
        raw = await self.redis.hgetall(self._call(call_id))
        if not raw:
            return None
        return {name.decode(): json.loads(value) for name, value in raw.items()}

    async def transition(
        self,
        call_id: str,
        allowed: tuple[str, ...],
        changes: dict[str, Any],
        engage_sid: str | None = None,
    ) -> Outcome:
        keys = [self._call(call_id)] + ([self._sid(engage_sid)] if engage_sid else [])
        result = await self._transition(
            keys=keys, args=[" " + " ".join(allowed) + " ", CALL_TTL_S, *self._pairs(changes)]
        )
        kind = result[0].decode()
        if kind == "ok":
            return Outcome(True)
        return Outcome(False, kind, result[1].decode() if len(result) > 1 else "")

    async def release(self, call_id: str, sids: list[str]) -> None:
        keys = [self._sid(sid) for sid in sids if sid]
        if keys:
            await self._release(keys=keys, args=[call_id])
        await self.redis.delete(f"{self.prefix}{call_id}:declined")

    async def engaged(self, sid: str) -> str | None:
        value = await self.redis.get(self._sid(sid))
        return value.decode() if value else None

    async def decline(self, call_id: str, user_id: str) -> int:
        key = f"{self.prefix}{call_id}:declined"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, user_id).expire(key, CALL_TTL_S).scard(key)
            _, _, count = await pipe.execute()
        return int(count)

    async def expire(self, call_id: str, after_s: float) -> None:
        await self.redis.expire(self._call(call_id), max(1, int(after_s)))

    async def count(self, key: str, reset: bool) -> int:
        full = f"{self.prefix}count:{key}"
        if reset:
            await self.redis.set(full, 0, ex=CALL_TTL_S)
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(full).expire(full, CALL_TTL_S)
            value, _ = await pipe.execute()
        return int(value)
