"""The embedded engine: SQLite through aiosqlite."""

from __future__ import annotations

from pathlib import Path

from .accounts import (
    SqliteBlockStore,
    SqliteRefreshTokenStore,
    SqliteSessionStore,
    SqliteUserStore,
)
from .conversations import SqliteConversationStore, SqliteMessageStore
from .database import Database
from .idempotency import SqliteIdempotencyStore
from .marketplace import SqliteLedgerStore, SqliteMarketStore
from .networking import SqliteNetworkingStore
from .notifications import SqliteNotificationStore


class SqliteStore:
    """Every store on one SQLite file."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.db = Database(path, synchronous)
        self.users = SqliteUserStore(self.db)
        self.refresh_tokens = SqliteRefreshTokenStore(self.db)
        self.sessions = SqliteSessionStore(self.db)
        self.blocks = SqliteBlockStore(self.db)
        self.conversations = SqliteConversationStore(self.db)
        self.messages = SqliteMessageStore(self.db)
        self.idempotency = SqliteIdempotencyStore(self.db)
        self.market = SqliteMarketStore(self.db)
        self.ledger = SqliteLedgerStore(self.db)
        self.notifications = SqliteNotificationStore(self.db)
        self.networking = SqliteNetworkingStore(self.db)

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    async def ping(self) -> None:
        await self.db.fetch_one("SELECT 1")
