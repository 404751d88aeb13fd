"""Email digests (issue 18) on MongoDB: one document per user (``_id`` = the
user id), every change a conditional single-document update on the absence it
was read for."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ..records import EmailDigestRecord
from .codec import Document, from_doc


def _record(doc: Document) -> EmailDigestRecord:
    record: EmailDigestRecord = from_doc(EmailDigestRecord, {**doc, "user_id": doc["_id"]})
    return record


def _unleased(now: str) -> dict[str, Any]:
    return {"$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}


class MongoEmailDigestStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("state", ASCENDING), ("due_at", ASCENDING)])

    async def get(self, user_id: str) -> EmailDigestRecord | None:
        doc = await self.collection.find_one({"_id": user_id})
        return _record(doc) if doc is not None else None

    async def schedule(self, record: EmailDigestRecord) -> bool:
        doc = asdict(record)
        user_id = doc.pop("user_id")
        try:
            # Matches only an earlier absence; with none stored the upsert
            # inserts, and with a same-or-later one it collides on _id.
            await self.collection.update_one(
                {"_id": user_id, "absence_since": {"$lt": record.absence_since}},
                {"$set": doc},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def due(self, now: str, limit: int) -> list[EmailDigestRecord]:
        cursor = (
            self.collection.find({"state": "pending", "due_at": {"$lte": now}, **_unleased(now)})
            .sort("due_at", ASCENDING)
            .limit(limit)
        )
        return [_record(doc) async for doc in cursor]

    async def claim(
        self, user_id: str, absence_since: str, now: str, lease_until: str
    ) -> EmailDigestRecord | None:
        doc = await self.collection.find_one_and_update(
            {
                "_id": user_id,
                "absence_since": absence_since,
                "state": "pending",
                "due_at": {"$lte": now},
                **_unleased(now),
            },
            {"$set": {"lease_until": lease_until}},
            return_document=ReturnDocument.AFTER,
        )
        return _record(doc) if doc is not None else None

    async def finish(self, user_id: str, absence_since: str, state: str, at: str) -> bool:
        result = await self.collection.update_one(
            {"_id": user_id, "absence_since": absence_since, "state": "pending"},
            {"$set": {"state": state, "finished_at": at, "lease_until": None}},
        )
        return result.modified_count == 1

    async def release(self, user_id: str, absence_since: str, due_at: str, attempts: int) -> bool:
        result = await self.collection.update_one(
            {"_id": user_id, "absence_since": absence_since, "state": "pending"},
            {"$set": {"due_at": due_at, "attempts": attempts, "lease_until": None}},
        )
        return result.matched_count == 1

    async def rearm(self, user_ids: list[str], due_at: str) -> int:
        if not user_ids:
            return 0
        result = await self.collection.update_many(
            {"_id": {"$in": user_ids}, "state": "idle"},
            {"$set": {"state": "pending", "due_at": due_at, "finished_at": None}},
        )
        return result.modified_count
