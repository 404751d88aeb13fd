"""Users, refresh tokens, sessions and blocks on MongoDB."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

from ..errors import DuplicateError
from ..records import BlockRecord, RefreshTokenRecord, SessionRecord, UserRecord

_USER_FIELDS = {f.name for f in fields(UserRecord)}


def _user(doc: dict[str, Any] | None) -> UserRecord | None:
    if doc is None:
        return None
    data = dict(doc)
    data["id"] = data.pop("_id")
    return UserRecord(**data)


def _token(doc: dict[str, Any] | None) -> RefreshTokenRecord | None:
    if doc is None:
        return None
    data = dict(doc)
    data["token_hash"] = data.pop("_id")
    return RefreshTokenRecord(**data)


def _session(doc: dict[str, Any] | None) -> SessionRecord | None:
    if doc is None:
        return None
    data = dict(doc)
    data["id"] = data.pop("_id")
    return SessionRecord(**data)


class MongoUserStore:
    """Users keyed by ``_id`` = user id, unique on email."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index("email", unique=True)

    async def create(self, user: UserRecord) -> None:
        doc = asdict(user)
        doc["_id"] = doc.pop("id")
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicateError(str(exc)) from exc

    async def get(self, user_id: str) -> UserRecord | None:
        return _user(await self.collection.find_one({"_id": user_id}))

    async def get_by_email(self, email: str) -> UserRecord | None:
        return _user(await self.collection.find_one({"email": email}))

    async def get_many(self, user_ids: list[str]) -> list[UserRecord]:
        if not user_ids:
            return []
        docs = await self.collection.find({"_id": {"$in": list(user_ids)}}).to_list(None)
        return [_user(doc) for doc in docs]  # type: ignore[misc]

    async def update(self, user_id: str, changes: dict[str, Any]) -> UserRecord | None:
        unknown = set(changes) - _USER_FIELDS | ({"id"} & set(changes))
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if not changes:
            return await self.get(user_id)
        try:
            doc = await self.collection.find_one_and_update(
                {"_id": user_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError as exc:
            raise DuplicateError(str(exc)) from exc
        return _user(doc)

    async def set_last_seen(self, seen: list[tuple[str, str]]) -> None:
        if seen:
            await self.collection.bulk_write(
                [
                    UpdateOne({"_id": user_id}, {"$set": {"last_seen_at": at}})
                    for user_id, at in seen
                ],
                ordered=False,
            )


class MongoRefreshTokenStore:
    """Refresh tokens keyed by ``_id`` = token hash."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index("family_id")

    async def create(self, token: RefreshTokenRecord) -> None:
        doc = asdict(token)
        doc["_id"] = doc.pop("token_hash")
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicateError(str(exc)) from exc

    async def get(self, token_hash: str) -> RefreshTokenRecord | None:
        return _token(await self.collection.find_one({"_id": token_hash}))

    async def mark_used(self, token_hash: str, used_at: str) -> bool:
        # The used_at filter makes check-and-set one server-side step, so two
        # concurrent refreshes cannot both win.
        result = await self.collection.update_one(
            {"_id": token_hash, "used_at": None}, {"$set": {"used_at": used_at}}
        )
        return result.modified_count == 1

    async def revoke_family(self, family_id: str, revoked_at: str) -> None:
        await self.collection.update_many(
            {"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": revoked_at}}
        )


class MongoSessionStore:
    """Sessions keyed by ``_id`` = session id (= refresh-token family id)."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])

    async def create(self, session: SessionRecord) -> None:
        doc = asdict(session)
        doc["_id"] = doc.pop("id")
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicateError(str(exc)) from exc

    async def get(self, session_id: str) -> SessionRecord | None:
        return _session(await self.collection.find_one({"_id": session_id}))

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        cursor = self.collection.find({"user_id": user_id, "revoked_at": None}).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        return [_session(doc) async for doc in cursor]  # type: ignore[misc]

    async def touch(self, session_id: str, last_used_at: str) -> None:
        await self.collection.update_one(
            {"_id": session_id}, {"$set": {"last_used_at": last_used_at}}
        )

    async def revoke(self, session_id: str, revoked_at: str) -> bool:
        result = await self.collection.update_one(
            {"_id": session_id, "revoked_at": None}, {"$set": {"revoked_at": revoked_at}}
        )
        return result.modified_count == 1

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


class MongoBlockStore:
    """Blocks, unique on (blocker_id, blocked_id)."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("blocker_id", ASCENDING), ("blocked_id", ASCENDING)], unique=True
        )
        await self.collection.create_index("blocked_id")

    async def add(self, block: BlockRecord) -> None:
        try:
            await self.collection.insert_one(asdict(block))
        except DuplicateKeyError:
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

    async def list_by_blocker(self, blocker_id: str) -> list[BlockRecord]:
        cursor = self.collection.find({"blocker_id": blocker_id}).sort("created_at", ASCENDING)
        return [
            BlockRecord(
                blocker_id=doc["blocker_id"],
                blocked_id=doc["blocked_id"],
                created_at=doc["created_at"],
            )
            async for doc in cursor
        ]
