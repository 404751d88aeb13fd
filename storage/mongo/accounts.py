"""Users, refresh tokens, sessions and blocks on MongoDB."""

from __future__ import annotations

import re
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from ..errors import DuplicateError
from ..records import (
    BlockRecord,
    DirectoryQuery,
    RefreshTokenRecord,
    SessionRecord,
    UserListQuery,
    UserRecord,
)
from ..schema import check_changes
from .codec import Document, from_doc, to_doc
from .errors import duplicates_raised
from .ops import delete_some, insert, newest_first, set_once


class MongoUserStore:
    """Users keyed by ``_id`` = user id, unique on email. The directory also
    reads ``blocks`` (the collection of ``MongoBlockStore``)."""

    def __init__(
        self, collection: AsyncCollection[Document], blocks: AsyncCollection[Document]
    ) -> None:
        self.collection = collection
        self.blocks = blocks

    async def create_indexes(self) -> None:
        await self.collection.create_index("email", unique=True)
        # The directory's order: a page without filters reads it in index order.
        await self.collection.create_index([("display_name", ASCENDING), ("_id", ASCENDING)])

    async def create(self, user: UserRecord) -> None:
        await insert(self.collection, to_doc(user))

    async def get(self, user_id: str) -> UserRecord | None:
        return from_doc(UserRecord, await self.collection.find_one({"_id": user_id}))

    async def get_by_email(self, email: str) -> UserRecord | None:
        return from_doc(UserRecord, await self.collection.find_one({"email": email}))

    async def get_many(self, user_ids: list[str]) -> list[UserRecord]:
        if not user_ids:
            return []
        docs = await self.collection.find({"_id": {"$in": list(user_ids)}}).to_list(None)
        return [from_doc(UserRecord, doc) for doc in docs]

    async def update(self, user_id: str, changes: dict[str, Any]) -> UserRecord | None:
        check_changes(UserRecord, changes, {"id"})
        if not changes:
            return await self.get(user_id)
        with duplicates_raised():
            doc = await self.collection.find_one_and_update(
                {"_id": user_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
            )
        return from_doc(UserRecord, doc)

    async def set_last_seen(self, seen: list[tuple[str, str]]) -> None:
        if seen:
            await self.collection.bulk_write(
                [
                    UpdateOne({"_id": user_id}, {"$set": {"last_seen_at": at}})
                    for user_id, at in seen
                ],
                ordered=False,
            )

    async def directory(
        self, query: DirectoryQuery, *, after: tuple[str, str] | None, limit: int
    ) -> list[UserRecord]:
        viewer = query.viewer_id
        # Both sides of every block of the viewer (few, and indexed both ways).
        hidden = {viewer}
        async for block in self.blocks.find(
            {"$or": [{"blocker_id": viewer}, {"blocked_id": viewer}]},
            {"blocker_id": 1, "blocked_id": 1},
        ):
            hidden.update((block["blocker_id"], block["blocked_id"]))
        conditions: list[dict[str, Any]] = [
            {"_id": {"$nin": sorted(hidden)}},
            {"banned_at": None},
            {"$or": [{"suspended_until": None}, {"suspended_until": {"$lte": query.now}}]},
        ]
        if query.role is not None:
            conditions.append({"role": query.role})
        for word in query.words:
            # Regex on an array field matches when any element does.
            pattern = {"$regex": re.escape(word), "$options": "i"}
            conditions.append(
                {"$or": [{"display_name": pattern}, {"headline": pattern}, {"skills": pattern}]}
            )
        for skill in query.skills:
            conditions.append({"skills": {"$regex": f"^{re.escape(skill)}$", "$options": "i"}})
        if after is not None:
            name, last_id = after
            conditions.append(
                {
                    "$or": [
                        {"display_name": {"$gt": name}},
                        {"display_name": name, "_id": {"$gt": last_id}},
                    ]
                }
            )
        cursor = (
            self.collection.find({"$and": conditions})
            .sort([("display_name", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [from_doc(UserRecord, doc) async for doc in cursor]

    async def listed(
        self, query: UserListQuery, *, before: str | None, limit: int
    ) -> list[UserRecord]:
        conditions: list[dict[str, Any]] = []
        if query.status == "banned":
            conditions.append({"banned_at": {"$ne": None}})
        elif query.status == "suspended":
            conditions.append({"banned_at": None, "suspended_until": {"$gt": query.now}})
        elif query.status == "active":
            conditions.append({"banned_at": None})
            conditions.append(
                {"$or": [{"suspended_until": None}, {"suspended_until": {"$lte": query.now}}]}
            )
        if query.role is not None:
            conditions.append({"role": query.role})
        for word in query.words:
            pattern = {"$regex": re.escape(word), "$options": "i"}
            conditions.append(
                {
                    "$or": [
                        {"display_name": pattern},
                        {"headline": pattern},
                        {"email": pattern},
                        {"skills": pattern},
                    ]
                }
            )
        found: Document = {"$and": conditions} if conditions else {}
        return await newest_first(self.collection, UserRecord, found, before=before, limit=limit)


class MongoRefreshTokenStore:
    """Refresh tokens keyed by ``_id`` = token hash."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index("family_id")
        await self.collection.create_index([("expires_at", ASCENDING)])  # prune

    async def create(self, token: RefreshTokenRecord) -> None:
        await insert(self.collection, to_doc(token))

    async def get(self, token_hash: str) -> RefreshTokenRecord | None:
        return from_doc(RefreshTokenRecord, await self.collection.find_one({"_id": token_hash}))

    async def mark_used(self, token_hash: str, used_at: str) -> bool:
        # One server-side check-and-set: two concurrent refreshes cannot both win.
        return await set_once(self.collection, token_hash, "used_at", used_at)

    async def revoke_family(self, family_id: str, revoked_at: str) -> None:
        await self.collection.update_many(
            {"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": revoked_at}}
        )

    async def prune(self, before: str, limit: int) -> int:
        return await delete_some(self.collection, {"expires_at": {"$lt": before}}, limit)


class MongoSessionStore:
    """Sessions keyed by ``_id`` = session id (= refresh-token family id);
    ``refresh_tokens`` is read to tell which unrevoked sessions expired."""

    def __init__(
        self, collection: AsyncCollection[Document], refresh_tokens: AsyncCollection[Document]
    ) -> None:
        self.collection = collection
        self.refresh_tokens = refresh_tokens

    async def create_indexes(self) -> None:
        await self.collection.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])
        # prune_revoked ({revoked_at: {$lt}}) and prune_expired ({revoked_at:
        # null, last_used_at: {$lt}}) both.
        await self.collection.create_index([("revoked_at", ASCENDING), ("last_used_at", ASCENDING)])

    async def create(self, session: SessionRecord) -> None:
        await insert(self.collection, to_doc(session))

    async def get(self, session_id: str) -> SessionRecord | None:
        return from_doc(SessionRecord, await self.collection.find_one({"_id": session_id}))

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        cursor = self.collection.find({"user_id": user_id, "revoked_at": None}).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        return [from_doc(SessionRecord, doc) async for doc in cursor]

    async def touch(self, session_id: str, last_used_at: str) -> None:
        await self.collection.update_one(
            {"_id": session_id}, {"$set": {"last_used_at": last_used_at}}
        )

    async def revoke(self, session_id: str, revoked_at: str) -> bool:
        return await set_once(self.collection, session_id, "revoked_at", revoked_at)

    async def revoke_all_for_user(
        self, user_id: str, revoked_at: str, except_id: str | None = None
    ) -> list[str]:
        active: dict[str, Any] = {"user_id": user_id, "revoked_at": None}
        if except_id is not None:
            active["_id"] = {"$ne": except_id}
        ids = [doc["_id"] async for doc in self.collection.find(active, {"_id": 1})]
        if ids:
            # The revoked_at filter again: a session revoked meanwhile keeps its
            # first revocation time. Its id is still returned; a second notice
            # of its revocation finds nothing left to disconnect.
            await self.collection.update_many(
                {"_id": {"$in": ids}, "revoked_at": None}, {"$set": {"revoked_at": revoked_at}}
            )
        return ids

    async def prune_revoked(self, before: str, limit: int) -> int:
        # $lt on a string never matches null: active sessions are not candidates.
        return await delete_some(self.collection, {"revoked_at": {"$lt": before}}, limit)

    async def prune_expired(self, before: str, limit: int) -> int:
        """The candidates (unrevoked, last used before ``before``) ``limit`` at
        a time, less those whose family still has a token expiring at or after
        ``before``, until ``limit`` are deleted or none is left: sessions kept
        alive by a long refresh-token life never hide expired ones behind them.
        The delete repeats the candidate filter, so a session refreshed
        meanwhile (last_used_at moved) stays."""
        unrevoked_unused = {"revoked_at": None, "last_used_at": {"$lt": before}}
        deleted = 0
        ids: list[str] = []
        cursor = self.collection.find(unrevoked_unused, {"_id": 1})
        try:
            async for doc in cursor:
                ids.append(doc["_id"])
                if len(ids) == limit:
                    deleted += await self._delete_expired(
                        ids, before, unrevoked_unused, limit - deleted
                    )
                    ids = []
                    if deleted >= limit:
                        return deleted
        finally:
            await cursor.close()
        if ids:
            deleted += await self._delete_expired(ids, before, unrevoked_unused, limit - deleted)
        return deleted

    async def _delete_expired(
        self, ids: list[str], before: str, unrevoked_unused: Document, limit: int
    ) -> int:
        live = {
            doc["family_id"]
            async for doc in self.refresh_tokens.find(
                {"family_id": {"$in": ids}, "expires_at": {"$gte": before}}, {"family_id": 1}
            )
        }
        expired = [session_id for session_id in ids if session_id not in live][:limit]
        if not expired:
            return 0
        result = await self.collection.delete_many({"_id": {"$in": expired}, **unrevoked_unused})
        return int(result.deleted_count)


class MongoBlockStore:
    """Blocks, unique on (blocker_id, blocked_id)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("blocker_id", ASCENDING), ("blocked_id", ASCENDING)], unique=True
        )
        await self.collection.create_index("blocked_id")

    async def add(self, block: BlockRecord) -> None:
        try:
            await insert(self.collection, to_doc(block))
        except DuplicateError:
            pass  # already blocked: the first block's created_at stands

    async def remove(self, blocker_id: str, blocked_id: str) -> bool:
        result = await self.collection.delete_one(
            {"blocker_id": blocker_id, "blocked_id": blocked_id}
        )
        return result.deleted_count == 1

    async def exists_between(self, user_a: str, user_b: str) -> bool:
        doc = await self.collection.find_one(
            {
                "$or": [
                    {"blocker_id": user_a, "blocked_id": user_b},
                    {"blocker_id": user_b, "blocked_id": user_a},
                ]
            }
        )
        return doc is not None

    async def blockers_among(self, blocked_id: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        cursor = self.collection.find(
            {"blocked_id": blocked_id, "blocker_id": {"$in": list(user_ids)}}, {"blocker_id": 1}
        )
        return {doc["blocker_id"] async for doc in cursor}

    async def blocked_either_way(self, user_id: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        others = list(user_ids)
        cursor = self.collection.find(
            {
                "$or": [
                    {"blocked_id": user_id, "blocker_id": {"$in": others}},
                    {"blocker_id": user_id, "blocked_id": {"$in": others}},
                ]
            }
        )
        return {
            doc["blocker_id"] if doc["blocked_id"] == user_id else doc["blocked_id"]
            async for doc in cursor
        }

    async def list_by_blocker(self, blocker_id: str) -> list[BlockRecord]:
        cursor = self.collection.find({"blocker_id": blocker_id}).sort("created_at", ASCENDING)
        return [from_doc(BlockRecord, doc) async for doc in cursor]
