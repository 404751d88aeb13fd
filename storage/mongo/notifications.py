"""The notification inbox on MongoDB."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument

from ..records import NotificationRecord


def _notification(doc: dict[str, Any] | None) -> NotificationRecord | None:
    if doc is None:
        return None
    return NotificationRecord(
        id=doc["_id"],
        user_id=doc["user_id"],
        type=doc["type"],
        data=doc["data"],
        created_at=doc["created_at"],
        read_at=doc.get("read_at"),
    )


class MongoNotificationStore:
    """Notifications keyed by ``_id`` = id (a ULID, so ``_id`` order is time order)."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("user_id", ASCENDING), ("_id", DESCENDING)])

    async def create(self, notification: NotificationRecord) -> None:
        doc = asdict(notification)
        doc["_id"] = doc.pop("id")
        await self.collection.insert_one(doc)

    async def get(self, notification_id: str) -> NotificationRecord | None:
        return _notification(await self.collection.find_one({"_id": notification_id}))

    async def list(
        self, user_id: str, *, unread_only: bool, before: str | None, limit: int
    ) -> list[NotificationRecord]:
        query: dict[str, Any] = {"user_id": user_id}
        if unread_only:
            query["read_at"] = None
        if before is not None:
            query["_id"] = {"$lt": before}
        cursor = self.collection.find(query).sort("_id", DESCENDING).limit(limit)
        return [_notification(doc) async for doc in cursor]  # type: ignore[misc]

    async def mark_read(self, notification_id: str, read_at: str) -> NotificationRecord | None:
        doc = await self.collection.find_one_and_update(
            {"_id": notification_id, "read_at": None},
            {"$set": {"read_at": read_at}},
            return_document=ReturnDocument.AFTER,
        )
        return _notification(doc) if doc is not None else await self.get(notification_id)

    async def mark_all_read(self, user_id: str, read_at: str) -> int:
        result = await self.collection.update_many(
            {"user_id": user_id, "read_at": None}, {"$set": {"read_at": read_at}}
        )
        return result.modified_count

    async def unread_count(self, user_id: str) -> int:
        return await self.collection.count_documents({"user_id": user_id, "read_at": None})
