"""Readiness: whether what the hub depends on (the store, Redis) answers now."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from pydantic import BaseModel

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 1.0
Probe = Callable[[], Awaitable[object]]


class Liveness(BaseModel):
    status: Literal["ok"]


class ReadinessReport(BaseModel):
    """200 when every check is ok, 503 (the same body) when one is not."""

    status: Literal["ok", "degraded"]
    checks: dict[str, Literal["ok", "unavailable"]]


class Readiness:
    """Runs each probe (named: "storage", "redis"), each within a second."""

    def __init__(self, probes: Mapping[str, Probe]) -> None:
        self.probes = dict(probes)

    async def report(self) -> ReadinessReport:
        """``"ok"`` or ``"unavailable"`` per dependency, and whether all are ok."""
        states = await asyncio.gather(
            *(self._check(name, probe) for name, probe in self.probes.items())
        )
        checks = dict(zip(self.probes, states, strict=True))
        ready = all(state == "ok" for state in checks.values())
        return ReadinessReport(status="ok" if ready else "degraded", checks=checks)

    @staticmethod
    async def _check(name: str, probe: Probe) -> Literal["ok", "unavailable"]:
        try:
            await asyncio.wait_for(probe(), PROBE_TIMEOUT_S)
        except Exception as exc:  # any failure means not ready, whatever the engine
            log.warning("%s not ready: %s", name, exc)
            return "unavailable"
        return "ok"
