"""Web Push (issue 18; RFC 8030 delivery, RFC 8291 aes128gcm encryption,
RFC 8292 VAPID; docs/push.md) with pywebpush.

Nothing here is on a send's critical path: ``PushingBus`` hands each new
message, after it is stored and published, to ``PushService.message_published``,
which only puts it on a bounded in-memory queue (full: dropped and counted,
never waited for). One background worker drains the queue: it asks
``Reachability`` which recipients have no /conversations socket anywhere, reads
their subscriptions (so a send costs no query when nobody subscribed), checks
each one's settings (push off, quiet hours) and the conversation's ``muted``
flag, then sends, concurrently and bounded, through one aiohttp session. A
subscription answered 404 or 410 is deleted; 429 and 5xx (and no answer) are
retried with exponential backoff, a few times; every failure is logged, at
most a few times a minute, and counted.

Notifications (``NotificationService.notify``) are pushed the same way.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from pywebpush import WebPusher

from storage import Store
from storage.records import PushSubscriptionRecord

from ..clock import new_id, now_iso, utc_now
from ..conversations.delivery import MessageBus
from ..conversations.sequencer import Delivery
from ..errors import NotFound, Unavailable, ValidationFailed
from ..metrics import Metrics
from .models import PushSubscribe, endpoint_problem
from .preferences import Preferences, in_quiet_hours
from .reach import Reachability

log = logging.getLogger(__name__)

PREVIEW_CHARS = 100
MESSAGE_TTL_S = 24 * 3600  # a push service keeps an undelivered push this long
NOTIFICATION_TTL_S = 7 * 24 * 3600
SEND_TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 64  # sends under way at once, retries waiting included
ATTEMPTS = 4  # per push and subscription: the first try and three retries
RETRY_BASE_S = 0.5  # then 1 s, 2 s (each +-25%), or the push service's Retry-After
RETRY_MAX_S = 60.0  # a Retry-After longer than this: given up
VAPID_TOKEN_TTL_S = 12 * 3600  # RFC 8292 allows 24 h
LOG_EVERY_S = 10.0  # at most a few failure lines per kind, however many fail
NAME_CACHE_SIZE = 1024
NAME_CACHE_TTL_S = 60.0


class VapidKeys:
    """The hub's VAPID key pair (RFC 8292): signs each push service's token
    (one per origin, reused until an hour before it expires)."""

    def __init__(self, private_key: str, subject: str) -> None:
        text = private_key.strip()
        if "-----BEGIN" in text:
            self._vapid = Vapid02.from_pem(text.encode())
        else:
            self._vapid = Vapid02.from_string(text)
        self.subject = subject
        raw = self._vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        # What a browser's pushManager.subscribe takes as applicationServerKey.
        self.public_key = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        self._tokens: dict[str, tuple[float, dict[str, str]]] = {}

    def headers(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is not None and cached[0] - now > 3600:
            return cached[1]
        expires = int(now) + VAPID_TOKEN_TTL_S
        claims = {"aud": audience, "exp": expires, "sub": self.subject}
        headers: dict[str, str] = self._vapid.sign(claims)
        if len(self._tokens) > 1000:
            self._tokens.clear()
        self._tokens[audience] = (expires, headers)
        return headers


BATCH = 256  # queued jobs the worker takes at once
# How long the worker lets jobs gather after the first: a push 50 ms later is
# still at once for a person, and a busy hub reads once per batch, not per message.
GATHER_S = 0.05


@dataclass(frozen=True, slots=True)
class _MessageJob:
    message: dict[str, Any]
    members: list[str]


@dataclass(frozen=True, slots=True)
class _NotificationJob:
    user_id: str
    notification: dict[str, Any]


_Job = _MessageJob | _NotificationJob


def subscription_view(record: PushSubscriptionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "endpoint": record.endpoint,
        "user_agent": record.user_agent,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


class PushService:
    """Subscriptions per device, and the background sender."""

    def __init__(
        self,
        store: Store,
        reach: Reachability,
        preferences: Preferences,
        metrics: Metrics,
        keys: VapidKeys | None,
        *,
        previews: bool,
        queue_size: int,
        allow_loopback_http: bool,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.reach = reach
        self.preferences = preferences
        self.metrics = metrics
        self.keys = keys
        self.previews = previews
        self.allow_loopback_http = allow_loopback_http
        self.clock = clock
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(queue_size)
        self._worker: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._http: aiohttp.ClientSession | None = None
        self._names: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._logged: dict[str, float] = {}
        # Told, off the send path, which recipients of each new message have no
        # socket open (the email digests re-arm with it), push on or off.
        self.offline_listeners: list[Callable[[list[str]], Awaitable[None]]] = []

    # Subscriptions (the REST door)

    def public_key(self) -> str:
        return self._keys().public_key

    async def subscribe(self, user_id: str, request: PushSubscribe) -> dict[str, Any]:
        self._keys()
        problem = endpoint_problem(request.endpoint, self.allow_loopback_http)
        if problem is not None:
            raise ValidationFailed.field("endpoint", problem)
        now = now_iso()
        record = await self.store.push_subscriptions.upsert(
            PushSubscriptionRecord(
                id=new_id(),
                user_id=user_id,
                endpoint=request.endpoint,
                p256dh=request.keys.p256dh,
                auth=request.keys.auth,
                created_at=now,
                updated_at=now,
                user_agent=request.user_agent,
            )
        )
        return subscription_view(record)

    async def unsubscribe(self, user_id: str, subscription_id: str) -> None:
        record = await self.store.push_subscriptions.get(subscription_id)
        if record is None or record.user_id != user_id:  # someone else's: not theirs to know
            raise NotFound("No such push subscription")
        await self.store.push_subscriptions.delete(subscription_id)

    def _keys(self) -> VapidKeys:
        if self.keys is None:
            raise Unavailable("Web Push is not configured on this hub (HUB_VAPID_PRIVATE_KEY)")
        return self.keys

    # What to push (called on the hot path: never waits, never raises)

    def message_published(self, delivery: Delivery) -> None:
        message: Any = delivery.message
        if message.get("kind", "text") != "text":
            return  # system and card messages: their notifications are pushed instead
        if self.keys is not None or self.offline_listeners:
            self._enqueue(_MessageJob(dict(message), list(delivery.user_ids)))

    def notified(self, user_id: str, notification: dict[str, Any]) -> None:
        if self.keys is None or notification.get("type") == "mention":
            return  # the message's own push says it mentions them
        self._enqueue(_NotificationJob(user_id, notification))

    def _enqueue(self, job: _Job) -> None:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.metrics.push_dropped.inc()
            self._log_once("queue_full", "push queue full: a push was dropped")

    # Lifecycle

    async def start(self) -> None:
        if self.keys is None:
            log.warning("Web Push is off: set HUB_VAPID_PRIVATE_KEY and HUB_VAPID_SUBJECT")
        else:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_S),
                connector=aiohttp.TCPConnector(limit=MAX_IN_FLIGHT),
            )
        if self.keys is not None or self.offline_listeners:
            self._worker = asyncio.create_task(self._work(), name="web-push")

    async def stop(self) -> None:
        """Pushes are best effort: those queued or under way are dropped."""
        tasks = [*([self._worker] if self._worker else []), *self._sends]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._worker = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def idle(self) -> None:
        """Wait until everything queued has been sent or given up (tests)."""
        while not self._queue.empty() or self._sends or self._busy:
            await asyncio.sleep(0.01)

    _busy = False

    # The worker

    async def _work(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            self._busy = True
            await asyncio.sleep(GATHER_S)
            while len(jobs) < BATCH and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            try:
                await self._messages([j for j in jobs if isinstance(j, _MessageJob)])
                for job in jobs:
                    if isinstance(job, _NotificationJob):
                        await self._notification(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.metrics.push_failed.labels("error").inc()
                log.exception("a push could not be prepared")
            finally:
                self._busy = False

    async def _messages(self, jobs: list[_MessageJob]) -> None:
        """The new messages queued meanwhile, together: one read of who is
        connected and one of their subscriptions for the lot, so a busy hub
        pays per batch, not per message."""
        if not jobs:
            return
        recipients = {
            user_id
            for job in jobs
            for user_id in job.members
            if user_id != job.message.get("sender_id")
        }
        offline = set(await self._offline(sorted(recipients)))
        if not offline:
            return
        for listener in self.offline_listeners:
            try:
                await listener(sorted(offline))
            except Exception:
                log.exception("an offline-recipients listener failed")
        if self.keys is None:
            return
        subscriptions = _by_user(
            await self.store.push_subscriptions.list_for_users(sorted(offline))
        )
        for job in jobs:
            sender_id = job.message.get("sender_id")
            theirs = {
                user_id: subscriptions[user_id]
                for user_id in job.members
                if user_id != sender_id and user_id in subscriptions
            }
            if theirs:
                await self._message(job.message, theirs)

    async def _message(
        self, message: dict[str, Any], subscriptions: dict[str, list[PushSubscriptionRecord]]
    ) -> None:
        """Push one message to each offline recipient's devices (``subscriptions``)."""
        conversation_id = message["conversation_id"]
        text = message.get("text") or ""
        payload = {
            "type": "message",
            "conversation_id": conversation_id,
            "seq": message["seq"],
            "sender_name": await self._name(message.get("sender_id")),
            "preview": text[:PREVIEW_CHARS] if self.previews else None,
        }
        mentioned = set(message.get("mentions") or ())
        for user_id, theirs in subscriptions.items():
            if not await self._wanted(user_id, conversation_id):
                continue
            body = {**payload, "mention": True} if user_id in mentioned else payload
            await self._send_all(theirs, orjson.dumps(body), MESSAGE_TTL_S, "high")

    async def _notification(self, job: _NotificationJob) -> None:
        if not await self._offline([job.user_id]):
            return
        subscriptions = await self.store.push_subscriptions.list_for_users([job.user_id])
        if not subscriptions:
            return
        notification = job.notification
        data = notification.get("data") or {}
        conversation_id = data.get("conversation_id") if isinstance(data, dict) else None
        if not await self._wanted(job.user_id, conversation_id):
            return
        payload = {
            "type": "notification",
            "id": notification["id"],
            "notification_type": notification["type"],
            "created_at": notification["created_at"],
            **({"conversation_id": conversation_id} if conversation_id else {}),
        }
        await self._send_all(subscriptions, orjson.dumps(payload), NOTIFICATION_TTL_S, "normal")

    async def _offline(self, user_ids: list[str]) -> list[str]:
        connected = await self.reach.connected_among(user_ids)
        return [user_id for user_id in user_ids if user_id not in connected]

    async def _wanted(self, user_id: str, conversation_id: str | None) -> bool:
        """The user's settings and the conversation's mute allow a push now."""
        settings = await self.preferences.get(user_id)
        if not settings.push:
            self.metrics.push_skipped.labels("push_off").inc()
            return False
        if in_quiet_hours(settings, self.clock()):
            self.metrics.push_skipped.labels("quiet_hours").inc()
            return False
        if conversation_id is not None:
            membership = await self.store.conversations.membership(conversation_id, user_id)
            if membership is None or membership.muted:
                self.metrics.push_skipped.labels("muted").inc()
                return False
        return True

    async def _name(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        now = time.monotonic()
        cached = self._names.get(user_id)
        if cached is not None and now - cached[0] < NAME_CACHE_TTL_S:
            return cached[1]
        user = await self.store.users.get(user_id)
        name = user.display_name if user is not None else ""
        self._names[user_id] = (now, name)
        self._names.move_to_end(user_id)
        if len(self._names) > NAME_CACHE_SIZE:
            self._names.popitem(last=False)
        return name

    async def _send_all(
        self, subscriptions: list[PushSubscriptionRecord], body: bytes, ttl: int, urgency: str
    ) -> None:
        for subscription in subscriptions:
            await self._slots.acquire()  # back-pressure: the queue fills, then drops
            task = asyncio.create_task(self._deliver(subscription, body, ttl, urgency))
            self._sends.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        self._slots.release()

    async def _deliver(
        self, subscription: PushSubscriptionRecord, body: bytes, ttl: int, urgency: str
    ) -> None:
        assert self.keys is not None and self._http is not None
        info = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
        reason = "error"
        for attempt in range(ATTEMPTS):
            delay = RETRY_BASE_S * 2**attempt * random.uniform(0.75, 1.25)
            try:
                pusher = WebPusher(info, aiohttp_session=self._http)
                headers = {**self.keys.headers(subscription.endpoint), "Urgency": urgency}
                response = await pusher.send_async(
                    body,
                    headers,
                    ttl=ttl,
                    timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_S),
                )
                assert not isinstance(response, str)  # a curl command only when asked
                status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = "unreachable"
                self._log_once(reason, "push to %s failed: %r", _origin(subscription), exc)
            except Exception:
                self.metrics.push_failed.labels("error").inc()
                self._log_once("error", "push to %s failed", _origin(subscription), exc_info=True)
                return
            else:
                if 200 <= status < 300:
                    self.metrics.push_sent.inc()
                    return
                if status in (404, 410):  # the browser unsubscribed, or it expired
                    self.metrics.push_failed.labels("gone").inc()
                    await self.store.push_subscriptions.delete(subscription.id)
                    return
                if status != 429 and status < 500:
                    self.metrics.push_failed.labels("rejected").inc()
                    self._log_once(
                        "rejected", "push to %s refused: %d", _origin(subscription), status
                    )
                    return
                reason = "rate_limited" if status == 429 else "server_error"
                self._log_once(reason, "push to %s answered %d", _origin(subscription), status)
                retry_after = _retry_after(response.headers.get("Retry-After"))
                if retry_after is not None:
                    if retry_after > RETRY_MAX_S:
                        break
                    delay = retry_after
            if attempt + 1 < ATTEMPTS:
                self.metrics.push_retries.inc()
                await asyncio.sleep(delay)
        self.metrics.push_failed.labels(reason).inc()

    def _log_once(self, kind: str, message: str, *args: Any, exc_info: bool = False) -> None:
        """Log a failure, at most once per LOG_EVERY_S per kind (a dead push
        service must not flood the log; the counters count every one)."""
        now = time.monotonic()
        if now - self._logged.get(kind, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._logged[kind] = now
            log.warning(message, *args, exc_info=exc_info)


class PushingBus:
    """A MessageBus that also hands each new message to Web Push, after the
    bus took it (the composition root wraps the bus with it)."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self.push: PushService | None = None  # set by the composition root

    async def publish(self, delivery: Delivery) -> None:
        await self.bus.publish(delivery)
        if self.push is not None:
            self.push.message_published(delivery)

    async def start(self) -> None:
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.stop()


def _by_user(
    subscriptions: list[PushSubscriptionRecord],
) -> dict[str, list[PushSubscriptionRecord]]:
    grouped: dict[str, list[PushSubscriptionRecord]] = {}
    for subscription in subscriptions:
        grouped.setdefault(subscription.user_id, []).append(subscription)
    return grouped


def _origin(subscription: PushSubscriptionRecord) -> str:
    """What a log line names: the push service, never the device's path."""
    parts = urlsplit(subscription.endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the backoff's own delay instead
