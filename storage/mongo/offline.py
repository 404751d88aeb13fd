"""Reaching users who are offline (issue 18) on MongoDB: notification settings
and Web Push subscriptions."""

from __future__ import annotations

from dataclasses import asdict

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ..records import NotificationSettingsRecord, PushSubscriptionRecord
from .codec import Document, from_doc, to_doc


class MongoNotificationSettingsStore:
    """One document per user, ``_id`` = the user id."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        """``_id`` is the only key."""

    async def get(self, user_id: str) -> NotificationSettingsRecord | None:
        doc = await self.collection.find_one({"_id": user_id})
        if doc is None:
            return None
        record: NotificationSettingsRecord = from_doc(
            NotificationSettingsRecord, {**doc, "user_id": user_id}
        )
        return record

    async def put(self, record: NotificationSettingsRecord) -> None:
        fields = asdict(record)
        user_id = fields.pop("user_id")
        await self.collection.update_one({"_id": user_id}, {"$set": fields}, upsert=True)


_KEEP_ON_UPSERT = ("_id", "endpoint", "created_at")


class MongoPushSubscriptionStore:
    """Subscriptions keyed by ``_id`` = id; the endpoint is unique."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index("endpoint", unique=True)
        await self.collection.create_index([("user_id", ASCENDING), ("created_at", ASCENDING)])

    async def upsert(self, record: PushSubscriptionRecord) -> PushSubscriptionRecord:
        doc = to_doc(record)
        update = {
            "$set": {k: v for k, v in doc.items() if k not in _KEEP_ON_UPSERT},
            "$setOnInsert": {k: doc[k] for k in ("_id", "created_at")},
        }
        for attempt in range(2):  # two first posts of one endpoint race: the loser updates
            try:
                stored = await self.collection.find_one_and_update(
                    {"endpoint": record.endpoint},
                    update,
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                assert stored is not None  # upserted
                return from_doc(PushSubscriptionRecord, stored)
            except DuplicateKeyError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def get(self, subscription_id: str) -> PushSubscriptionRecord | None:
        return from_doc(
            PushSubscriptionRecord, await self.collection.find_one({"_id": subscription_id})
        )

    async def list_for_users(self, user_ids: list[str]) -> list[PushSubscriptionRecord]:
        if not user_ids:
            return []
        cursor = self.collection.find({"user_id": {"$in": user_ids}}).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)]
        )
        return [from_doc(PushSubscriptionRecord, doc) async for doc in cursor]

    async def delete(self, subscription_id: str) -> bool:
        result = await self.collection.delete_one({"_id": subscription_id})
        return result.deleted_count == 1
