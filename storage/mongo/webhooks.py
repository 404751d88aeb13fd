"""Outbound webhooks on MongoDB: endpoints, the outbox and the deliveries log,
each keyed by ``_id`` = id (a ULID, so ``_id`` order is creation order)."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from ..records import WebhookDeliveryRecord, WebhookEndpointRecord, WebhookOutboxRecord
from .codec import Document, from_doc, to_doc
from .ops import delete_some, insert, newest_first

PENDING = "pending"
FAILED = "failed"


class MongoWebhookStore:
    def __init__(
        self,
        endpoints: AsyncCollection[Document],
        outbox: AsyncCollection[Document],
        deliveries: AsyncCollection[Document],
    ) -> None:
        self.endpoints = endpoints
        self.outbox = outbox
        self.deliveries_log = deliveries

    async def create_indexes(self) -> None:
        await self.outbox.create_index(
            [("endpoint_id", ASCENDING), ("status", ASCENDING), ("_id", ASCENDING)]
        )
        await self.outbox.create_index([("status", ASCENDING), ("created_at", ASCENDING)])
        await self.deliveries_log.create_index([("endpoint_id", ASCENDING), ("_id", DESCENDING)])
        await self.deliveries_log.create_index([("at", ASCENDING)])

    async def create_endpoint(self, endpoint: WebhookEndpointRecord) -> None:
        await insert(self.endpoints, to_doc(endpoint))

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpointRecord | None:
        return from_doc(WebhookEndpointRecord, await self.endpoints.find_one({"_id": endpoint_id}))

    async def list_endpoints(self) -> list[WebhookEndpointRecord]:
        cursor = self.endpoints.find({}).sort("_id", ASCENDING)
        return [from_doc(WebhookEndpointRecord, doc) async for doc in cursor]

    async def delete_endpoint(self, endpoint_id: str) -> bool:
        result = await self.endpoints.delete_one({"_id": endpoint_id})
        await self.outbox.delete_many({"endpoint_id": endpoint_id})
        await self.deliveries_log.delete_many({"endpoint_id": endpoint_id})
        return result.deleted_count == 1

    async def enqueue(self, entries: list[WebhookOutboxRecord]) -> None:
        if entries:
            await self.outbox.insert_many([to_doc(entry) for entry in entries], ordered=True)

    async def claim(
        self, endpoint_id: str, owner: str, now: str, lease_until: str
    ) -> WebhookOutboxRecord | None:
        head = await self.outbox.find_one(
            {"endpoint_id": endpoint_id, "status": PENDING}, sort=[("_id", ASCENDING)]
        )
        if head is None:
            return None
        # The filter makes check-and-lease one server-side step: one caller wins.
        doc = await self.outbox.find_one_and_update(
            {
                "_id": head["_id"],
                "status": PENDING,
                "next_attempt_at": {"$lte": now},
                "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}],
            },
            {"$set": {"lease_owner": owner, "lease_until": lease_until}},
            return_document=ReturnDocument.AFTER,
        )
        return from_doc(WebhookOutboxRecord, doc)

    async def delivered(self, entry_id: str, owner: str) -> bool:
        result = await self.outbox.delete_one(
            {"_id": entry_id, "lease_owner": owner, "status": PENDING}
        )
        return result.deleted_count == 1

    async def retry_later(
        self, entry_id: str, owner: str, next_attempt_at: str, error: str
    ) -> bool:
        result = await self.outbox.update_one(
            {"_id": entry_id, "lease_owner": owner, "status": PENDING},
            {
                "$inc": {"attempts": 1},
                "$set": {
                    "next_attempt_at": next_attempt_at,
                    "last_error": error,
                    "lease_owner": None,
                    "lease_until": None,
                },
            },
        )
        return result.modified_count == 1

    async def give_up(self, entry_id: str, owner: str, error: str) -> bool:
        result = await self.outbox.update_one(
            {"_id": entry_id, "lease_owner": owner, "status": PENDING},
            {
                "$inc": {"attempts": 1},
                "$set": {
                    "status": FAILED,
                    "last_error": error,
                    "lease_owner": None,
                    "lease_until": None,
                },
            },
        )
        return result.modified_count == 1

    async def outbox_stats(self) -> tuple[int, str | None]:
        depth = await self.outbox.count_documents({"status": PENDING})
        if depth == 0:
            return 0, None
        oldest = await self.outbox.find_one({"status": PENDING}, sort=[("created_at", ASCENDING)])
        return depth, oldest["created_at"] if oldest is not None else None

    async def log_delivery(self, delivery: WebhookDeliveryRecord) -> None:
        await insert(self.deliveries_log, to_doc(delivery))

    async def deliveries(
        self, endpoint_id: str, *, before: str | None, limit: int
    ) -> list[WebhookDeliveryRecord]:
        return await newest_first(
            self.deliveries_log,
            WebhookDeliveryRecord,
            {"endpoint_id": endpoint_id},
            before=before,
            limit=limit,
        )

    async def prune_deliveries(self, before: str, limit: int) -> int:
        return await delete_some(self.deliveries_log, {"at": {"$lt": before}}, limit)

    async def prune_failed(self, before: str, limit: int) -> int:
        return await delete_some(
            self.outbox, {"status": FAILED, "created_at": {"$lt": before}}, limit
        )
