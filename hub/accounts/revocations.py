"""How a session revocation reaches sockets (the port): every process holding
sockets of a revoked session drops them. One process needs no more than
LocalRevocations; several use the Redis adapter (hub/cluster/revocations.py).

The store is the source of truth (REST and new socket connects read it); this
only tells each process to drop the sockets it holds for revoked sessions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

# Drops this process's sockets of the given sessions.
DisconnectSessions = Callable[[list[str]], Awaitable[None]]


class Revocations(Protocol):
    async def announce(self, session_ids: list[str]) -> None:
        """Have every process (this one included) drop the sockets of these
        already revoked sessions."""

    async def start(self, disconnect: DisconnectSessions) -> None:
        """From now on, revocations are handed to ``disconnect``."""

    async def stop(self) -> None: ...


class LocalRevocations:
    """One process: its own sockets are all there is."""

    def __init__(self) -> None:
        self._disconnect: DisconnectSessions | None = None

    async def announce(self, session_ids: list[str]) -> None:
        if self._disconnect is not None and session_ids:
            await self._disconnect(session_ids)

    async def start(self, disconnect: DisconnectSessions) -> None:
        self._disconnect = disconnect

    async def stop(self) -> None:
        self._disconnect = None
