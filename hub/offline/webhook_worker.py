"""Drains the webhook outbox (issue 18; docs/integrators.md).

Per endpoint, in order of creation, one entry in flight: the worker claims an
endpoint's oldest pending entry with a lease in the store (a conditional
write), so with several processes each entry is sent by one at a time; a
process that dies mid-delivery leaves a lease that runs out, and the entry is
sent again (at least once: receivers dedup by ``X-Hub-Delivery``). Any answer
but 2xx, a redirect included (never followed), and any network error is
retried with exponential backoff and jitter until ``max_age_s`` after the
event, then the entry is marked failed and the endpoint's next one goes.

Nothing is kept forever: every ``prune_every_s`` (and at start) each process
deletes the delivery log's rows older than ``retention_s`` and the failed
entries whose event is that old, ``PRUNE_BATCH`` rows per statement so a
backlog never holds the SQLite writer for long. The conditions are the whole
rule (age, and ``failed`` for entries: pending ones never go), so several
processes pruning at once only find each other's rows gone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp

from storage import Store
from storage.records import WebhookDeliveryRecord, WebhookEndpointRecord, WebhookOutboxRecord

from ..clock import iso, new_id, parse_iso, utc_now
from ..payments.signing import SIGNATURE_HEADER, sign
from ..pruning import Prune, prune_in_batches
from .webhook_urls import UnsafeUrl, check_url, resolver
from .webhooks import WebhookEvents

log = logging.getLogger(__name__)

RESPONSE_READ_CAP = 1024  # bytes of an answer read (and then dropped)
USER_AGENT = "freelance-hub-webhooks/1"
STATS_EVERY_S = 5.0


@dataclass(frozen=True)
class DeliveryPolicy:
    backoff_base_s: float = 10.0
    backoff_max_s: float = 3600.0
    max_age_s: float = 24 * 3600.0
    timeout_s: float = 10.0
    poll_s: float = 1.0
    allow_private: bool = False
    retention_s: float = 30 * 86400.0
    prune_every_s: float = 3600.0

    @property
    def lease_s(self) -> float:
        """Longer than any attempt can take (its timeout), with a margin."""
        return self.timeout_s + 5.0

    def backoff_s(self, attempt: int) -> float:
        """After the ``attempt``-th failure: base * 2**(attempt-1), capped,
        with jitter (between half and all of it)."""
        delay: float = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** min(attempt - 1, 30))
        return delay / 2 + random.uniform(0, delay / 2)


def status_class(status_code: int | None) -> str:
    return "error" if status_code is None else f"{status_code // 100}xx"


class WebhookWorker:
    def __init__(
        self,
        store: Store,
        events: WebhookEvents,
        policy: DeliveryPolicy,
        owner: str,
        on_delivery: Callable[[str], None] = lambda status: None,
        on_stats: Callable[[int, float], None] = lambda depth, age: None,
        on_pruned: Callable[[str, int], None] = lambda kind, count: None,
    ) -> None:
        self.store = store
        self.events = events
        self.policy = policy
        self.owner = owner  # this process, in the leases it takes
        self.on_delivery = on_delivery  # status class: 2xx, 3xx, 4xx, 5xx, error
        self.on_stats = on_stats  # outbox depth, oldest entry's age (s)
        self.on_pruned = on_pruned  # "delivery" or "failed", rows deleted
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stats_at = float("-inf")

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.policy.timeout_s),
            connector=aiohttp.TCPConnector(
                resolver=resolver(self.policy.allow_private), limit_per_host=4
            ),
            headers={"User-Agent": USER_AGENT},
            trust_env=False,
        )
        await self.events.refresh_if_stale()
        self._task = asyncio.create_task(self._run(), name="webhook-worker")
        self._pruner = asyncio.create_task(self._prune_forever(), name="webhook-pruner")

    async def stop(self) -> None:
        """Stop claiming; let deliveries in flight end within a short while
        (one cancelled keeps its lease until it runs out: sent again later)."""
        for task in (self._task, self._pruner):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._in_flight:
            _, pending = await asyncio.wait(list(self._in_flight.values()), timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # the store away: try again next tick
                log.warning("webhook worker: %s", exc)
            try:
                await asyncio.wait_for(self._wake.wait(), self.policy.poll_s)
            except TimeoutError:
                pass
            self._wake.clear()

    async def run_once(self) -> None:
        """Claim the due head of each endpoint not already being sent to."""
        await self.events.refresh_if_stale()
        now = utc_now()
        for endpoint in self.events.endpoints:
            if endpoint.id in self._in_flight:
                continue
            entry = await self.store.webhooks.claim(
                endpoint.id,
                self.owner,
                iso(now),
                iso(now + timedelta(seconds=self.policy.lease_s)),
            )
            if entry is not None:
                task = asyncio.create_task(self._deliver(endpoint, entry))
                self._in_flight[endpoint.id] = task
                task.add_done_callback(functools.partial(self._done, endpoint.id))
        if time.monotonic() - self._stats_at >= STATS_EVERY_S:
            self._stats_at = time.monotonic()
            depth, oldest = await self.store.webhooks.outbox_stats()
            age = (now - parse_iso(oldest)).total_seconds() if oldest else 0.0
            self.on_stats(depth, max(0.0, age))

    async def prune(self, now: datetime | None = None) -> int:
        """Delete the delivery log's rows older than the retention, then the
        failed outbox entries whose event is older, ``PRUNE_BATCH`` per
        statement until none is left; how many rows in all."""
        before = iso((now or utc_now()) - timedelta(seconds=self.policy.retention_s))
        prunes: list[tuple[str, Prune]] = [
            ("delivery", self.store.webhooks.prune_deliveries),
            ("failed", self.store.webhooks.prune_failed),
        ]
        total = await prune_in_batches(prunes, before, self.on_pruned)
        if total:
            log.info("webhooks: %d rows older than %s deleted", total, before)
        return total

    async def _prune_forever(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception as exc:  # the store away: try again next time
                log.warning("webhook log not pruned: %s", exc)
            await asyncio.sleep(self.policy.prune_every_s)

    def _done(self, endpoint_id: str, _: asyncio.Task[None]) -> None:
        self._in_flight.pop(endpoint_id, None)
        self._wake.set()  # the endpoint's next entry may go at once

    async def _deliver(self, endpoint: WebhookEndpointRecord, entry: WebhookOutboxRecord) -> None:
        attempt = entry.attempts + 1
        started = time.monotonic()
        status_code, error = await self.send(endpoint, entry)
        duration_ms = int((time.monotonic() - started) * 1000)
        self.on_delivery(status_class(status_code))
        try:
            await self.store.webhooks.log_delivery(
                WebhookDeliveryRecord(
                    id=new_id(),
                    endpoint_id=endpoint.id,
                    event_id=entry.event_id,
                    event_type=entry.event_type,
                    attempt=attempt,
                    at=iso(utc_now()),
                    duration_ms=duration_ms,
                    status_code=status_code,
                    error=error,
                )
            )
            if status_code is not None and 200 <= status_code < 300:
                await self.store.webhooks.delivered(entry.id, self.owner)
                return
            reason = error or f"HTTP {status_code}"
            now = utc_now()
            age_s = (now - parse_iso(entry.created_at)).total_seconds()
            if age_s >= self.policy.max_age_s:
                log.warning(
                    "webhook %s to %s failed for good after %d attempts: %s",
                    entry.event_id,
                    endpoint.url,
                    attempt,
                    reason,
                )
                await self.store.webhooks.give_up(entry.id, self.owner, reason)
                return
            due = now + timedelta(seconds=self.policy.backoff_s(attempt))
            log.info(
                "webhook %s to %s: attempt %d failed (%s), next at %s",
                entry.event_id,
                endpoint.url,
                attempt,
                reason,
                iso(due),
            )
            await self.store.webhooks.retry_later(entry.id, self.owner, iso(due), reason)
        except Exception:  # the lease runs out: sent again
            log.exception("webhook %s: outcome not recorded", entry.event_id)

    async def send(
        self, endpoint: WebhookEndpointRecord, entry: WebhookOutboxRecord
    ) -> tuple[int | None, str | None]:
        """POST the entry: (HTTP status, None), or (None, the error)."""
        assert self._session is not None
        try:
            await check_url(endpoint.url, self.policy.allow_private)
        except UnsafeUrl as exc:
            return None, f"refused: {exc}"
        body = entry.body.encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Event": entry.event_type,
            "X-Hub-Delivery": entry.event_id,
            SIGNATURE_HEADER: sign(endpoint.secret, body),
        }
        try:
            async with self._session.post(
                endpoint.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.content.read(RESPONSE_READ_CAP)  # never more
                return response.status, None
        except TimeoutError:
            return None, f"timeout after {self.policy.timeout_s:g} s"
        except (aiohttp.ClientError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
