"""The Redis adapter of ``LobbyQueues``: lobby membership and waiting queues
shared by every hub process (the keys are listed in docs/video.md)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import cast

from redis.asyncio import Redis

from ..networking.queues import PRIORITY_OFFSET, Member, pair_key
from .redis import text_of

# KEYS: member hash, lobby members set. ARGV: lobby, user, sid, conn.
_JOIN = """
local current = redis.call('HGET', KEYS[1], 'lobby')
if current and current ~= ARGV[1] then return current end
redis.call('HSET', KEYS[1], 'lobby', ARGV[1], 'sid', ARGV[3], 'conn', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[2])
return ''
"""

# KEYS: member hash. ARGV: user, prefix, sid that must own the membership ('' = any).
_LEAVE = """
local lobby = redis.call('HGET', KEYS[1], 'lobby')
if not lobby then return false end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'sid') ~= ARGV[3] then return false end
local member = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[2] .. 'queue:' .. lobby, ARGV[1])
redis.call('SREM', ARGV[2] .. 'members:' .. lobby, ARGV[1])
return member
"""

# KEYS: member hash, queue, sequence, lobbies-with-queues set. ARGV: lobby, user, priority.
_ENQUEUE = """
if redis.call('HGET', KEYS[1], 'lobby') ~= ARGV[1] then return 0 end
if redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 1 end
local score = redis.call('INCR', KEYS[3])
if ARGV[3] == '1' then score = score - tonumber(ARGV[4]) end
redis.call('ZADD', KEYS[2], score, ARGV[2])
redis.call('SADD', KEYS[4], ARGV[1])
return 1
"""

# KEYS: queue, met set. ARGV: a, b, pair key.
_CLAIM = """
if ARGV[1] == ARGV[2] then return 0 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) or not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  return 0
end
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""

# KEYS: lobby members set, queue, lobbies set. ARGV: lobby, prefix.
_CLOSE = """
local members = redis.call('SMEMBERS', KEYS[1])
for _, user in ipairs(members) do
  local key = ARGV[2] .. 'member:' .. user
  if redis.call('HGET', key, 'lobby') == ARGV[1] then redis.call('DEL', key) end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return members
"""


# KEYS: lock. ARGV: token.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLobbyQueues:
    """Queues shared by every process: a sorted set per lobby, a hash per member."""

    def __init__(self, redis: Redis, prefix: str = "hub:networking:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._join = redis.register_script(_JOIN)
        self._leave = redis.register_script(_LEAVE)
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._close = redis.register_script(_CLOSE)
        self._unlock = redis.register_script(_UNLOCK)

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self.prefix}{kind}:{name}" if name else f"{self.prefix}{kind}"

    async def join(self, member: Member) -> str | None:
        result = await self._join(
            keys=[self._key("member", member.user_id), self._key("members", member.lobby_id)],
            args=[member.lobby_id, member.user_id, member.sid, member.conn],
        )
        return result.decode() if result else None

    async def member(self, user_id: str) -> Member | None:
        raw = await self.redis.hgetall(self._key("member", user_id))
        return self._member(user_id, raw) if raw else None

    async def leave(self, user_id: str, sid: str | None = None) -> Member | None:
        result = await self._leave(
            keys=[self._key("member", user_id)], args=[user_id, self.prefix, sid or ""]
        )
        if not result:
            return None
        return self._member(user_id, dict(zip(result[::2], result[1::2], strict=False)))

    async def enqueue(self, lobby_id: str, user_id: str, priority: bool = False) -> bool:
        keys = [
            self._key("member", user_id),
            self._key("queue", lobby_id),
            self._key("seq"),
            self._key("lobbies"),
        ]
        return bool(
            await self._enqueue(keys=keys, args=[lobby_id, user_id, int(priority), PRIORITY_OFFSET])
        )

    async def waiting(self, lobby_id: str) -> list[str]:
        # Without withscores, zrange answers the members alone.
        users = cast(list[bytes], await self.redis.zrange(self._key("queue", lobby_id), 0, -1))
        return [text_of(user) for user in users]

    async def claim(self, lobby_id: str, a: str, b: str) -> bool:
        return bool(
            await self._claim(
                keys=[self._key("queue", lobby_id), self._key("met", lobby_id)],
                args=[a, b, pair_key(a, b)],
            )
        )

    async def met(self, lobby_id: str) -> set[str]:
        return {text_of(key) for key in await self.redis.smembers(self._key("met", lobby_id))}

    async def lobbies(self) -> list[str]:
        found = []
        for lobby in await self.redis.smembers(self._key("lobbies")):
            lobby_id = text_of(lobby)
            if await self.redis.zcard(self._key("queue", lobby_id)):
                found.append(lobby_id)
        return found

    async def close(self, lobby_id: str) -> list[str]:
        gone = await self._close(
            keys=[
                self._key("members", lobby_id),
                self._key("queue", lobby_id),
                self._key("lobbies"),
            ],
            args=[lobby_id, self.prefix],
        )
        return [user.decode() for user in gone]

    async def lock(self, lobby_id: str, ttl_s: float) -> str | None:
        token = secrets.token_hex(8)
        taken = await self.redis.set(
            self._key("lock", lobby_id), token, nx=True, px=int(ttl_s * 1000)
        )
        return token if taken else None

    async def unlock(self, lobby_id: str, token: str) -> None:
        await self._unlock(keys=[self._key("lock", lobby_id)], args=[token])

    @staticmethod
    def _member(user_id: str, raw: Mapping[bytes | str, bytes | str]) -> Member:
        values = {text_of(key): text_of(value) for key, value in raw.items()}
        return Member(values["lobby"], user_id, values["sid"], values["conn"])
