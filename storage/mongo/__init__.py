"""The server engine: MongoDB through PyMongo's async API.

One code path, whatever the server: marketplace writes are multi-document
transactions (``session.with_transaction``), message search is a ``$text``
query. The test suite's mongomock double (``tests/mongo_double.py``) stands in
for ``AsyncDatabase`` and supplies both; it is never detected here.
"""

from __future__ import annotations

from typing import Protocol

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from .. import interfaces as api
from .account_tokens import MongoAccountTokenStore
from .accounts import MongoBlockStore, MongoRefreshTokenStore, MongoSessionStore, MongoUserStore
from .codec import Document
from .conversations import MongoConversationStore
from .email_digests import MongoEmailDigestStore
from .idempotency import MongoIdempotencyStore
from .marketplace import MongoLedgerStore, MongoMarketStore
from .messages import MongoMessageStore
from .mfa import MongoMfaStore
from .moderation import MongoAuditLogStore, MongoReportStore
from .networking import MongoNetworkingStore
from .notifications import MongoNotificationStore
from .offline import MongoNotificationSettingsStore, MongoPushSubscriptionStore
from .uploads import MongoUploadStore
from .webhooks import MongoWebhookStore


class _Indexed(Protocol):
    async def create_indexes(self) -> None: ...


class MongoStore:
    """Every store on one MongoDB database.

    Takes an already-made async database (so tests can hand in a double) and
    the client to close with the store, if it owns one; ``from_url`` connects
    to a real server. Each store attribute is declared as its protocol
    (``storage.interfaces``): that makes this a ``Store`` and checks that each
    engine store implements its protocol.
    """

    def __init__(
        self, database: AsyncDatabase[Document], client: AsyncMongoClient[Document] | None = None
    ) -> None:
        self.database = database
        self.client = client
        users = MongoUserStore(database["users"], database["blocks"])
        refresh_tokens = MongoRefreshTokenStore(database["refresh_tokens"])
        sessions = MongoSessionStore(database["sessions"], database["refresh_tokens"])
        mfa = MongoMfaStore(database["user_mfa"])
        account_tokens = MongoAccountTokenStore(database["account_tokens"])
        blocks = MongoBlockStore(database["blocks"])
        conversations = MongoConversationStore(
            database["conversations"], database["memberships"], database["bids"]
        )
        messages = MongoMessageStore(
            database["messages"],
            database["message_keys"],
            database["conversations"],
            database["memberships"],
            blocks,
        )
        idempotency = MongoIdempotencyStore(database["idempotency_keys"])
        market = MongoMarketStore(database)
        notifications = MongoNotificationStore(database["notifications"])
        networking = MongoNetworkingStore(
            database["networking_lobbies"],
            database["networking_sessions"],
            database["networking_ratings"],
        )
        uploads = MongoUploadStore(database["uploads"], messages="messages")
        email_digests = MongoEmailDigestStore(database["email_digests"])
        webhooks = MongoWebhookStore(
            database["webhook_endpoints"],
            database["webhook_outbox"],
            database["webhook_deliveries"],
        )
        notification_settings = MongoNotificationSettingsStore(database["notification_settings"])
        push_subscriptions = MongoPushSubscriptionStore(database["push_subscriptions"])
        reports = MongoReportStore(database["reports"], database["milestones"], database["bids"])
        audit = MongoAuditLogStore(database["audit_log"])
        self.users: api.UserStore = users
        self.refresh_tokens: api.RefreshTokenStore = refresh_tokens
        self.sessions: api.SessionStore = sessions
        self.mfa: api.MfaStore = mfa
        self.account_tokens: api.AccountTokenStore = account_tokens
        self.blocks: api.BlockStore = blocks
        self.conversations: api.ConversationStore = conversations
        self.messages: api.MessageStore = messages
        self.idempotency: api.IdempotencyStore = idempotency
        self.market: api.MarketStore = market
        self.ledger: api.LedgerStore = MongoLedgerStore(database)
        self.notifications: api.NotificationStore = notifications
        self.networking: api.NetworkingStore = networking
        self.uploads: api.UploadStore = uploads
        self.email_digests: api.EmailDigestStore = email_digests
        self.webhooks: api.WebhookStore = webhooks
        self.notification_settings: api.NotificationSettingsStore = notification_settings
        self.push_subscriptions: api.PushSubscriptionStore = push_subscriptions
        self.reports: api.ReportStore = reports
        self.audit: api.AuditLogStore = audit
        self._indexed: tuple[_Indexed, ...] = (
            users,
            refresh_tokens,
            sessions,
            mfa,
            account_tokens,
            blocks,
            conversations,
            messages,
            idempotency,
            market,
            notifications,
            networking,
            uploads,
            email_digests,
            webhooks,
            notification_settings,
            push_subscriptions,
            reports,
            audit,
        )

    @classmethod
    def from_url(cls, url: str, write_concern: str | None = "majority") -> MongoStore:
        w: str | int = write_concern or "majority"
        # "1" as a string would name a tag set, not a node count.
        if isinstance(w, str) and w.isdigit():
            w = int(w)
        client: AsyncMongoClient[Document] = AsyncMongoClient(url, tz_aware=True, w=w)
        return cls(client.get_default_database(default="hub"), client)

    async def open(self) -> None:
        for store in self._indexed:
            await store.create_indexes()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def ping(self) -> None:
        await self.database.command("ping")
