"""Two-factor (TOTP) state on MongoDB (issue 19): one document per user
(``_id`` = the user id), every change that guards a code one conditional
single-document update."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ..records import MfaRecord
from .codec import Document, from_doc


def _record(doc: Document) -> MfaRecord:
    record: MfaRecord = from_doc(MfaRecord, {**doc, "user_id": doc["_id"]})
    return record


def _usable(user_id: str, now: str) -> dict[str, Any]:
    """The user's record while 2FA is on and they are not locked at ``now``."""
    return {
        "_id": user_id,
        "secret": {"$ne": None},
        "$or": [{"locked_until": None}, {"locked_until": {"$lte": now}}],
    }


class MongoMfaStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        """Every read is by ``_id``."""

    async def get(self, user_id: str) -> MfaRecord | None:
        doc = await self.collection.find_one({"_id": user_id})
        return _record(doc) if doc is not None else None

    async def set_pending(self, user_id: str, pending_secret: str, at: str) -> bool:
        try:
            # Matches only a record with 2FA off; with none stored the upsert
            # inserts, and with 2FA on it collides on _id.
            await self.collection.update_one(
                {"_id": user_id, "secret": None},
                {"$set": {"pending_secret": pending_secret, "updated_at": at}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def enable(
        self, user_id: str, pending_secret: str, recovery_codes: list[str], step: int, at: str
    ) -> bool:
        result = await self.collection.update_one(
            {"_id": user_id, "pending_secret": pending_secret, "secret": None},
            {
                "$set": {
                    "secret": pending_secret,
                    "pending_secret": None,
                    "enabled_at": at,
                    "updated_at": at,
                    "recovery_codes": list(recovery_codes),
                    "last_step": step,
                    "failures": 0,
                    "locked_until": None,
                }
            },
        )
        return result.modified_count == 1

    async def disable(self, user_id: str) -> bool:
        result = await self.collection.delete_one({"_id": user_id, "secret": {"$ne": None}})
        return result.deleted_count == 1

    async def use_step(self, user_id: str, step: int, now: str) -> bool:
        result = await self.collection.update_one(
            {**_usable(user_id, now), "last_step": {"$lt": step}},
            {"$set": {"last_step": step, "failures": 0}},
        )
        return result.modified_count == 1

    async def use_recovery_code(self, user_id: str, code_hash: str, now: str) -> bool:
        result = await self.collection.update_one(
            {**_usable(user_id, now), "recovery_codes": code_hash},
            {"$pull": {"recovery_codes": code_hash}, "$set": {"failures": 0}},
        )
        return result.modified_count == 1

    async def record_failure(
        self, user_id: str, max_failures: int, locked_until: str
    ) -> str | None:
        doc = await self.collection.find_one_and_update(
            {"_id": user_id}, {"$inc": {"failures": 1}}, return_document=ReturnDocument.AFTER
        )
        if doc is None or doc["failures"] < max_failures:
            return None
        # Of concurrent failures past the limit, the one whose count is still
        # stored locks (and starts counting again); the others were counted.
        result = await self.collection.update_one(
            {"_id": user_id, "failures": doc["failures"]},
            {"$set": {"failures": 0, "locked_until": locked_until}},
        )
        return locked_until if result.modified_count == 1 else None
