"""The embedded engine: SQLite through aiosqlite."""

from __future__ import annotations

from pathlib import Path

from .. import interfaces as api
from .account_tokens import SqliteAccountTokenStore
from .accounts import (
    SqliteBlockStore,
    SqliteRefreshTokenStore,
    SqliteSessionStore,
    SqliteUserStore,
)
from .conversations import SqliteConversationStore
from .database import Database
from .email_digests import SqliteEmailDigestStore
from .idempotency import SqliteIdempotencyStore
from .marketplace import SqliteLedgerStore, SqliteMarketStore
from .messages import SqliteMessageStore
from .mfa import SqliteMfaStore
from .moderation import SqliteAuditLogStore, SqliteReportStore
from .networking import SqliteNetworkingStore
from .notifications import SqliteNotificationStore
from .offline import SqliteNotificationSettingsStore, SqlitePushSubscriptionStore
from .search_index import SearchIndexer
from .uploads import SqliteUploadStore
from .webhooks import SqliteWebhookStore


class SqliteStore:
    """Every store on one SQLite file.

    Each attribute is declared as its protocol (``storage.interfaces``), which
    is both what makes this a ``Store`` and the check that each engine store
    implements its protocol."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.db = Database(path, synchronous)
        self.search_indexer = SearchIndexer(self.db)
        self.users: api.UserStore = SqliteUserStore(self.db)
        self.refresh_tokens: api.RefreshTokenStore = SqliteRefreshTokenStore(self.db)
        self.sessions: api.SessionStore = SqliteSessionStore(self.db)
        self.mfa: api.MfaStore = SqliteMfaStore(self.db)
        self.account_tokens: api.AccountTokenStore = SqliteAccountTokenStore(self.db)
        self.blocks: api.BlockStore = SqliteBlockStore(self.db)
        self.conversations: api.ConversationStore = SqliteConversationStore(self.db)
        self.messages: api.MessageStore = SqliteMessageStore(self.db, self.search_indexer)
        self.idempotency: api.IdempotencyStore = SqliteIdempotencyStore(self.db)
        self.market: api.MarketStore = SqliteMarketStore(self.db)
        self.ledger: api.LedgerStore = SqliteLedgerStore(self.db)
        self.notifications: api.NotificationStore = SqliteNotificationStore(self.db)
        self.networking: api.NetworkingStore = SqliteNetworkingStore(self.db)
        self.uploads: api.UploadStore = SqliteUploadStore(self.db)
        self.email_digests: api.EmailDigestStore = SqliteEmailDigestStore(self.db)
        self.webhooks: api.WebhookStore = SqliteWebhookStore(self.db)
        self.notification_settings: api.NotificationSettingsStore = SqliteNotificationSettingsStore(
            self.db
        )
        self.push_subscriptions: api.PushSubscriptionStore = SqlitePushSubscriptionStore(self.db)
        self.reports: api.ReportStore = SqliteReportStore(self.db)
        self.audit: api.AuditLogStore = SqliteAuditLogStore(self.db)

    async def open(self) -> None:
        await self.db.open()
        await self.search_indexer.catch_up()  # what a crash left unindexed
        self.search_indexer.start()

    async def close(self) -> None:
        await self.search_indexer.stop()
        await self.db.close()

    async def ping(self) -> None:
        await self.db.fetch_one("SELECT 1")
