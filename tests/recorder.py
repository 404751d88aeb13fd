"""A socket.io client wrapper for tests: records server events, calls with acks."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import socketio


class Recorder:
    """Collects every server event a client receives on one namespace.

    ``events[name]`` holds the payloads of each event in arrival order, and
    ``stamps[name]`` the event loop time each one arrived at.
    """

    def __init__(self, client: socketio.AsyncClient, namespace: str = "/conversations") -> None:
        self.client = client
        self.namespace = namespace
        self.events: defaultdict[str, list[Any]] = defaultdict(list)
        self.stamps: defaultdict[str, list[float]] = defaultdict(list)
        self._changed = asyncio.Condition()
        client.on("*", self._record, namespace=namespace)

    async def _record(self, event: str, data: Any) -> None:
        async with self._changed:
            self.events[event].append(data)
            self.stamps[event].append(asyncio.get_running_loop().time())
            self._changed.notify_all()

    async def wait_for(self, event: str, count: int = 1, timeout: float = 5) -> list[Any]:
        """Wait (bounded) until ``count`` ``event``s have arrived; return all of them so far."""
        await self.until(lambda: len(self.events[event]) >= count, timeout)
        return self.events[event]

    async def until(self, predicate: Callable[[], bool], timeout: float = 5) -> None:
        """Wait (bounded) until ``predicate()`` holds, checking it as each event arrives."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def call(self, event: str, payload: Any) -> Any:
        """Emit ``event`` on this namespace and return the raw ack."""
        return await self.client.call(event, payload, namespace=self.namespace, timeout=10)

    async def ok(self, event: str, payload: Any) -> Any:
        """Call ``event``, assert the ack succeeded, and return its ``data``."""
        ack = await self.call(event, payload)
        assert ack["ok"] is True, (event, payload, ack)
        return ack["data"]

    async def error(self, event: str, payload: Any, code: str) -> dict[str, Any]:
        """Call ``event``, assert the ack failed with ``code``, and return its ``error``."""
        ack = await self.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, (event, payload, ack)
        return ack["error"]

    def clear(self) -> None:
        """Forget every event recorded so far."""
        self.events.clear()
        self.stamps.clear()
