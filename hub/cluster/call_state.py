"""The Redis adapter of ``CallState``: calls shared by every hub process, each
transition one Lua script (state check, engagement claim, update)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from redis.asyncio import Redis

from signaling.state import CallChanges, CallRecord, Outcome

from .redis import text_of

CALL_TTL_S = 24 * 3600  # Redis keys outlive any call; they are deleted when it ends

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

    def _declined(self, call_id: str) -> str:
        return f"{self.prefix}{call_id}:declined"

    @staticmethod
    def _pairs(values: Mapping[str, Any]) -> list[str]:
        pairs: list[str] = []
        for name, value in values.items():
            pairs += [name, json.dumps(value)]
        return pairs

    async def create(self, call: CallRecord) -> bool:
        keys = [self._call(call["id"]), self._sid(call["caller_sid"])]
        return bool(
            await self._create(keys=keys, args=[CALL_TTL_S, call["id"], *self._pairs(call)])
        )

    async def get(self, call_id: str) -> CallRecord | None:
        raw = await self.redis.hgetall(self._call(call_id))
        if not raw:
            return None
        # The hash holds exactly what create and transition wrote from a CallRecord.
        return cast(CallRecord, {text_of(name): json.loads(value) for name, value in raw.items()})

    async def transition(
        self,
        call_id: str,
        allowed: tuple[str, ...],
        changes: CallChanges,
        engage_sid: str | None = None,
    ) -> Outcome:
        keys = [self._call(call_id)] + ([self._sid(engage_sid)] if engage_sid else [])
        result = await self._transition(
            keys=keys, args=[" " + " ".join(allowed) + " ", CALL_TTL_S, *self._pairs(changes)]
        )
        kind = text_of(result[0])
        if kind == "ok":
            return Outcome(True)
        return Outcome(False, kind, text_of(result[1]) if len(result) > 1 else "")

    async def release(self, call_id: str, sids: list[str]) -> None:
        keys = [self._sid(sid) for sid in sids if sid]
        if keys:
            await self._release(keys=keys, args=[call_id])
        await self.redis.delete(self._declined(call_id))

    async def engaged(self, sid: str) -> str | None:
        value = await self.redis.get(self._sid(sid))
        return text_of(value) if value else None

    async def decline(self, call_id: str, user_id: str) -> int:
        key = self._declined(call_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, user_id)
            pipe.expire(key, CALL_TTL_S)
            pipe.scard(key)
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
            pipe.incr(full)
            pipe.expire(full, CALL_TTL_S)
            value, _ = await pipe.execute()
        return int(value)
