"""The per-app service container that handlers and namespaces share."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

import socketio
from aiohttp import web
from redis.asyncio import Redis

from signaling.calls import Calls
from signaling.echo import EchoService
from signaling.ice import IceServerProvider
from signaling.relay import SignalRelay
from signaling.service import SignalingService
from signaling.state import CallState, MemoryCallState
from storage import Store
from storage.engines import create_store

from .accounts import (
    AccountMails,
    AccountService,
    MailLinkPolicy,
    SessionService,
    TwoFactor,
    TwoFactorPolicy,
    VerifiedEmailRule,
)
from .accounts.retention import SessionPruner
from .accounts.revocations import LocalRevocations, Revocations
from .attachments import AttachmentLimits, AttachmentService
from .cluster.call_state import RedisCallState
from .cluster.lobby_queues import RedisLobbyQueues
from .cluster.message_bus import RedisMessageBus
from .cluster.presence import RedisPresence
from .cluster.redis import create_redis
from .cluster.revocations import RedisRevocations
from .config import Settings
from .conversations import ConversationLimits, ConversationService
from .conversations.delivery import LocalMessageBus, MessageBus
from .conversations.events import ConversationEvents
from .emitter import Emitter
from .files.checks import DEFAULT_ALLOWED_TYPES
from .files.clamd import ClamdScanner
from .files.local import LocalFileStore
from .files.s3 import S3FileStore
from .files.store import FileStore
from .health import Readiness
from .http import API_PREFIX
from .idempotency import Idempotency
from .marketplace import (
    BidService,
    JobService,
    Market,
    MarketRules,
    MilestoneService,
    WalletService,
)
from .marketplace.fees import FeePolicy
from .metrics import LoopLagProbe, Metrics, TimedStore
from .moderation import AuditLog, ModerationService
from .moderation.service import ModerationParts
from .networking import NetworkingService
from .networking.queues import LobbyQueues, MemoryLobbyQueues
from .notifications import NotificationService
from .offline import Reachability
from .offline.digests import DigestLinks, EmailDigests
from .offline.mailer import LogMailer, Mailer, Postman, SmtpConfig, SmtpMailer
from .offline.preferences import Preferences
from .offline.push import PushingBus, PushService, VapidKeys
from .offline.unsubscribe import Unsubscribes, UnsubscribeTokens
from .offline.webhook_worker import DeliveryPolicy, WebhookWorker
from .offline.webhooks import WebhookEvents, WebhookService
from .passwords import Passwords
from .payments import PaymentProvider, SandboxProvider
from .preflight import check_dependencies
from .presence import PresenceService
from .presence.backends import MemoryPresence, PresenceBackend
from .ratelimit import Limit, MemoryRateLimiter, RateLimiter, RedisRateLimiter
from .realtime.connections import ConnectionRegistry
from .realtime.drain import Drain
from .realtime.faults import ClientFaults
from .realtime.rooms import HubManager, HubRedisRoomManager
from .realtime.server import create_socket_server
from .safety.guard import ContactGuard, DmPolicy
from .tokens import TokenIssuer

log = logging.getLogger(__name__)


@dataclass
class Hub:
    """Everything a request or an event handler may need, built once per app."""

    settings: Settings
    store: Store
    metrics: Metrics
    redis: Redis | None
    sio: socketio.AsyncServer
    tokens: TokenIssuer
    accounts: AccountService
    sessions: SessionService
    revocations: Revocations
    session_pruner: SessionPruner  # deletes ended sessions and expired refresh tokens
    bus: MessageBus
    conversations: ConversationService
    attachments: AttachmentService
    presence: PresenceService
    reach: Reachability
    idempotency: Idempotency
    notifications: NotificationService
    payments: PaymentProvider
    jobs: JobService
    bids: BidService
    milestones: MilestoneService
    wallet: WalletService
    readiness: Readiness
    rate_limiter: RateLimiter | None = None  # None when HUB_RATE_LIMITS=off
    connections: ConnectionRegistry = field(init=False)
    loop_lag: LoopLagProbe = field(init=False)
    drain: Drain = field(default_factory=Drain)
    _shutdown_deadline: float | None = field(default=None, init=False)
    # Video (docs/video.md): calls, the echo check, speed networking; set by build_hub.
    signaling: SignalingService = field(init=False)
    echo: EchoService = field(init=False)
    networking: NetworkingService = field(init=False)
    # Outbound webhooks (issue 18; docs/integrators.md); set by build_hub.
    webhooks: WebhookService = field(init=False)
    webhook_worker: WebhookWorker = field(init=False)
    # Reaching users who are offline (issue 18); set by build_hub.
    preferences: Preferences = field(init=False)
    # Email digests: None when no SMTP server is configured (HUB_SMTP_HOST).
    digests: EmailDigests | None = field(default=None, init=False)
    email_unsubscribe: Unsubscribes = field(init=False)
    push: PushService = field(init=False)  # Web Push (docs/push.md)
    # Trust and safety (issue 20): reports, moderation, the audit log; set by build_hub.
    audit: AuditLog = field(init=False)
    moderation: ModerationService = field(init=False)

    def __post_init__(self) -> None:
        self.connections = ConnectionRegistry(self._disconnect_expired)
        self.loop_lag = LoopLagProbe(self.metrics.loop_lag)

    async def start(self) -> None:
        await check_dependencies(self.settings)  # fail before anything starts
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await self.store.open()
        if not self.sio.manager_initialized:
            # Subscribe to Redis now, not at the first client: events published
            # by other processes in between would otherwise be missed.
            self.sio.manager_initialized = True
            self.sio.manager.initialize()
        await self.bus.start()
        await self.revocations.start(self._disconnect_revoked)
        await self.presence.start()
        await self.reach.start()
        if self.digests is not None:
            await self.digests.start()
        await self.push.start()
        await self.payments.start()
        await self.networking.start()
        await self.idempotency.start()
        await self.session_pruner.start()
        self.attachments.start()
        await self.webhook_worker.start()
        self.loop_lag.start()

    async def shut_down_sockets(self) -> None:
        """SIGTERM, first part: refuse new events (``unavailable``) and
        connections, let the acks in flight finish, then send every socket a
        Socket.IO disconnect and close its transport from this side, so every
        client, a browser too, sees the disconnect at once and reconnects
        elsewhere (presence follows the usual grace period). Runs once:
        ``hub serve`` calls it on SIGTERM, the app's on_shutdown again."""
        if self._shutdown_deadline is not None:
            return
        loop = asyncio.get_running_loop()
        # What the hub's own steps may use; the rest of the grace period is
        # margin before hub/lifecycle.py's watchdog ends the process.
        self._shutdown_deadline = loop.time() + STEPS_SHARE * self.settings.shutdown_grace_s
        self.sio.stop_accepting()
        await self.drain.start(self._shutdown_share(DRAIN_SHARE))
        await self.sio.close_all(loop.time() + self._shutdown_share(CLOSE_SHARE))

    def _shutdown_share(self, share: float) -> float:
        """Seconds for a step: ``share`` of the grace period, within what is left."""
        assert self._shutdown_deadline is not None
        left = self._shutdown_deadline - asyncio.get_running_loop().time()
        return max(0.0, min(share * self.settings.shutdown_grace_s, left))

    async def stop(self) -> None:
        self.loop_lag.stop()
        steps: list[tuple[str, Awaitable[object]]] = [
            ("account mails", self.accounts.mails.drain()),  # mails being sent go out
            ("networking", self.networking.stop()),
            ("webhook events", self.webhooks.events.stop()),  # queued ones written
            ("webhook worker", self.webhook_worker.stop()),
            ("echo", self.echo.close()),
            ("signaling", self.signaling.close()),
            ("payments", self.payments.stop()),
            ("idempotency keys", self.idempotency.stop()),
            ("session pruner", self.session_pruner.stop()),
            ("attachment sweeper", self.attachments.stop()),
            ("presence", self.presence.stop()),
            ("web push", self.push.stop()),
            ("reachability", self.reach.stop()),
            ("message bus", self.bus.stop()),
            ("session revocations", self.revocations.stop()),
        ]
        if self.digests is not None:
            steps.insert(0, ("email digests", self.digests.stop()))
        if self.redis is not None:
            steps.append(("redis", self.redis.aclose()))
        steps.append(("store", self.store.close()))
        for index, (name, step) in enumerate(steps):
            budget = STOP_STEP_TIMEOUT_S
            if self._shutdown_deadline is not None:  # within the grace period
                time_left = self._shutdown_deadline - asyncio.get_running_loop().time()
                budget = max(0.1, min(budget, time_left / (len(steps) - index)))
            await _finish_within(name, step, budget)

    async def _disconnect_expired(self, eio_sid: str, sids: dict[str, str]) -> None:
        for namespace, sid in sids.items():
            await self.sio.emit("auth:expired", {}, to=sid, namespace=namespace)
            await self.sio.disconnect(sid, namespace=namespace)

    async def _disconnect_revoked(self, session_ids: list[str]) -> None:
        """Drop this process's sockets of revoked sessions, telling them why."""
        for sids in self.connections.revoke(session_ids):
            for namespace, sid in sids.items():
                await self.sio.emit("auth:revoked", {}, to=sid, namespace=namespace)
                await self.sio.disconnect(sid, namespace=namespace)


HUB = web.AppKey("hub", Hub)
STOP_STEP_TIMEOUT_S = 5.0
# Shares of HUB_SHUTDOWN_GRACE_S: acks in flight, then closing sockets; what
# is left goes to HTTP requests in flight (aiohttp) and stopping the services.
DRAIN_SHARE = 0.4
CLOSE_SHARE = 0.2
HTTP_SHARE = 0.15  # aiohttp's shutdown_timeout (``hub serve``)
STEPS_SHARE = 0.9


async def _finish_within(name: str, step: Awaitable[object], timeout_s: float) -> None:
    """Shutdown must end even if one part hangs (say, a Redis pub/sub close
    stuck after a cancel); asyncio.wait, unlike wait_for, does not then wait
    for the cancelled step to give up."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        task.cancel()
        log.warning("shutdown: %s did not stop within %.0fs", name, timeout_s)
    elif task.exception() is not None:
        log.warning("shutdown: %s failed: %s", name, task.exception())


def build_hub(settings: Settings, store: Store | None = None) -> Hub:
    """Wire the services; nothing connects until ``Hub.start``."""
    settings.ensure_jwt_secret()
    settings.ensure_webhook_secret()
    metrics = Metrics()
    store = TimedStore(store or create_store(settings), metrics)
    redis = create_redis(settings.redis_url) if settings.redis_url else None
    manager = (
        HubRedisRoomManager(settings.redis_url, metrics.redis_publish_failures.inc)
        if settings.redis_url
        else HubManager()
    )
    sio = create_socket_server(settings, manager, ClientFaults(metrics.client_faults))
    events = ConversationEvents(sio)
    bus: MessageBus
    presence_backend: PresenceBackend
    reach_backend: PresenceBackend  # the same bookkeeping, for /conversations sockets
    revocations: Revocations
    if redis is not None:
        bus = RedisMessageBus(
            redis,
            create_redis(settings.redis_url, blocking_reads=True),  # type: ignore[arg-type]
            store,
            events,
            settings.message_gap_timeout_s,
            on_publish_error=metrics.redis_publish_failures.inc,
        )
        presence_backend = RedisPresence(redis, process_id(), settings.presence_process_timeout_s)
        reach_backend = RedisPresence(
            redis, process_id(), settings.presence_process_timeout_s, prefix="hub:reach:"
        )
        revocations = RedisRevocations(
            redis,
            create_redis(settings.redis_url, blocking_reads=True),  # type: ignore[arg-type]
            on_publish_error=metrics.redis_publish_failures.inc,
        )
    else:
        bus = LocalMessageBus(store, events, settings.message_gap_timeout_s)
        presence_backend = MemoryPresence()
        reach_backend = MemoryPresence()
        revocations = LocalRevocations()
    # New messages go to Web Push too, after the bus took them (off the ack's path).
    pushing = PushingBus(bus)
    bus = pushing
    rate_limiter: RateLimiter | None = None
    if settings.rate_limits == "on":
        rate_limiter = RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter()
    tokens = TokenIssuer(settings)
    passwords = Passwords(settings.password_hash_time_cost, settings.password_hash_memory_kib)
    sessions = SessionService(store, tokens, revocations)
    attachments = build_attachments(settings, store)
    notifications = NotificationService(store, sio)
    webhook_events = WebhookEvents(store, None, settings.webhook_refresh_s)
    notifications.webhooks = webhook_events
    conversations = ConversationService(
        store,
        events,
        bus,
        attachments,
        ConversationLimits(
            max_text_length=settings.max_text_length,
            max_group_size=settings.max_group_size,
            edit_window_s=settings.edit_window_s,
            typing_expires_ms=settings.typing_expires_ms,
        ),
        notifications,
    )
    market = Market(
        store,
        notifications,
        MarketRules(
            currencies=tuple(settings.currencies),
            fees=FeePolicy(settings.platform_fee_bps, settings.min_fee),
        ),
        conversations.system_messages,  # cards in a bid's conversation
    )
    conversations.webhooks = market.webhooks = webhook_events
    webhook_secret = settings.payments_webhook_secret.get_secret_value()  # type: ignore[union-attr]
    payments = SandboxProvider(settings.base_url, webhook_secret, settings.sandbox_webhook_delay_s)
    jobs = JobService(market)
    # HUB_REQUIRE_VERIFIED_EMAIL: sending messages, bidding, posting jobs.
    conversations.verified_email = market.verified_email = VerifiedEmailRule(
        store, settings.require_verified_email == "on"
    )
    # HUB_CONTACT_MASKING and HUB_DM_POLICY (issue 20: docs/trust-and-safety.md).
    conversations.contact_guard = ContactGuard(store, settings.contact_masking)
    conversations.dm_policy = DmPolicy(
        store, conversations.contact_guard, settings.dm_policy == "business"
    )
    postman = build_postman(settings, metrics)  # None: no mail (production without SMTP)
    hub = Hub(
        settings=settings,
        store=store,
        metrics=metrics,
        redis=redis,
        sio=sio,
        tokens=tokens,
        accounts=AccountService(
            store,
            tokens,
            passwords,
            settings.refresh_token_ttl_s,
            sessions,
            TwoFactor(
                store,
                TwoFactorPolicy(
                    issuer=settings.mfa_issuer,
                    token_ttl_s=settings.mfa_token_ttl_s,
                    max_failures=settings.mfa_max_failures,
                    lockout_s=settings.mfa_lockout_s,
                ),
            ),
            AccountMails(
                store,
                passwords,
                sessions,
                postman,
                rate_limiter,
                MailLinkPolicy(
                    public_url=settings.base_url,
                    reset_ttl_s=settings.password_reset_ttl_s,
                    verification_ttl_s=settings.email_verification_ttl_s,
                    per_address=Limit.parse(settings.rate_limit_account_email),
                ),
            ),
        ),
        sessions=sessions,
        revocations=revocations,
        session_pruner=SessionPruner(
            store,
            settings.session_retention_days * 86400.0,
            on_pruned=lambda kind, count: metrics.sessions_pruned.labels(kind).inc(count),
        ),
        bus=bus,
        conversations=conversations,
        attachments=attachments,
        idempotency=Idempotency(store.idempotency),
        notifications=notifications,
        payments=payments,
        jobs=jobs,
        bids=BidService(market, jobs, conversations),
        milestones=MilestoneService(market, jobs),
        wallet=WalletService(market, payments, webhook_secret),
        rate_limiter=rate_limiter,
        readiness=Readiness({"storage": store.ping, **({"redis": redis.ping} if redis else {})}),
        presence=PresenceService(
            store,
            presence_backend,
            sio,
            settings.presence_grace_s,
            settings.presence_sweep_interval_s,
            rooms=sio,
        ),
        reach=Reachability(
            reach_backend, settings.presence_grace_s, settings.presence_sweep_interval_s
        ),
    )
    hub.signaling, hub.echo, hub.networking = build_video(
        settings, store, redis, sio, conversations, notifications
    )
    hub.accounts.block_listeners.append(hub.presence.separate)  # private presence
    hub.preferences = Preferences(store, settings.email_digest_delay_s)
    hub.digests, hub.email_unsubscribe = build_email(
        settings, store, postman, hub.reach, hub.preferences
    )
    hub.push = pushing.push = notifications.push = build_push(
        settings, store, metrics, hub.reach, hub.preferences
    )
    if hub.digests is not None:
        hub.push.offline_listeners.append(hub.digests.messaged)
    hub.webhooks, hub.webhook_worker = build_webhooks(settings, store, metrics, webhook_events)
    webhook_events.reach = hub.reach
    hub.audit = hub.milestones.audit = AuditLog(store)
    hub.moderation = ModerationService(
        store,
        hub.audit,
        ModerationParts(
            accounts=hub.accounts,
            sessions=sessions,
            jobs=jobs,
            bids=hub.bids,
            notifications=notifications,
            conversation_events=events,
            webhooks=webhook_events,
        ),
    )
    return hub


def build_push(
    settings: Settings,
    store: Store,
    metrics: Metrics,
    reach: Reachability,
    preferences: Preferences,
) -> PushService:
    """Web Push with the VAPID keys of the settings (generated in development)."""
    keys = None
    if settings.ensure_vapid_keys():
        assert settings.vapid_private_key is not None and settings.vapid_subject is not None
        keys = VapidKeys(settings.vapid_private_key.get_secret_value(), settings.vapid_subject)
    return PushService(
        store,
        reach,
        preferences,
        metrics,
        keys,
        previews=settings.push_previews == "on",
        queue_size=settings.push_queue_size,
        allow_loopback_http=settings.env == "development",
    )


def build_webhooks(
    settings: Settings, store: Store, metrics: Metrics, events: WebhookEvents
) -> tuple[WebhookService, WebhookWorker]:
    """The admin API and the outbox's sender (docs/integrators.md)."""
    allow_private = settings.webhook_allow_private == "on"
    policy = DeliveryPolicy(
        backoff_base_s=settings.webhook_backoff_base_s,
        backoff_max_s=settings.webhook_backoff_max_s,
        max_age_s=settings.webhook_max_age_s,
        timeout_s=settings.webhook_timeout_s,
        poll_s=settings.webhook_poll_s,
        allow_private=allow_private,
        retention_s=settings.webhook_log_retention_days * 86400.0,
    )

    def stats(depth: int, age_s: float) -> None:
        metrics.webhook_outbox_depth.set(depth)
        metrics.webhook_outbox_oldest_age.set(age_s)

    worker = WebhookWorker(
        store,
        events,
        policy,
        process_id(),
        on_delivery=lambda status: metrics.webhook_deliveries.labels(status).inc(),
        on_stats=stats,
        on_pruned=lambda kind, count: metrics.webhook_pruned.labels(kind).inc(count),
    )
    events.on_enqueued = worker.wake
    return WebhookService(store, events, allow_private), worker


def build_postman(settings: Settings, metrics: Metrics) -> Postman | None:
    """The one Postman of the hub (digests and account mails): through the
    SMTP server the settings name, to the log in development without one,
    and None (no email) in production without one."""
    mailer: Mailer
    if settings.smtp_url is not None:
        url = settings.smtp_url.get_secret_value()
        mailer = SmtpMailer(SmtpConfig.from_url(url, settings.smtp_timeout_s))
    elif settings.env == "development":
        mailer = LogMailer()
    else:
        return None
    if settings.public_url is None and settings.smtp_url is not None:
        log.warning("HUB_PUBLIC_URL is not set: links in emails point to %s", settings.base_url)
    return Postman(mailer, settings.email_from, metrics.emails_sent, metrics.emails_failed)


def build_email(
    settings: Settings,
    store: Store,
    postman: Postman | None,
    reach: Reachability,
    preferences: Preferences,
) -> tuple[EmailDigests | None, Unsubscribes]:
    """Email digests through the hub's Postman (none: no digests), and the
    unsubscribe links, which work either way."""
    secret = settings.ensure_email_unsubscribe_secret().get_secret_value().encode()
    tokens = UnsubscribeTokens(secret)
    unsubscribes = Unsubscribes(tokens, preferences)
    if postman is None:
        return None, unsubscribes
    digests = EmailDigests(
        store,
        reach,
        preferences,
        postman,
        tokens,
        DigestLinks(settings.base_url, API_PREFIX + "/email/unsubscribe"),
        poll_s=settings.email_digest_poll_s,
        retry_s=settings.email_digest_retry_s,
        lease_s=max(60.0, settings.smtp_timeout_s * 3 + 30),
    )
    reach.on_disconnected(digests.absent)
    return digests, unsubscribes


def build_attachments(settings: Settings, store: Store) -> AttachmentService:
    """Uploads and attachments on the file store the settings name."""
    limits = AttachmentLimits(
        max_bytes=settings.upload_max_bytes,
        allowed_types=tuple(settings.upload_allowed_types) or DEFAULT_ALLOWED_TYPES,
        url_ttl_s=settings.file_url_ttl_s,
        upload_ttl_s=settings.upload_ttl_s,
        quota_bytes_per_day=settings.upload_quota_bytes_per_day,
    )
    secret = settings.ensure_file_url_secret().get_secret_value().encode()
    return AttachmentService(
        store,
        create_file_store(settings),
        limits,
        url_secret=secret,
        api_prefix=API_PREFIX,
        scanner=ClamdScanner(settings.clamd_url) if settings.clamd_url else None,
    )


def create_file_store(settings: Settings) -> FileStore:
    """``s3://bucket/prefix`` or ``file://path`` (settings.file_store_url)."""
    url = settings.file_store_url
    if url.startswith("s3://"):
        return S3FileStore(url, endpoint_url=settings.s3_endpoint_url)
    return LocalFileStore(Path(url.removeprefix("file://")))


def build_video(
    settings: Settings,
    store: Store,
    redis: Redis | None,
    emitter: Emitter,
    conversations: ConversationService,
    notifications: NotificationService,
) -> tuple[SignalingService, EchoService, NetworkingService]:
    """Calls, the echo check and speed networking (docs/video.md): their live
    state in process memory, or in Redis shared by every process."""
    state: CallState = RedisCallState(redis) if redis is not None else MemoryCallState()
    queues: LobbyQueues = RedisLobbyQueues(redis) if redis is not None else MemoryLobbyQueues()
    ice = IceServerProvider(settings)
    networking = NetworkingService(
        settings, store, emitter, queues, conversations, notifications, ice.entries
    )
    calls = Calls(settings, store, emitter, state, ice, conversations.system_messages)
    # The relay asks networking where a session's signals go.
    relay = SignalRelay(emitter, calls, state, networking, settings.signal_max_candidates)
    return SignalingService(calls, relay, ice), EchoService(settings, ice), networking


def process_id() -> str:
    """Names this process in shared state (presence heartbeats)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
