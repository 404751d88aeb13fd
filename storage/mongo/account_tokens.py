"""Single-use account tokens on MongoDB (issue 19): password reset and email
verification, one document per token (``_id`` = the token's SHA-256 hash); a
use is one conditional ``find_one_and_update``."""

from __future__ import annotations

from dataclasses import asdict

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from ..records import AccountTokenPurpose, AccountTokenRecord
from .codec import Document, from_doc
from .ops import insert


def _record(doc: Document) -> AccountTokenRecord:
    record: AccountTokenRecord = from_doc(AccountTokenRecord, {**doc, "token_hash": doc["_id"]})
    return record


class MongoAccountTokenStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("user_id", ASCENDING), ("purpose", ASCENDING), ("used_at", ASCENDING)]
        )
        await self.collection.create_index("expires_at")

    async def create(self, token: AccountTokenRecord) -> None:
        doc = asdict(token)
        doc["_id"] = doc.pop("token_hash")
        await insert(self.collection, doc)

    async def consume(
        self, token_hash: str, purpose: AccountTokenPurpose, now: str
    ) -> AccountTokenRecord | None:
        doc = await self.collection.find_one_and_update(
            {"_id": token_hash, "purpose": purpose, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return _record(doc) if doc is not None else None

    async def discard(self, user_id: str, purpose: AccountTokenPurpose, now: str) -> int:
        result = await self.collection.update_many(
            {"user_id": user_id, "purpose": purpose, "used_at": None},
            {"$set": {"used_at": now}},
        )
        return result.modified_count

    async def purge(self, expired_before: str) -> int:
        result = await self.collection.delete_many({"expires_at": {"$lt": expired_before}})
        return result.deleted_count
