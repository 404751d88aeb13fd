"""Lobby membership and waiting queues: process memory, or Redis for many processes.

Who is in which lobby (and from which socket), who is waiting in what order, and
which pairs already met in a lobby. ``claim`` is the one step that makes matching
race-free: it takes two waiting users out of the queue only if both are still
waiting and have not met there, atomically (a Lua script on Redis), so two
processes planning matches from the same snapshot can never pair a user twice.

Queue order: first come first served, except that users queued ``priority``
(their peer left or did not show up) go before everyone else, in their own
arrival order.

This module is the port the service depends on, and its in-memory adapter; the
Redis adapter is ``hub.cluster.lobby_queues.RedisLobbyQueues``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
