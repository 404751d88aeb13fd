"""Who is behind each Engine.IO connection, and when their token runs out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

ExpiryCallback = Callable[[str, dict[str, str]], Awaitable[None]]


@dataclass(slots=True)
class Connection:
    user_id: str
    expires_at: float
    sids: dict[str, str] = field(default_factory=dict)  # namespace -> sid
    timer: asyncio.TimerHandle | None = None


class ConnectionRegistry:
    """One record per client connection (Engine.IO session), shared by every
    namespace it opens, so that ``auth:refresh`` on any namespace extends all."""

    def __init__(self, on_expiry: ExpiryCallback) -> None:
        self._connections: dict[str, Connection] = {}
        self._on_expiry = on_expiry

    def get(self, eio_sid: str) -> Connection | None:
        return self._connections.get(eio_sid)

    def attach(self, eio_sid: str, namespace: str, sid: str, user_id: str, expires_at: float) -> None:
        connection = self._connections.get(eio_sid)
        if connection is None:
            connection = self._connections[eio_sid] = Connection(user_id, expires_at)
        connection.sids[namespace] = sid
        self.extend(eio_sid, expires_at)

    def detach(self, eio_sid: str, namespace: str) -> None:
        connection = self._connections.get(eio_sid)
        if connection is None:
            return
        connection.sids.pop(namespace, None)
        if not connection.sids:
            if connection.timer:
                connection.timer.cancel()
            del self._connections[eio_sid]

    def extend(self, eio_sid: str, expires_at: float) -> None:
        """Move the connection's deadline to a newer token's expiry."""
        connection = self._connections[eio_sid]
        if connection.timer and expires_at < connection.expires_at:
            return
        connection.expires_at = expires_at
        if connection.timer:
            connection.timer.cancel()
        delay = max(0.0, expires_at - time.time())
        connection.timer = asyncio.get_running_loop().call_later(
            delay, lambda: asyncio.ensure_future(self._expire(eio_sid))
        )

    async def _expire(self, eio_sid: str) -> None:
        connection = self._connections.get(eio_sid)
        if connection is not None and connection.expires_at <= time.time():
            await self._on_expiry(eio_sid, dict(connection.sids))
