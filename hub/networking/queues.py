"""Lobby membership and waiting queues: process memory, or Redis for many processes.

Who is in which lobby (and from which socket), who is waiting in what order, and
which pairs already met in a lobby. ``claim`` is the one step that makes matching
race-free: it takes two waiting users out of the queue only if both are still
waiting and have not met there, atomically (a Lua script on Redis), so two
processes planning matches from the same snapshot can never pair a user twice.

Queue order: first come first served, except that users queued ``priority``
(their peer left or did not show up) go before everyone else, in their own
arrival order.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

PRIORITY_OFFSET = 10**12  # priority scores sit this far below every normal one


@dataclass(frozen=True, slots=True)
class Member:
    lobby_id: str
    user_id: str
    sid: str  # the /networking socket that joined
    conn: str  # its Engine.IO connection (where signals and session events go)


def pair_key(a: str, b: str) -> str:
    return "|".join(sorted((a, b)))


class LobbyQueues(Protocol):
    async def join(self, member: Member) -> str | None:
        """Make the user a member of the lobby (a re-join moves them to the new
        socket); returns the other lobby's id if they are a member of one."""

    async def member(self, user_id: str) -> Member | None: ...

    async def leave(self, user_id: str, sid: str | None = None) -> Member | None:
        """End the user's membership (only if it is ``sid``'s, when given) and
        take them out of the queue; the membership it ended."""

    async def enqueue(self, lobby_id: str, user_id: str, priority: bool = False) -> bool:
        """Queue a member of ``lobby_id`` (keeps their place if already queued);
        False if they are no longer a member of it."""

    async def waiting(self, lobby_id: str) -> list[str]:
        """The queue, first to be served first."""

    async def claim(self, lobby_id: str, a: str, b: str) -> bool: ...

    async def met(self, lobby_id: str) -> set[str]:
        """``pair_key``s of the pairs matched in this lobby so far."""

    async def lobbies(self) -> list[str]:
        """Lobbies with someone waiting."""

    async def close(self, lobby_id: str) -> list[str]:
        """Drop every member of a closed lobby; the users dropped."""

    async def lock(self, lobby_id: str, ttl_s: float) -> str | None:
        """Take the lobby's matching lock (a token), or None if another process
        holds it. Matching is correct without it (``claim`` is atomic); with it,
        one process plans at a time, so pairs start in queue order."""

    async def unlock(self, lobby_id: str, token: str) -> None: ...


class MemoryLobbyQueues:
    """Queues of a single process. Nothing here awaits, so each method is atomic."""

    def __init__(self) -> None:
        self._members: dict[str, Member] = {}
        self._queues: dict[str, dict[str, int]] = {}
        self._met: dict[str, set[str]] = {}
        self._seq = 0

    async def join(self, member: Member) -> str | None:
        current = self._members.get(member.user_id)
        if current is not None and current.lobby_id != member.lobby_id:
            return current.lobby_id
        self._members[member.user_id] = member
        return None

    async def member(self, user_id: str) -> Member | None:
        return self._members.get(user_id)

    async def leave(self, user_id: str, sid: str | None = None) -> Member | None:
        current = self._members.get(user_id)
        if current is None or (sid is not None and current.sid != sid):
            return None
        del self._members[user_id]
        self._queues.get(current.lobby_id, {}).pop(user_id, None)
        return current

    async def enqueue(self, lobby_id: str, user_id: str, priority: bool = False) -> bool:
        current = self._members.get(user_id)
        if current is None or current.lobby_id != lobby_id:
            return False
        queue = self._queues.setdefault(lobby_id, {})
        if user_id not in queue:
            self._seq += 1
            queue[user_id] = self._seq - (PRIORITY_OFFSET if priority else 0)
        return True

    async def waiting(self, lobby_id: str) -> list[str]:
        queue = self._queues.get(lobby_id, {})
        return sorted(queue, key=queue.__getitem__)

    async def claim(self, lobby_id: str, a: str, b: str) -> bool:
        queue = self._queues.get(lobby_id, {})
        met = self._met.setdefault(lobby_id, set())
        key = pair_key(a, b)
        if a == b or a not in queue or b not in queue or key in met:
            return False
        del queue[a], queue[b]
        met.add(key)
        return True

    async def met(self, lobby_id: str) -> set[str]:
        return set(self._met.get(lobby_id, set()))

    async def lobbies(self) -> list[str]:
        return [lobby_id for lobby_id, queue in self._queues.items() if queue]

    async def close(self, lobby_id: str) -> list[str]:
        gone = [uid for uid, m in self._members.items() if m.lobby_id == lobby_id]
        for user_id in gone:
            del self._members[user_id]
        self._queues.pop(lobby_id, None)
        return gone

    async def lock(self, lobby_id: str, ttl_s: float) -> str | None:
        return "local"  # one process: the service's own asyncio lock is enough

    async def unlock(self, lobby_id: str, token: str) -> None:
        pass


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
        return [
            user.decode() for user in await self.redis.zrange(self._key("queue", lobby_id), 0, -1)
        ]

    async def claim(self, lobby_id: str, a: str, b: str) -> bool:
        return bool(
            await self._claim(
                keys=[self._key("queue", lobby_id), self._key("met", lobby_id)],
                args=[a, b, pair_key(a, b)],
            )
        )

    async def met(self, lobby_id: str) -> set[str]:
        return {key.decode() for key in await self.redis.smembers(self._key("met", lobby_id))}

    async def lobbies(self) -> list[str]:
        found = []
        for lobby in await self.redis.smembers(self._key("lobbies")):
            lobby_id = lobby.decode()
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
    def _member(user_id: str, raw: dict[bytes, bytes]) -> Member:
        values = {key.decode(): value.decode() for key, value in raw.items()}
        return Member(values["lobby"], user_id, values["sid"], values["conn"])
