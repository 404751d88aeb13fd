"""Conversations and memberships on MongoDB.

No multi-document transaction is used (see ``storage/mongo/messages.py`` for
appends), so each operation is ordered so that a crash between two writes
leaves data the next request can live with: ``create`` writes the memberships
first and the conversation document last; the conversation document is the
commit point (a membership whose conversation does not exist is never listed).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from ..errors import DuplicateError
from ..records import ConversationRecord, ListPosition, MembershipRecord
from ..schema import check_changes
from .codec import Document, from_doc, to_doc
from .ops import insert

# Conversation fields an update may not set.
_FROZEN = {"id", "type", "direct_key", "context_key", "last_seq"}


class MongoConversationStore:
    """``conversations`` (``_id`` = id) and ``memberships`` (unique per pair)."""

    def __init__(
        self,
        conversations: AsyncCollection[Document],
        memberships: AsyncCollection[Document],
        bids: AsyncCollection[Document],
    ) -> None:
        self.conversations = conversations
        self.memberships = memberships
        self.bids = bids  # read once, by key_bid_conversations

    async def create_indexes(self) -> None:
        # Partial, not sparse: group conversations store direct_key = None, and a
        # sparse index still indexes explicit nulls (on a real server).
        await self.conversations.create_index(
            "direct_key", unique=True, partialFilterExpression={"direct_key": {"$type": "string"}}
        )
        await self.key_bid_conversations()
        await self.conversations.create_index(
            "context_key", unique=True, partialFilterExpression={"context_key": {"$type": "string"}}
        )
        await self.conversations.create_index(
            [("last_activity_at", DESCENDING), ("_id", DESCENDING)]
        )
        await self.memberships.create_index(
            [("conversation_id", ASCENDING), ("user_id", ASCENDING)], unique=True
        )
        await self.memberships.create_index("user_id")
        await self.date_old_pins()

    async def date_old_pins(self) -> None:
        """Memberships pinned before ``pinned_at`` existed (issue 17) take their
        conversation's last activity, as on SQLite, so old pins keep the order
        they listed in."""
        undated = await self.memberships.find({"pinned": True, "pinned_at": None}).to_list(None)
        for doc in undated:
            conversation = await self.conversations.find_one(
                {"_id": doc["conversation_id"]}, projection={"last_activity_at": True}
            )
            if conversation is not None:
                await self.memberships.update_one(
                    {"_id": doc["_id"], "pinned": True, "pinned_at": None},
                    {"$set": {"pinned_at": conversation["last_activity_at"]}},
                )

    async def key_bid_conversations(self) -> None:
        """Conversations about a bid stored before ``context_key`` existed: one
        per bid gets the key (the one the bid names, else the oldest), the
        others an explicit null, so a later start finds nothing left to do."""
        unkeyed = self.conversations.find(
            {"context.type": "bid", "context_key": {"$exists": False}}
        ).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        by_bid: dict[str, list[str]] = {}
        async for doc in unkeyed:
            by_bid.setdefault(doc["context"]["id"], []).append(doc["_id"])
        for bid_id, ids in by_bid.items():
            key = f"bid:{bid_id}"
            named = (await self.bids.find_one({"_id": bid_id}) or {}).get("conversation_id")
            keeper = named if named in ids else ids[0]
            if await self.conversations.find_one({"context_key": key}) is not None:
                keeper = None  # one was created with the key since: it is the bid's
            for conversation_id in ids:
                await self.conversations.update_one(
                    {"_id": conversation_id},
                    {"$set": {"context_key": key if conversation_id == keeper else None}},
                )

    async def create(
        self, conversation: ConversationRecord, members: list[MembershipRecord]
    ) -> tuple[ConversationRecord, bool]:
        existing = await self._holder_of_keys(conversation)
        if existing is not None:
            return existing, False
        inserted: list[Any] = []
        try:
            for member in members:
                inserted.append(await insert(self.memberships, to_doc(member)))
            await insert(self.conversations, to_doc(conversation))
        except DuplicateError:
            # Undo only what this call wrote: the conversation was not created.
            if inserted:
                await self.memberships.delete_many({"_id": {"$in": inserted}})
            existing = await self._holder_of_keys(conversation)
            if existing is not None:  # lost a race for the same pair or context
                return existing, False
            raise
        return conversation, True

    async def _holder_of_keys(self, conversation: ConversationRecord) -> ConversationRecord | None:
        """The conversation already holding ``context_key``, else ``direct_key``."""
        for name in ("context_key", "direct_key"):
            value = getattr(conversation, name)
            if value is not None:
                found = await self.conversations.find_one({name: value})
                if found is not None:
                    return from_doc(ConversationRecord, found)
        return None

    async def get(self, conversation_id: str) -> ConversationRecord | None:
        return from_doc(
            ConversationRecord, await self.conversations.find_one({"_id": conversation_id})
        )

    async def update(
        self, conversation_id: str, changes: dict[str, Any]
    ) -> ConversationRecord | None:
        check_changes(ConversationRecord, changes, _FROZEN)
        if not changes:
            return await self.get(conversation_id)
        doc = await self.conversations.find_one_and_update(
            {"_id": conversation_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return from_doc(ConversationRecord, doc)

    async def get_for_member(
        self, conversation_id: str, user_id: str
    ) -> tuple[ConversationRecord | None, MembershipRecord | None]:
        conversation = await self.get(conversation_id)
        if conversation is None:
            return None, None
        return conversation, await self.membership(conversation_id, user_id)

    async def member_ids(self, conversation_id: str) -> list[str]:
        return [member.user_id for member in await self.members(conversation_id)]

    async def members(self, conversation_id: str) -> list[MembershipRecord]:
        cursor = self.memberships.find({"conversation_id": conversation_id}).sort(
            [("joined_at", ASCENDING), ("user_id", ASCENDING)]
        )
        return [from_doc(MembershipRecord, doc) async for doc in cursor]

    async def membership(self, conversation_id: str, user_id: str) -> MembershipRecord | None:
        doc = await self.memberships.find_one(
            {"conversation_id": conversation_id, "user_id": user_id}
        )
        return from_doc(MembershipRecord, doc)

    async def update_membership(
        self, conversation_id: str, user_id: str, changes: dict[str, Any]
    ) -> MembershipRecord | None:
        check_changes(MembershipRecord, changes, {"conversation_id", "user_id"})
        if not changes:
            return await self.membership(conversation_id, user_id)
        doc = await self.memberships.find_one_and_update(
            {"conversation_id": conversation_id, "user_id": user_id},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return from_doc(MembershipRecord, doc)

    async def add_members(self, members: list[MembershipRecord]) -> list[str]:
        added = []
        for member in members:
            try:
                await insert(self.memberships, to_doc(member))
            except DuplicateError:
                continue  # already a member: their read marker and flags stay
            await self._members_changed(member.conversation_id)
            added.append(member.user_id)
        return added

    async def remove_member(self, conversation_id: str, user_id: str) -> bool:
        result = await self.memberships.delete_one(
            {"conversation_id": conversation_id, "user_id": user_id}
        )
        if result.deleted_count != 1:
            return False
        await self._members_changed(conversation_id)
        return True

    async def _members_changed(self, conversation_id: str) -> None:
        await self.conversations.update_one(
            {"_id": conversation_id}, {"$inc": {"members_version": 1}}
        )

    async def advance_read(self, conversation_id: str, user_id: str, seq: int) -> int:
        doc = await self.memberships.find_one_and_update(
            {"conversation_id": conversation_id, "user_id": user_id},
            {"$max": {"read_seq": seq}},
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["read_seq"]) if doc else 0

    async def rewind_read(self, conversation_id: str, user_id: str, seq: int) -> int:
        """Compare and set on the read marker it saw, so the delivered marker
        takes exactly the marker being rewound (an update operator cannot read
        one field into another, and a pipeline update is not portable to the
        test double)."""
        key = {"conversation_id": conversation_id, "user_id": user_id}
        while True:
            doc = await self.memberships.find_one(key)
            if doc is None:
                return 0
            read_seq = int(doc.get("read_seq", 0))
            if read_seq <= seq:
                return read_seq
            result = await self.memberships.update_one(
                {**key, "read_seq": read_seq},
                {"$set": {"read_seq": seq}, "$max": {"delivered_seq": read_seq}},
            )
            if result.matched_count == 1:
                return seq

    async def advance_delivered(self, conversation_id: str, user_id: str, seq: int) -> int:
        doc = await self.memberships.find_one_and_update(
            {"conversation_id": conversation_id, "user_id": user_id},
            {"$max": {"delivered_seq": seq}},
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["delivered_seq"]) if doc else 0

    async def list_for_user(
        self, user_id: str, *, archived: bool | None, before: ListPosition | None, limit: int
    ) -> list[tuple[ConversationRecord, MembershipRecord]]:
        if limit <= 0:  # Mongo reads limit(0) as "no limit"
            return []
        query: dict[str, Any] = {"user_id": user_id}
        if archived is not None:
            query["archived"] = archived
        memberships = {
            doc["conversation_id"]: from_doc(MembershipRecord, doc)
            async for doc in self.memberships.find(query)
        }
        if not memberships:
            return []
        rows: list[tuple[ConversationRecord, MembershipRecord]] = []
        if before is None or before.pinned_at is not None:
            rows = await self._pinned(memberships, before, limit)
        if len(rows) < limit:
            rows += await self._unpinned(memberships, before, limit - len(rows))
        return rows

    async def _pinned(
        self,
        memberships: dict[str, MembershipRecord],
        before: ListPosition | None,
        limit: int,
    ) -> list[tuple[ConversationRecord, MembershipRecord]]:
        """The pinned part of the list, sorted here: the order needs a field of
        the membership and one of the conversation, and a user pins a few."""
        ids = [cid for cid, m in memberships.items() if m.pinned_at is not None]
        if not ids:
            return []
        rows = [
            (from_doc(ConversationRecord, doc), memberships[doc["_id"]])
            async for doc in self.conversations.find({"_id": {"$in": ids}})
        ]
        rows.sort(key=lambda row: _sort_key(ListPosition.of(*row)), reverse=True)
        if before is not None:
            rows = [row for row in rows if _sort_key(ListPosition.of(*row)) < _sort_key(before)]
        return rows[:limit]

    async def _unpinned(
        self,
        memberships: dict[str, MembershipRecord],
        before: ListPosition | None,
        limit: int,
    ) -> list[tuple[ConversationRecord, MembershipRecord]]:
        """The unpinned part of the list, latest activity first, paged by the server."""
        ids = [cid for cid, m in memberships.items() if m.pinned_at is None]
        if not ids:
            return []
        filter_: dict[str, Any] = {"_id": {"$in": ids}}
        if before is not None and before.pinned_at is None:
            at, id_ = before.last_activity_at, before.id
            filter_["$or"] = [
                {"last_activity_at": {"$lt": at}},
                {"last_activity_at": at, "_id": {"$lt": id_}},
            ]
        cursor = (
            self.conversations.find(filter_)
            .sort([("last_activity_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [
            (from_doc(ConversationRecord, doc), memberships[doc["_id"]]) async for doc in cursor
        ]

    async def memberships_of(self, user_id: str) -> list[MembershipRecord]:
        cursor = self.memberships.find({"user_id": user_id})
        return [from_doc(MembershipRecord, doc) async for doc in cursor]

    async def share_conversation(self, user_id: str, user_ids: list[str]) -> set[str]:
        """Two reads: the user's conversation ids, then the others' memberships in them."""
        if not user_ids:
            return set()
        mine = [
            doc["conversation_id"]
            async for doc in self.memberships.find({"user_id": user_id}, {"conversation_id": 1})
        ]
        if not mine:
            return set()
        cursor = self.memberships.find(
            {"conversation_id": {"$in": mine}, "user_id": {"$in": list(user_ids)}}, {"user_id": 1}
        )
        return {doc["user_id"] async for doc in cursor}


def _sort_key(position: ListPosition) -> tuple[str, str, str]:
    """A pinned position as one comparable tuple (``pinned_at`` is set)."""
    return (position.pinned_at or "", position.last_activity_at, position.id)
