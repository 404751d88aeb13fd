"""What broken and hostile clients do, counted and logged within bounds.

Every fault is counted in /metrics (``hub_client_faults_total{kind}``) and
logged as one WARNING line without a traceback: at most a few lines per peer
per minute, and a cap for all peers together, so that a client sending ten
thousand malformed packets costs a handful of log lines, not megabytes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..ratelimit import Limit, MemoryRateLimiter

log = logging.getLogger(__name__)

# The metric's label values: a fixed set, so clients cannot grow the series.
KINDS = frozenset(
    {
        "malformed_packet",  # a Socket.IO packet whose header cannot be parsed
        "malformed_frame",  # an Engine.IO frame that is not a packet at all
        "invalid_event",  # an event the hub refuses before any handler: name, shape, JSON, Unicode
        "binary_payload",  # binary attachments: no hub event takes them
        "unexpected_packet",  # an ack or packet type a client never sends the hub
        "not_connected",  # an event for a namespace the socket did not connect
        "slow_consumer",  # a client that stopped reading, disconnected
        "payload_too_large",  # a long-polling POST over the payload limit
    }
)
PER_PEER = Limit(5, 60.0)
ALL_PEERS = Limit(60, 60.0)


class ClientFaults:
    """Counts faults by kind and logs them, rate-limited per peer and in total."""

    def __init__(
        self, counter: Any, per_peer: Limit = PER_PEER, all_peers: Limit = ALL_PEERS
    ) -> None:
        self._counter = counter
        self._per_peer = per_peer
        self._all_peers = all_peers
        self._limiter = MemoryRateLimiter(max_keys=10_000)
        self._suppressed = 0
        self._suppressed_since = time.monotonic()

    def report(self, peer: str, kind: str, detail: str) -> None:
        """Record one fault of ``kind`` (one of KINDS) by the client at ``peer``."""
        self._counter.labels(kind).inc()
        if (
            self._limiter.hit_now(f"peer:{peer}", self._per_peer).allowed
            and self._limiter.hit_now("all", self._all_peers).allowed
        ):
            self._log_suppressed()
            log.warning(
                "client fault: %s",
                kind,
                extra={"fields": {"peer": peer, "kind": kind, "detail": detail[:200]}},
            )
        else:
            self._suppressed += 1

    def _log_suppressed(self) -> None:
        if self._suppressed:
            log.warning(
                "client faults: %d more lines suppressed in %.0f s",
                self._suppressed,
                time.monotonic() - self._suppressed_since,
            )
        self._suppressed = 0
        self._suppressed_since = time.monotonic()
