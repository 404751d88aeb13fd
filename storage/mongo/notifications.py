"""The notification inbox on MongoDB."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from ..records import NotificationRecord
from .codec import Document, from_doc, to_doc
from .ops import insert, newest_first


class MongoNotificationStore:
    """Notifications keyed by ``_id`` = id (a ULID, so ``_id`` order is time order)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("user_id", ASCENDING), ("_id", DESCENDING)])

    async def create(self, notification: NotificationRecord) -> None:
        await insert(self.collection, to_doc(notification))

    async def get(self, notification_id: str) -> NotificationRecord | None:
        return from_doc(
            NotificationRecord, await self.collection.find_one({"_id": notification_id})
        )

    async def list(
        self, user_id: str, *, unread_only: bool, before: str | None, limit: int
    ) -> list[NotificationRecord]:
        query: dict[str, Any] = {"user_id": user_id}
        if unread_only:
            query["read_at"] = None
        return await newest_first(
            self.collection, NotificationRecord, query, before=before, limit=limit
        )

    async def mark_read(self, notification_id: str, read_at: str) -> NotificationRecord | None:
        doc = await self.collection.find_one_and_update(
            {"_id": notification_id, "read_at": None},
            {"$set": {"read_at": read_at}},
            return_document=ReturnDocument.AFTER,
        )
        return (
            from_doc(NotificationRecord, doc)
            if doc is not None
            else await self.get(notification_id)
        )

    async def mark_all_read(self, user_id: str, read_at: str) -> int:
        result = await self.collection.update_many(
            {"user_id": user_id, "read_at": None}, {"$set": {"read_at": read_at}}
        )
        return result.modified_count

    async def unread_count(self, user_id: str) -> int:
        return await self.collection.count_documents({"user_id": user_id, "read_at": None})
