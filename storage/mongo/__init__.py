"""The server engine: MongoDB through PyMongo's async API."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from .accounts import MongoBlockStore, MongoRefreshTokenStore, MongoSessionStore, MongoUserStore
from .conversations import MongoConversationStore, MongoMessageStore
from .idempotency import MongoIdempotencyStore
from .marketplace import MongoLedgerStore, MongoMarketStore
from .networking import MongoNetworkingStore
from .notifications import MongoNotificationStore


class MongoStore:
    """Every store on one MongoDB database.

    Takes an already-made async database so tests can hand in a double; use
    ``from_url`` to connect to a real server.
    """

    def __init__(self, database: Any, client: AsyncMongoClient[Any] | None = None) -> None:
        self.database = database
        self.client = client
        self.users = MongoUserStore(database["users"])
        self.refresh_tokens = MongoRefreshTokenStore(database["refresh_tokens"])
        self.sessions = MongoSessionStore(database["sessions"])
        self.blocks = MongoBlockStore(database["blocks"])
        self.conversations = MongoConversationStore(
            database["conversations"], database["memberships"], database["bids"]
        )
        self.messages = MongoMessageStore(
            database["messages"],
            database["message_keys"],
            database["conversations"],
            database["memberships"],
            self.blocks,
            text_search=not _is_test_double(database),
        )
        self.idempotency = MongoIdempotencyStore(database["idempotency_keys"])
        # Multi-document transactions on a real server (they need a replica set);
        # the test double has none (see MongoMarketStore.apply).
        transactional = not _is_test_double(database)
        self.market = MongoMarketStore(
            database, (client or database.client) if transactional else None, transactional
        )
        self.ledger = MongoLedgerStore(database)
        self.notifications = MongoNotificationStore(database["notifications"])
        self.networking = MongoNetworkingStore(
            database["networking_lobbies"],
            database["networking_sessions"],
            database["networking_ratings"],
        )

    @classmethod
    def from_url(cls, url: str, write_concern: str | None = "majority") -> MongoStore:
        w: str | int = write_concern or "majority"
        # "1" as a string would name a tag set, not a node count.
        if isinstance(w, str) and w.isdigit():
            w = int(w)
        client: AsyncMongoClient[Any] = AsyncMongoClient(url, tz_aware=True, w=w)
        return cls(client.get_default_database(default="hub"), client)

    async def open(self) -> None:
        await self.users.create_indexes()
        await self.refresh_tokens.create_indexes()
        await self.sessions.create_indexes()
        await self.blocks.create_indexes()
        await self.conversations.create_indexes()
        await self.messages.create_indexes()
        await self.idempotency.create_indexes()
        await self.market.create_indexes()
        await self.notifications.create_indexes()
        await self.networking.create_indexes()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def ping(self) -> None:
        await self.database.command("ping")


def _is_test_double(database: Any) -> bool:
    """True for the mongomock test double (``tests/mongo_double.py``), which has no ``$text``.

    Looked up on the class: a real ``AsyncDatabase`` turns unknown attributes
    into collections.
    """
    return getattr(type(database), "IS_TEST_DOUBLE", False) is True
