"""Token-bucket rate limits: in memory (one process) or in Redis (every process).

A ``Limit`` of ``"30/5s"`` is a bucket of 30 tokens refilled evenly over 5 s
(one token every 1/6 s); each hit takes a token and is refused when none is
left. Both limiters answer a ``Decision`` that the REST middleware turns into
``X-RateLimit-*`` headers and the socket dispatcher into a ``rate_limited`` ack.

This module depends on nothing else in the hub, so settings can validate limit
strings with ``Limit.parse`` at startup.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

log = logging.getLogger(__name__)

_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)\s*$", re.IGNORECASE)
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_CAPACITY = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Limit:
    """``capacity`` tokens, refilled evenly over ``period_s`` seconds."""

    capacity: int
    period_s: float

    def __post_init__(self) -> None:
        if not 1 <= self.capacity <= MAX_CAPACITY:
            raise ValueError(f"capacity must be 1..{MAX_CAPACITY}, not {self.capacity}")
        if not self.period_s >= 0.001:  # also refuses NaN
            raise ValueError(f"period must be at least 1 ms, not {self.period_s} s")

    @staticmethod
    @lru_cache(maxsize=256)
    def parse(text: str) -> Limit:
        """``"30/5s"``, ``"120/1m"``, ``"10/s"``, ``"5/500ms"``, ``"1000/1h"``.

        Raises ``ValueError`` with a readable message on anything else.
        """
        match = _LIMIT.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f"{text!r} is not a rate limit like '30/5s', '120/1m' or '10/s' "
                "(count/[number]unit, unit one of ms, s, m, h)"
            )
        count, amount, unit = match.groups()
        return Limit(int(count), float(amount or 1) * _UNIT_S[unit.lower()])

    @property
    def period_ms(self) -> int:
        return max(1, round(self.period_s * 1000))

    @property
    def tokens_per_s(self) -> float:
        return self.capacity / self.period_s

    def __str__(self) -> str:
        return f"{self.capacity}/{self.period_s:g}s"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit.

    ``remaining``: whole tokens left after this hit. ``retry_after_ms``: 0 when
    allowed, else the wait until the next token. ``reset_s``: seconds until the
    bucket is full again (the ``X-RateLimit-Reset`` delta). ``limit``: capacity.
    """

    allowed: bool
    remaining: int
    retry_after_ms: int
    reset_s: int
    limit: int

    @classmethod
    def fail_open(cls, limit: Limit) -> Decision:
        """What a limiter answers when it cannot decide: allow, as if untouched."""
        return cls(True, limit.capacity, 0, 0, limit.capacity)


Hit = tuple[str, Limit]  # (bucket key, its limit)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: Limit) -> Decision: ...

    async def hit_all(self, hits: list[Hit]) -> Decision:
        """Take a token from every bucket, or from none: allowed only when each
        has one (a refused hit costs nothing). The decision is the tightest."""


def _decision(allowed: bool, tokens: float, limit: Limit) -> Decision:
    """Shape a decision from the tokens left (after taking one if allowed)."""
    rate_per_ms = limit.tokens_per_s / 1000
    retry_after_ms = 0 if allowed else max(1, math.ceil((1 - tokens) / rate_per_ms))
    full_in_ms = math.ceil((limit.capacity - tokens) / rate_per_ms)
    return Decision(
        allowed,
        max(0, math.floor(tokens)),
        retry_after_ms,
        math.ceil(full_in_ms / 1000),
        limit.capacity,
    )


def _tightest(decisions: list[Decision]) -> Decision:
    """One decision for several buckets: the longest wait, the fewest tokens."""
    if len(decisions) == 1:
        return decisions[0]
    tightest = min(decisions, key=lambda d: (d.remaining, -d.retry_after_ms))
    return Decision(
        decisions[0].allowed,
        tightest.remaining,
        max(d.retry_after_ms for d in decisions),
        max(d.reset_s for d in decisions),
        tightest.limit,
    )


class MemoryRateLimiter:
    """Buckets in a dict: exact within one process, separate per process.

    Memory stays bounded two ways: every ``sweep_interval_s`` the buckets that
    have refilled completely are dropped (a missing bucket is a full one, so
    nothing changes for their keys), and beyond ``max_keys`` the least recently
    hit buckets are evicted (a safety valve against floods of distinct keys).
    """

    def __init__(
        self,
        max_keys: int = 100_000,
        sweep_interval_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self.sweep_interval_s = sweep_interval_s
        self._clock = clock
        # key -> [tokens, updated_at, full_at]; order = least recently hit first
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        self._next_sweep = clock() + sweep_interval_s

    def __len__(self) -> int:
        return len(self._buckets)

    async def hit(self, key: str, limit: Limit) -> Decision:
        return self.hit_all_now([(key, limit)])

    async def hit_all(self, hits: list[Hit]) -> Decision:
        return self.hit_all_now(hits)

    def hit_now(self, key: str, limit: Limit) -> Decision:
        return self.hit_all_now([(key, limit)])

    def hit_all_now(self, hits: list[Hit]) -> Decision:
        """The synchronous core (atomic under asyncio: no await inside)."""
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        levels = [self._tokens(key, limit, now) for key, limit in hits]
        allowed = all(tokens >= 1 for tokens in levels)
        decisions = []
        for (key, limit), tokens in zip(hits, levels, strict=True):
            if allowed:
                tokens -= 1
            self._store(key, tokens, now, now + (limit.capacity - tokens) / limit.tokens_per_s)
            decisions.append(_decision(allowed, tokens, limit))
        return _tightest(decisions)

    def _tokens(self, key: str, limit: Limit, now: float) -> float:
        """The bucket's tokens now (a missing bucket is a full one)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return float(limit.capacity)
        return min(
            float(limit.capacity), bucket[0] + max(0.0, now - bucket[1]) * limit.tokens_per_s
        )

    def _store(self, key: str, tokens: float, now: float, full_at: float) -> None:
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [tokens, now, full_at]
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket[0], bucket[1], bucket[2] = tokens, now, full_at

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.sweep_interval_s
        for key in [key for key, bucket in self._buckets.items() if bucket[2] <= now]:
            del self._buckets[key]


# Time comes from Redis's own clock (TIME) rather than from the caller: every
# hub process then refills a shared bucket against one clock, so a node whose
# clock runs ahead or behind can neither refill buckets early nor starve them.
# TIME is non-deterministic, which scripts may use since Redis 5 replicates
# scripts by their effects (the HSET/PEXPIRE below), not by re-running them.
#
# Each bucket is a hash {tokens, ts(ms)}; it expires once it would be full
# again, since a missing bucket reads as a full one, so idle keys cost Redis
# nothing. KEYS are the buckets, ARGV their capacity and period_ms in pairs; a
# token is taken from every bucket or, if one is empty, from none.
# Returns {allowed 0|1, fewest whole tokens left, retry_after_ms, ms until all full}.
_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local levels = {}
local allowed = 1
local retry_ms = 0
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local rate = capacity / tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = capacity
  elseif now > ts then
    tokens = math.min(capacity, tokens + (now - ts) * rate)
  else
    tokens = math.min(capacity, tokens)
  end
  if tokens < 1 then
    allowed = 0
    retry_ms = math.max(retry_ms, math.max(1, math.ceil((1 - tokens) / rate)))
  end
  levels[i] = tokens
end
local remaining = nil
local full_ms = 0
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local rate = capacity / tonumber(ARGV[2 * i])
  local tokens = levels[i]
  if allowed == 1 then
    tokens = tokens - 1
  end
  local bucket_full_ms = math.ceil((capacity - tokens) / rate)
  full_ms = math.max(full_ms, bucket_full_ms)
  if remaining == nil or tokens < remaining then
    remaining = tokens
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.max(1, bucket_full_ms))
end
return {allowed, math.floor(remaining), retry_ms, full_ms}
"""


class RedisRateLimiter:
    """Buckets in Redis, shared by every hub process using the same Redis.

    One atomic script per hit. When Redis fails the limiter fails open: the
    request is allowed, a warning is logged once per outage, and Redis is left
    alone for ``retry_after_error_s`` so a dead Redis costs requests nothing.
    """

    def __init__(self, redis: Any, prefix: str = "hub:", retry_after_error_s: float = 1.0) -> None:
        self._redis = redis
        self._script = redis.register_script(_SCRIPT)
        self._prefix = prefix
        self._retry_after_error_s = retry_after_error_s
        self._skip_until = 0.0
        self._failing = False

    async def hit(self, key: str, limit: Limit) -> Decision:
        return await self.hit_all([(key, limit)])

    async def hit_all(self, hits: list[Hit]) -> Decision:
        limit = min((limit for _, limit in hits), key=lambda limit: limit.capacity)
        if self._failing and time.monotonic() < self._skip_until:
            return Decision.fail_open(limit)
        try:
            allowed, remaining, retry_ms, full_ms = await self._script(
                keys=[self._prefix + key for key, _ in hits],
                args=[value for _, each in hits for value in (each.capacity, each.period_ms)],
            )
        except Exception as exc:  # any Redis, network or timeout error: never block traffic
            if not self._failing:
                log.warning("rate limits are not enforced while Redis fails: %s", exc)
            self._failing = True
            self._skip_until = time.monotonic() + self._retry_after_error_s
            return Decision.fail_open(limit)
        if self._failing:
            self._failing = False
            log.info("rate limits are enforced again: Redis answers")
        return Decision(
            bool(allowed),
            int(remaining),
            int(retry_ms),
            math.ceil(int(full_ms) / 1000),
            limit.capacity,
        )
