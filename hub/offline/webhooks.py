"""Outbound webhooks for integrators (issue 18; docs/integrators.md).

``WebhookEvents.publish(type, data)`` is called from the one place each event
happens. It costs a dictionary lookup when no endpoint subscribes to ``type``
(the endpoint list is kept in memory, refreshed on registration and deletion
and every ``webhook_refresh_s`` for the other processes' changes); otherwise
the event's outbox entries, one per subscribed endpoint, are queued in memory
and written to the store by a background flusher in one transaction per
batch, so the caller's ack never waits on them. ``stop`` writes what is
queued: a clean shutdown loses nothing. ``WebhookWorker``
(``hub/offline/webhook_worker.py``) sends the entries.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, Field

from storage import Store
from storage.records import WebhookDeliveryRecord, WebhookEndpointRecord, WebhookOutboxRecord

from ..clock import new_id, now_iso
from ..cursors import decode_cursor, encode_cursor
from ..errors import NotFound, ValidationFailed
from ..schema import Body, Cursor, Limit, Query
from .reach import Reachability
from .webhook_urls import UnsafeUrl, check_url

log = logging.getLogger(__name__)

# Every event an endpoint can subscribe to, by exact name; ``<prefix>.*``
# subscribes to every event of a prefix (the names here, and any added later).
EVENT_TYPES: tuple[str, ...] = (
    "message.created",
    "message.undelivered",
    "notification.created",
    "job.cancelled",
    "job.completed",
    "bid.created",
    "bid.updated",
    "bid.withdrawn",
    "bid.shortlisted",
    "bid.rejected",
    "bid.awarded",
    "bid.accepted",
    "bid.declined",
    "milestone.created",
    "milestone.release_requested",
    "milestone.released",
    "milestone.cancelled",
    "milestone.disputed",
    "milestone.resolved",
    "user.banned",
    "report.created",
)
PREFIXES = frozenset(name.split(".", 1)[0] for name in EVENT_TYPES)
MAX_EVENTS = 50


def matches(pattern: str, event_type: str) -> bool:
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def check_events(events: list[str]) -> list[str]:
    """``events`` without duplicates; 422 naming the unknown ones."""
    unknown = [
        name
        for name in events
        if name not in EVENT_TYPES and not (name.endswith(".*") and name[:-2] in PREFIXES)
    ]
    if unknown:
        message = "Unknown event types: " + ", ".join(unknown[:10])
        raise ValidationFailed(
            message, {"fields": [{"field": "events", "message": message}], "unknown": unknown}
        )
    return list(dict.fromkeys(events))


# The admin API's shapes.


class RegisterWebhook(Body):
    url: Annotated[str, Field(min_length=1, max_length=2048)]
    events: Annotated[list[Annotated[str, Field(max_length=64)]], Field(min_length=1)]
    secret: Annotated[str, Field(min_length=16, max_length=256)] | None = None


class WebhookEndpoint(BaseModel):
    id: str
    url: str
    events: list[str]
    created_by: str
    created_at: str


class RegisteredWebhook(WebhookEndpoint):
    secret: str = Field(description="Shown this once: signs every delivery (X-Hub-Signature)")


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpoint]


class WebhookDelivery(BaseModel):
    id: str
    event_id: str
    event_type: str
    attempt: int
    status_code: int | None = Field(description="The HTTP status answered; null on an error")
    error: str | None
    at: str
    duration_ms: int


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDelivery]
    next_cursor: str | None


class DeliveriesQuery(Query):
    cursor: Cursor | None = None
    limit: Limit = 20


def endpoint_view(record: WebhookEndpointRecord) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=record.id,
        url=record.url,
        events=record.events,
        created_by=record.created_by,
        created_at=record.created_at,
    )


def delivery_view(record: WebhookDeliveryRecord) -> WebhookDelivery:
    return WebhookDelivery(
        id=record.id,
        event_id=record.event_id,
        event_type=record.event_type,
        attempt=record.attempt,
        status_code=record.status_code,
        error=record.error,
        at=record.at,
        duration_ms=record.duration_ms,
    )


class WebhookEvents:
    """Publishes events into the outbox of the endpoints that subscribe to them."""

    def __init__(
        self,
        store: Store,
        reach: Reachability | None,
        refresh_s: float,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.reach = reach
        self.refresh_s = refresh_s
        self.on_enqueued = on_enqueued  # wakes the worker
        self.endpoints: list[WebhookEndpointRecord] = []
        self._targets: dict[str, list[str]] = {}  # event type -> endpoint ids
        self._refreshed_at = float("-inf")
        self._queue: list[WebhookOutboxRecord] = []
        self._flusher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # The endpoint list

    def set_endpoints(self, endpoints: list[WebhookEndpointRecord]) -> None:
        self.endpoints = endpoints
        self._targets = {}
        self._refreshed_at = time.monotonic()

    async def refresh(self) -> None:
        self.set_endpoints(await self.store.webhooks.list_endpoints())

    async def refresh_if_stale(self) -> None:
        if time.monotonic() - self._refreshed_at >= self.refresh_s:
            try:
                await self.refresh()
            except Exception as exc:
                log.warning("webhook endpoints not refreshed: %s", exc)

    def targets(self, event_type: str) -> list[str]:
        """The ids of the endpoints subscribed to ``event_type`` (cached)."""
        found = self._targets.get(event_type)
        if found is None:
            found = self._targets[event_type] = [
                e.id for e in self.endpoints if any(matches(p, event_type) for p in e.events)
            ]
        return found

    def wants(self, event_type: str) -> bool:
        return bool(self.targets(event_type))

    # Publishing

    def publish(self, event_type: str, data: dict[str, Any]) -> None:
        """Queue ``event_type`` for every endpoint subscribed to it. Never
        raises, never waits: the change it reports has happened already."""
        endpoint_ids = self.targets(event_type)
        if not endpoint_ids:
            return
        try:
            event_id = new_id()
            created_at = now_iso()
            body = orjson.dumps(
                {"id": event_id, "type": event_type, "created_at": created_at, "data": data}
            ).decode()
        except Exception:
            log.exception("webhook event %s could not be encoded", event_type)
            return
        self._queue.extend(
            WebhookOutboxRecord(
                id=new_id(),
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type=event_type,
                body=body,
                created_at=created_at,
                next_attempt_at=created_at,
            )
            for endpoint_id in endpoint_ids
        )
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    def publish_message(self, message: Any, members: list[str], sender_id: str) -> None:
        """``message.created``, and ``message.undelivered`` for each recipient
        with no /conversations socket (that check only when subscribed)."""
        if self.wants("message.created"):
            self.publish("message.created", {"message": message})
        recipients = [member for member in members if member != sender_id]
        if recipients and self.reach is not None and self.wants("message.undelivered"):
            task = asyncio.get_running_loop().create_task(self._undelivered(message, recipients))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _undelivered(self, message: Any, recipients: list[str]) -> None:
        assert self.reach is not None
        connected = await self.reach.connected_among(recipients)
        for user_id in recipients:
            if user_id not in connected:
                self.publish("message.undelivered", {"user_id": user_id, "message": message})

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await self.store.webhooks.enqueue(batch)
            except Exception:
                log.exception("%d webhook outbox entries not written", len(batch))
                continue
            self.on_enqueued()

    async def stop(self) -> None:
        """Write everything queued (a clean shutdown loses nothing)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._queue:
            await self._flush()


class WebhookService:
    """The admin API: register, list and delete endpoints, read deliveries."""

    def __init__(self, store: Store, events: WebhookEvents, allow_private: bool) -> None:
        self.store = store
        self.events = events
        self.allow_private = allow_private

    async def register(self, admin_id: str, request: RegisterWebhook) -> RegisteredWebhook:
        events = check_events(request.events)
        if len(events) > MAX_EVENTS:
            raise ValidationFailed.field("events", f"At most {MAX_EVENTS} event types")
        try:
            await check_url(request.url, self.allow_private)
        except UnsafeUrl as exc:
            raise ValidationFailed.field("url", str(exc)) from exc
        record = WebhookEndpointRecord(
            id=new_id(),
            url=request.url,
            events=events,
            secret=request.secret or "whsec_" + secrets.token_urlsafe(32),
            created_by=admin_id,
            created_at=now_iso(),
        )
        await self.store.webhooks.create_endpoint(record)
        await self.events.refresh()
        return RegisteredWebhook(**endpoint_view(record).model_dump(), secret=record.secret)

    async def list(self) -> WebhookEndpointList:
        endpoints = await self.store.webhooks.list_endpoints()
        return WebhookEndpointList(items=[endpoint_view(e) for e in endpoints])

    async def delete(self, endpoint_id: str) -> None:
        if not await self.store.webhooks.delete_endpoint(endpoint_id):
            raise NotFound("No such webhook endpoint")
        await self.events.refresh()

    async def deliveries(
        self, endpoint_id: str, cursor: str | None, limit: int
    ) -> WebhookDeliveryPage:
        if await self.store.webhooks.get_endpoint(endpoint_id) is None:
            raise NotFound("No such webhook endpoint")
        rows = await self.store.webhooks.deliveries(
            endpoint_id, before=decode_cursor(cursor), limit=limit + 1
        )
        page = rows[:limit]
        return WebhookDeliveryPage(
            items=[delivery_view(d) for d in page],
            next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
        )
