"""The Redis adapter of ``PresenceBackend``: presence shared by every hub process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..clock import iso, utc_now
from ..presence.backends import OFFLINE, BackendUnavailable
from .redis import text_of

_CONNECT = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[2] .. '|' .. ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], 'online')
  return 1
end
return 0
"""

_DISCONNECT = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[2] .. '|' .. ARGV[1])
if redis.call('SCARD', KEYS[1]) == 0 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
return 0
"""

_SET_STATUS = """
local current = redis.call('GET', KEYS[1])
if not current or current == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

# ARGV: now_ms, unused, prefix. Returns the users who went offline.
_SWEEP = """
local gone = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 200)
for _, user in ipairs(due) do
  redis.call('ZREM', KEYS[1], user)
  if redis.call('SCARD', ARGV[3] .. 'sockets:' .. user) == 0 then
    if redis.call('DEL', ARGV[3] .. 'status:' .. user) == 1 then
      table.insert(gone, user)
    end
  end
end
return gone
"""

# KEYS: processes zset, pending zset. ARGV: now_ms, dead_before_ms, prefix.
_REAP = """
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
for _, process in ipairs(dead) do
  redis.call('ZREM', KEYS[1], process)
  local key = ARGV[3] .. 'process:' .. process
  for _, entry in ipairs(redis.call('SMEMBERS', key)) do
    local sep = string.find(entry, '|', 1, true)
    local user = string.sub(entry, 1, sep - 1)
    local sockets = ARGV[3] .. 'sockets:' .. user
    redis.call('SREM', sockets, string.sub(entry, sep + 1))
    if redis.call('SCARD', sockets) == 0 then
      redis.call('ZADD', KEYS[2], ARGV[1], user)
    end
  end
  redis.call('DEL', key)
end
return #dead
"""


class RedisPresence:
    """Presence shared by every process through Redis, with per-process
    heartbeats so the survivors release a dead process's sockets."""

    def __init__(
        self, redis: Redis, process_id: str, process_timeout_s: float, prefix: str = "hub:presence:"
    ) -> None:
        self.redis = redis
        self.process_id = process_id
        self.process_timeout_s = process_timeout_s
        self.prefix = prefix
        self._connect = redis.register_script(_CONNECT)
        self._disconnect = redis.register_script(_DISCONNECT)
        self._set_status = redis.register_script(_SET_STATUS)
        self._sweep = redis.register_script(_SWEEP)
        self._reap = redis.register_script(_REAP)

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self.prefix}{kind}:{name}" if name else f"{self.prefix}{kind}"

    async def connected(self, user_id: str, conn_id: str) -> bool:
        keys = [
            self._key("sockets", user_id),
            self._key("status", user_id),
            self._key("pending"),
            self._key("process", self.process_id),
        ]
        return bool(await self._connect(keys=keys, args=[self._conn(conn_id), user_id]))

    async def disconnected(self, user_id: str, conn_id: str, grace_s: float) -> None:
        due_ms = int((time.time() + grace_s) * 1000)
        keys = [
            self._key("sockets", user_id),
            self._key("pending"),
            self._key("process", self.process_id),
        ]
        await self._disconnect(keys=keys, args=[self._conn(conn_id), user_id, due_ms])

    async def set_status(self, user_id: str, status: str) -> bool:
        with _reachable():
            return bool(await self._set_status(keys=[self._key("status", user_id)], args=[status]))

    async def statuses(self, user_ids: list[str]) -> dict[str, str]:
        with _reachable():
            values = await self.redis.mget([self._key("status", uid) for uid in user_ids])
        return {
            uid: text_of(value) if value else OFFLINE
            for uid, value in zip(user_ids, values, strict=True)
        }

    async def sockets(self, user_id: str) -> list[str]:
        with _reachable():
            members = await self.redis.smembers(self._key("sockets", user_id))
        # Entries are "<process id>/<sid>"; a process id has no "/".
        return sorted(text_of(entry).split("/", 1)[1] for entry in members)

    async def sweep(self) -> list[tuple[str, str]]:
        seen = iso(utc_now())
        gone = await self._sweep(
            keys=[self._key("pending")], args=[int(time.time() * 1000), seen, self.prefix]
        )
        return [(text_of(user), seen) for user in gone]

    async def heartbeat(self) -> None:
        now_ms = int(time.time() * 1000)
        await self.redis.zadd(self._key("processes"), {self.process_id: now_ms})
        dead_before = now_ms - int(self.process_timeout_s * 1000)
        await self._reap(
            keys=[self._key("processes"), self._key("pending")],
            args=[now_ms, dead_before, self.prefix],
        )

    async def leave(self) -> None:
        await self.redis.zrem(self._key("processes"), self.process_id)
        await self.redis.delete(self._key("process", self.process_id))

    def _conn(self, conn_id: str) -> str:
        return f"{self.process_id}/{conn_id}"


@contextmanager
def _reachable() -> Iterator[None]:
    """Redis failures as the port's ``BackendUnavailable``."""
    try:
        yield
    except RedisError as exc:
        raise BackendUnavailable(str(exc)) from exc
