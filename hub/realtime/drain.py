"""Graceful shutdown: refuse new events, let acks in flight finish, then close."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


class Drain:
    """Counts client events being handled so shutdown can wait for their acks."""

    def __init__(self) -> None:
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    async def start(self, timeout_s: float) -> None:
        """Stop taking events and wait (bounded) until none is in flight."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            log.warning(
                "shutdown: %d events still in flight after %.1fs", self._in_flight, timeout_s
            )
