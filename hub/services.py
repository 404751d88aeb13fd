"""What the doors (REST handlers and socket namespaces) may call: the domain
services, by name. The composition root (hub/context.py) provides them; the
doors see only this protocol, never the container, its adapters or its wiring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from signaling.echo import EchoService
    from signaling.service import SignalingService

    from .accounts import AccountService, SessionService
    from .attachments import AttachmentService
    from .config import Settings
    from .conversations import ConversationService
    from .health import Readiness
    from .idempotency import Idempotency
    from .marketplace import BidService, JobService, MilestoneService, WalletService
    from .metrics import Metrics
    from .moderation import ModerationService
    from .networking import NetworkingService
    from .notifications import NotificationService
    from .offline.preferences import Preferences
    from .offline.push import PushService
    from .offline.unsubscribe import Unsubscribes
    from .offline.webhooks import WebhookService
    from .presence import PresenceService


class Services(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def readiness(self) -> Readiness: ...
    @property
    def idempotency(self) -> Idempotency: ...
    @property
    def accounts(self) -> AccountService: ...
    @property
    def sessions(self) -> SessionService: ...
    @property
    def conversations(self) -> ConversationService: ...
    @property
    def attachments(self) -> AttachmentService: ...
    @property
    def presence(self) -> PresenceService: ...
    @property
    def notifications(self) -> NotificationService: ...
    @property
    def preferences(self) -> Preferences: ...
    @property
    def email_unsubscribe(self) -> Unsubscribes: ...
    @property
    def push(self) -> PushService: ...
    @property
    def jobs(self) -> JobService: ...
    @property
    def bids(self) -> BidService: ...
    @property
    def milestones(self) -> MilestoneService: ...
    @property
    def wallet(self) -> WalletService: ...
    @property
    def signaling(self) -> SignalingService: ...
    @property
    def echo(self) -> EchoService: ...
    @property
    def networking(self) -> NetworkingService: ...
    @property
    def webhooks(self) -> WebhookService: ...

    @property
    def moderation(self) -> ModerationService: ...


SERVICES = web.AppKey("services", Services)
