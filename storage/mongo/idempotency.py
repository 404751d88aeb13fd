"""Idempotency keys on MongoDB: one document per (scope, key), the claim of a
request and, once it is done, its response."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from ..errors import DuplicateError
from ..records import IdempotencyRecord
from .codec import Document, from_doc, to_doc
from .ops import insert


class MongoIdempotencyStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("scope", ASCENDING), ("key", ASCENDING)], unique=True)
        await self.collection.create_index([("created_at", ASCENDING)])

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        doc = await self.collection.find_one({"scope": scope, "key": key})
        return from_doc(IdempotencyRecord, doc)

    async def reserve(self, record: IdempotencyRecord) -> bool:
        pending = IdempotencyRecord(
            record.scope, record.key, record.request_hash, 0, None, record.created_at
        )
        try:
            await insert(self.collection, to_doc(pending))
        except DuplicateError:
            return False
        return True

    async def take_over(
        self, record: IdempotencyRecord, *, pending_before: str, any_before: str
    ) -> bool:
        # One conditional update: of two concurrent takers only one matches.
        result = await self.collection.update_one(
            {
                "scope": record.scope,
                "key": record.key,
                "$or": [
                    {"status": 0, "created_at": {"$lt": pending_before}},
                    {"created_at": {"$lt": any_before}},
                ],
            },
            {
                "$set": {
                    "request_hash": record.request_hash,
                    "status": 0,
                    "body": None,
                    "created_at": record.created_at,
                }
            },
        )
        return result.modified_count == 1

    async def complete(self, scope: str, key: str, token: str, status: int, body: Any) -> bool:
        result = await self.collection.update_one(
            {"scope": scope, "key": key, "created_at": token, "status": {"$in": [0, 1]}},
            {"$set": {"status": status, "body": body}},
        )
        return result.modified_count == 1

    async def release(self, scope: str, key: str, token: str) -> None:
        await self.collection.delete_one(
            {"scope": scope, "key": key, "created_at": token, "status": 0}
        )

    async def purge(self, before: str) -> int:
        result = await self.collection.delete_many({"created_at": {"$lt": before}})
        return int(result.deleted_count)
