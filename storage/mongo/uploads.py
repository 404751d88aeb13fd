"""Uploads (the files that become attachments) on MongoDB.

``attach`` uses no multi-document transaction, as message appends use none
(``storage/mongo/messages.py``): sending a message with attachments works on a
standalone server too. It reads the uploads, marks them with one conditional
``update_many`` and, if a concurrent request took one in between, puts back
what it marked. A crash between the mark and the put-back can leave some of
them attached to a message that was never written.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from ..records import UploadRecord
from ..schema import check_changes
from .codec import Document, from_doc, to_doc
from .ops import insert

# What completing an upload may not set: its identity, and the states the
# store's own steps move.
_FROZEN = {"id", "owner_id", "conversation_id", "created_at", "expires_at", "status", "message_id"}


class MongoUploadStore:
    """``uploads`` (``_id`` = id); ``messages`` names the collection whose
    ``deleted`` flag ``stale`` reads."""

    def __init__(self, uploads: AsyncCollection[Document], messages: str = "messages") -> None:
        self.uploads = uploads
        self.messages = messages

    async def create_indexes(self) -> None:
        await self.uploads.create_index([("owner_id", ASCENDING), ("created_at", ASCENDING)])
        await self.uploads.create_index([("status", ASCENDING), ("expires_at", ASCENDING)])
        await self.uploads.create_index("message_id")

    async def create(self, upload: UploadRecord) -> None:
        await insert(self.uploads, to_doc(upload))

    async def get(self, upload_id: str) -> UploadRecord | None:
        return from_doc(UploadRecord, await self.uploads.find_one({"_id": upload_id}))

    async def complete(self, upload_id: str, changes: dict[str, Any]) -> UploadRecord | None:
        check_changes(UploadRecord, changes, _FROZEN)
        doc = await self.uploads.find_one_and_update(
            {"_id": upload_id, "status": "pending"},
            {"$set": {**changes, "status": "complete"}},
            return_document=ReturnDocument.AFTER,
        )
        return from_doc(UploadRecord, doc)

    async def attach(
        self, upload_ids: list[str], owner_id: str, conversation_id: str, message_id: str
    ) -> list[UploadRecord] | None:
        if not upload_ids:
            return []
        attachable = {
            "_id": {"$in": upload_ids},
            "owner_id": owner_id,
            "conversation_id": conversation_id,
            "status": "complete",
            "message_id": None,
        }
        docs = await self.uploads.find(attachable).to_list(None)
        if len(docs) != len(upload_ids):  # also an id given twice
            return None
        marked = await self.uploads.update_many(
            attachable, {"$set": {"status": "attached", "message_id": message_id}}
        )
        if marked.modified_count != len(upload_ids):
            # Another request attached one since the read. Every id was
            # unattached then, so those now on message_id are this call's.
            await self.uploads.update_many(
                {"_id": {"$in": upload_ids}, "message_id": message_id},
                {"$set": {"status": "complete", "message_id": None}},
            )
            return None
        by_id = {doc["_id"]: from_doc(UploadRecord, doc) for doc in docs}
        records = [by_id[upload_id] for upload_id in upload_ids]
        for record in records:
            record.status, record.message_id = "attached", message_id
        return records

    async def detach(self, message_id: str) -> None:
        await self.uploads.update_many(
            {"message_id": message_id, "status": "attached"},
            {"$set": {"status": "complete", "message_id": None}},
        )

    async def set_scan_status(self, upload_id: str, scan_status: str) -> None:
        await self.uploads.update_one({"_id": upload_id}, {"$set": {"scan_status": scan_status}})

    async def stale(self, now: str, limit: int) -> list[UploadRecord]:
        cursor = (
            self.uploads.find({"status": "pending", "expires_at": {"$lte": now}})
            .sort("expires_at", ASCENDING)
            .limit(limit)
        )
        expired = [from_doc(UploadRecord, doc) async for doc in cursor]
        if len(expired) >= limit:
            return expired
        orphaned = await self.uploads.aggregate(
            [
                {"$match": {"status": "attached"}},
                {
                    "$lookup": {
                        "from": self.messages,
                        "localField": "message_id",
                        "foreignField": "_id",
                        "as": "message",
                    }
                },
                {"$match": {"message.deleted": True}},
                {"$project": {"message": 0}},
                {"$limit": limit - len(expired)},
            ]
        )
        return expired + [from_doc(UploadRecord, doc) async for doc in orphaned]

    async def unwritten(self, limit: int) -> list[str]:
        cursor = await self.uploads.aggregate(
            [
                {"$match": {"status": "attached"}},
                {
                    "$lookup": {
                        "from": self.messages,
                        "localField": "message_id",
                        "foreignField": "_id",
                        "as": "message",
                    }
                },
                {"$match": {"message": {"$size": 0}}},
                {"$project": {"_id": 1}},
                {"$limit": limit},
            ]
        )
        return [doc["_id"] async for doc in cursor]

    async def delete(self, upload_id: str) -> None:
        await self.uploads.delete_one({"_id": upload_id})

    async def bytes_since(self, owner_id: str, since: str) -> int:
        cursor = await self.uploads.aggregate(
            [
                {"$match": {"owner_id": owner_id, "created_at": {"$gte": since}}},
                {"$group": {"_id": None, "total": {"$sum": "$size"}}},
            ]
        )
        rows = await cursor.to_list(None)
        return int(rows[0]["total"]) if rows else 0
