"""Readiness: whether what the hub depends on (the store, Redis) answers now."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 1.0
Probe = Callable[[], Awaitable[object]]


class Readiness:
    """Runs each probe (named: "storage", "redis"), each within a second."""

    def __init__(self, probes: Mapping[str, Probe]) -> None:
        self.probes = dict(probes)

    async def checks(self) -> dict[str, str]:
        """``"ok"`` or ``"unavailable"`` per dependency."""
        states = await asyncio.gather(
            *(self._check(name, probe) for name, probe in self.probes.items())
        )
        return dict(zip(self.probes, states, strict=True))

    @staticmethod
    async def _check(name: str, probe: Probe) -> str:
        try:
            await asyncio.wait_for(probe(), PROBE_TIMEOUT_S)
        except Exception as exc:  # any failure means not ready, whatever the engine
            log.warning("%s not ready: %s", name, exc)
            return "unavailable"
        return "ok"
