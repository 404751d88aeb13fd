"""Where presence lives: the ``PresenceBackend`` port, and its in-memory
adapter for one process (``hub.cluster.presence.RedisPresence`` shares it between
processes).

A user is online while any of their /presence sockets is connected anywhere.
When the last one goes, they stay online for a grace period (a page reload
must not flap) and are then marked offline by whichever process sweeps first.
"""

from __future__ import annotations

import time
from typing import Protocol

from ..clock import iso, utc_now

ONLINE = "online"
OFFLINE = "offline"


class BackendUnavailable(Exception):
    """The shared presence state cannot be reached (raised by ``set_status``
    and ``statuses``, which a caller waits on)."""


class PresenceBackend(Protocol):
    async def connected(self, user_id: str, conn_id: str) -> bool:
        """Record a socket; True when the user was offline until now."""

    async def disconnected(self, user_id: str, conn_id: str, grace_s: float) -> None:
        """Forget a socket; with none left, the user goes offline after ``grace_s``."""

    async def set_status(self, user_id: str, status: str) -> bool:
        """Change an online user's status; True if it changed."""

    async def statuses(self, user_ids: list[str]) -> dict[str, str]:
        """``user_id -> status``; users never seen are offline."""

    async def sockets(self, user_id: str) -> list[str]:
        """The sids of the user's /presence sockets, on every process."""

    async def sweep(self) -> list[tuple[str, str]]:
        """Mark offline whoever's grace ran out; return ``(user_id, last_seen_at)``."""

    async def heartbeat(self) -> None:
        """Say this process is alive, and release the sockets of dead processes."""

    async def leave(self) -> None:
        """This process is shutting down cleanly."""


class MemoryPresence:
    """Presence for a single process."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[str]] = {}
        self._status: dict[str, str] = {}
        self._offline_due: dict[str, float] = {}

    async def connected(self, user_id: str, conn_id: str) -> bool:
        self._sockets.setdefault(user_id, set()).add(conn_id)
        self._offline_due.pop(user_id, None)
        if user_id in self._status:
            return False
        self._status[user_id] = ONLINE
        return True

    async def disconnected(self, user_id: str, conn_id: str, grace_s: float) -> None:
        sockets = self._sockets.get(user_id, set())
        sockets.discard(conn_id)
        if not sockets:
            self._sockets.pop(user_id, None)
            self._offline_due[user_id] = time.monotonic() + grace_s

    async def set_status(self, user_id: str, status: str) -> bool:
        if self._status.get(user_id) in (None, status):
            return False
        self._status[user_id] = status
        return True

    async def statuses(self, user_ids: list[str]) -> dict[str, str]:
        return {uid: self._status.get(uid, OFFLINE) for uid in user_ids}

    async def sockets(self, user_id: str) -> list[str]:
        return sorted(self._sockets.get(user_id, ()))

    async def sweep(self) -> list[tuple[str, str]]:
        now, seen = time.monotonic(), iso(utc_now())
        gone = [uid for uid, due in self._offline_due.items() if due <= now]
        for user_id in gone:
            del self._offline_due[user_id]
            self._status.pop(user_id, None)
        return [(user_id, seen) for user_id in gone]

    async def heartbeat(self) -> None:
        pass

    async def leave(self) -> None:
        pass
