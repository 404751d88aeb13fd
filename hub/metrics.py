"""Prometheus metrics, one registry per app (no process-global state)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sockets = Gauge(
            "hub_connected_sockets", "Connected sockets", ["namespace"], registry=self.registry
        )
        self.events = Counter(
            "hub_events_total",
            "Client events handled",
            ["namespace", "event"],
            registry=self.registry,
        )
        self.event_errors = Counter(
            "hub_event_errors_total",
            "Client events answered with an error",
            ["namespace", "event", "code"],
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "hub_ack_latency_seconds",
            "Time from event to ack",
            ["event"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.store_latency = Histogram(
            "hub_store_latency_seconds",
            "Store call latency",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.client_faults = Counter(
            "hub_client_faults_total",
            "Broken or hostile client input, by kind (slow_consumer: disconnected for not reading)",
            ["kind"],
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "hub_event_loop_lag_seconds",
            "How late the event loop ran a timer (a stall delays every socket)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.redis_publish_failures = Counter(
            "hub_redis_publish_failures_total",
            "Publishes to Redis that failed",
            registry=self.registry,
        )
        self.emails_sent = Counter(
            "hub_emails_sent_total",
            "Emails the SMTP server accepted, by kind (digest)",
            ["kind"],
            registry=self.registry,
        )
        self.emails_failed = Counter(
            "hub_emails_failed_total",
            "Emails not sent: SMTP unreachable, refused or timed out, by kind",
            ["kind"],
            registry=self.registry,
        )

        # Web Push (issue 18): per push to one subscription.
        self.push_sent = Counter(
            "hub_push_sent_total",
            "Web Pushes a push service accepted",
            registry=self.registry,
        )
        self.push_failed = Counter(
            "hub_push_failed_total",
            "Web Pushes not delivered, by reason (gone: 404/410, subscription deleted; "
            "rejected: another 4xx; rate_limited, server_error, unreachable: after the "
            "retries; error: a bug or bad subscription data)",
            ["reason"],
            registry=self.registry,
        )
        self.push_retries = Counter(
            "hub_push_retries_total",
            "Web Pushes tried again after a 429, a 5xx or no answer",
            registry=self.registry,
        )
        self.push_skipped = Counter(
            "hub_push_skipped_total",
            "Pushes not sent to an offline subscriber, by reason (push_off, quiet_hours, muted)",
            ["reason"],
            registry=self.registry,
        )
        self.push_dropped = Counter(
            "hub_push_dropped_total",
            "New messages or notifications not pushed because the push queue was full",
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "hub_webhook_deliveries_total",
            "Webhook delivery attempts, by answer (2xx, 3xx, 4xx, 5xx; error: no answer)",
            ["status"],
            registry=self.registry,
        )
        self.webhook_outbox_depth = Gauge(
            "hub_webhook_outbox_depth",
            "Webhook events waiting in the outbox (every process's)",
            registry=self.registry,
        )
        self.webhook_outbox_oldest_age = Gauge(
            "hub_webhook_outbox_oldest_age_seconds",
            "Age of the oldest webhook event waiting in the outbox (0 when empty)",
            registry=self.registry,
        )
        self.webhook_pruned = Counter(
            "hub_webhook_pruned_total",
            "Webhook rows deleted for age (HUB_WEBHOOK_LOG_RETENTION_DAYS), by kind "
            "(delivery: the delivery log; failed: outbox entries given up on)",
            ["kind"],
            registry=self.registry,
        )
        self.sessions_pruned = Counter(
            "hub_sessions_pruned_total",
            "Rows deleted some days after they ended (HUB_SESSION_RETENTION_DAYS), by kind "
            "(refresh_token: expired refresh tokens; session: revoked or expired sessions)",
            ["kind"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LoopLagProbe:
    """Observes ``hub_event_loop_lag_seconds`` every ``interval_s``: how much
    later than asked the loop ran a timer. A blocking call, a long collection
    or a starved CPU shows here even when no request is being timed."""

    def __init__(self, histogram: Histogram, interval_s: float = 0.1) -> None:
        self.histogram = histogram
        self.interval_s = interval_s
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._schedule(asyncio.get_running_loop())

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        due = loop.time() + self.interval_s
        self._handle = loop.call_at(due, self._tick, loop, due)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self.histogram.observe(max(0.0, loop.time() - due))
        self._schedule(loop)


class TimedStore:
    """Wraps every store's coroutine methods to observe their latency."""

    def __init__(self, store: Any, metrics: Metrics) -> None:
        self._store = store
        for name in (
            "users",
            "refresh_tokens",
            "sessions",
            "blocks",
            "conversations",
            "messages",
            "idempotency",
            "market",
            "ledger",
            "notifications",
            "networking",
            "uploads",
            "email_digests",
            "webhooks",
            "notification_settings",
            "push_subscriptions",
        ):
            setattr(self, name, _TimedPart(getattr(store, name), name, metrics))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class _TimedPart:
    def __init__(self, part: Any, prefix: str, metrics: Metrics) -> None:
        self._part = part
        self._prefix = prefix
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._part, name)
        if not callable(method):
            return method
        histogram = self._metrics.store_latency.labels(f"{self._prefix}.{name}")

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        setattr(self, name, timed)  # built once per method, then found directly
        return timed
