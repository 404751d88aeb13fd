"""Messages on MongoDB: appends with a gapless per-conversation ``seq``, edits,
history and search (``storage/mongo/search.py``).

Appends use no multi-document transaction, so they are ordered so that a crash
between two writes leaves data the next request can live with:
``MongoMessageStore.append`` first reserves ``(sender_id, client_msg_id)`` in
``message_keys``; only the reservation winner takes a ``seq`` from the
conversation's counter, so a resend never consumes one (docs/scale-out.md
says what a crash can still leave behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING, DESCENDING, TEXT, ReturnDocument, UpdateMany, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from ..errors import DuplicateError, StorageError
from ..interfaces import BlockStore
from ..reactions import with_reaction, without_reaction
from ..records import AppendResult, MessageChange, MessageRecord
from ..schema import check_changes
from ..search import search_words
from .codec import Document, from_doc, to_doc
from .ops import insert
from .search import text_search

# How long a resend waits for a concurrent append of the same client_msg_id to
# finish writing the message before giving up.
_RESERVATION_WAIT_S = 2.0
_RESERVATION_POLL_S = 0.02
# A reaction retries its conditional write this often while others change the message.
_REACT_ATTEMPTS = 50


class MongoMessageStore:
    """``messages`` (``_id`` = id), gapless per-conversation ``seq``."""

    def __init__(
        self,
        messages: AsyncCollection[Document],
        message_keys: AsyncCollection[Document],
        conversations: AsyncCollection[Document],
        memberships: AsyncCollection[Document],
        blocks: BlockStore,
    ) -> None:
        self.messages = messages
        self.message_keys = message_keys
        self.conversations = conversations
        self.memberships = memberships
        self.blocks = blocks

    async def create_indexes(self) -> None:
        await self.messages.create_index(
            [("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True
        )
        await self.messages.create_index(
            [("sender_id", ASCENDING), ("client_msg_id", ASCENDING)], unique=True
        )
        # "none": no stemming and no stop words, like SQLite's FTS5 default tokenizer.
        await self.messages.create_index([("text", TEXT)], default_language="none")
        await self.messages.create_index(
            [("conversation_id", ASCENDING), ("pinned_at", DESCENDING)],
            partialFilterExpression={"pinned": True},
        )
        await self.messages.create_index(
            [("thread_root_id", ASCENDING), ("seq", ASCENDING)],
            partialFilterExpression={"thread_root_id": {"$type": "string"}},
        )
        await self.messages.create_index(
            [("conversation_id", ASCENDING), ("rev", ASCENDING)],
            partialFilterExpression={"rev": {"$gt": 0}},
        )

    async def append(self, message: MessageRecord) -> AppendResult | None:
        # Checked before the write, not in it as on SQLite: a participant
        # removed between the two may still land this one message. A system or
        # card message is written whoever caused it (an admin, one who left).
        if message.kind != "text":
            found = await self.conversations.find_one(
                {"_id": message.conversation_id}, projection={"_id": True}
            )
            if found is None:
                return None
        elif not await self._may_write(message.conversation_id, message.sender_id):
            return None
        key = f"{message.sender_id}:{message.client_msg_id}"
        while True:
            try:
                await insert(
                    self.message_keys,
                    {
                        "_id": key,
                        "message_id": message.id,
                        "conversation_id": message.conversation_id,
                        "created_at": message.created_at,
                    },
                )
            except DuplicateError:
                original = await self._wait_for_original(key, message)
                if original is None:
                    continue  # the other append gave its reservation back: try again
                # Redo the idempotent, forward-only follow-ups in case the first
                # append stopped after writing the message; a no-op otherwise.
                await self._after_insert(original, unarchive=False)
                return AppendResult(original, created=False)
            return await self._append_reserved(key, message)

    async def _may_write(self, conversation_id: str, sender_id: str) -> bool:
        """A participant, and not in a direct conversation with a block either way."""
        conversation, membership = await asyncio.gather(
            self.conversations.find_one(
                {"_id": conversation_id}, projection={"type": True, "direct_key": True}
            ),
            self.memberships.find_one(
                {"conversation_id": conversation_id, "user_id": sender_id}, projection={"_id": True}
            ),
        )
        if conversation is None or membership is None:
            return False
        if conversation["type"] != "direct":
            return True
        first, second = conversation["direct_key"].split(":")
        return not await self.blocks.exists_between(first, second)

    async def _count_reply(self, reply: MessageRecord) -> None:
        """The thread root's reply_count and last_reply_at follow a new reply
        (on SQLite a trigger does this in the append's transaction). Counted,
        not incremented, so that doing it again changes nothing."""
        in_thread = {"thread_root_id": reply.thread_root_id}
        replies = await self.messages.count_documents(in_thread)
        latest = await self.messages.find_one(
            in_thread, projection={"created_at": True}, sort=[("seq", DESCENDING)]
        )
        assert latest is not None  # the reply itself
        root = from_doc(
            MessageRecord,
            await self.messages.find_one_and_update(
                {"_id": reply.thread_root_id},
                {"$set": {"reply_count": replies, "last_reply_at": latest["created_at"]}},
                return_document=ReturnDocument.AFTER,
            ),
        )
        if root is not None:
            await self._revise(root)

    async def _wait_for_original(self, key: str, message: MessageRecord) -> MessageRecord | None:
        """The message stored under a taken reservation; None if the reservation
        was released. A concurrent append may still be writing it."""
        deadline = time.monotonic() + _RESERVATION_WAIT_S
        while True:
            original = await self._by_client_id(message.sender_id, message.client_msg_id)
            if original is not None:
                return original
            if await self.message_keys.find_one({"_id": key}) is None:
                return None
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"client_msg_id {message.client_msg_id!r} of {message.sender_id!r} is"
                    " reserved but its message was not written"
                )
            await asyncio.sleep(_RESERVATION_POLL_S)

    async def _append_reserved(self, key: str, message: MessageRecord) -> AppendResult:
        written = False
        try:
            conversation = await self.conversations.find_one_and_update(
                {"_id": message.conversation_id},
                {"$inc": {"last_seq": 1}, "$set": {"last_activity_at": message.created_at}},
                projection={"last_seq": True, "members_version": True},
                return_document=ReturnDocument.AFTER,
            )
            if conversation is None:
                raise StorageError(f"no conversation {message.conversation_id!r}")
            message.seq = conversation["last_seq"]
            try:
                await insert(self.messages, to_doc(message))
            except DuplicateError:
                # E.g. an earlier attempt's insert landed although it reported
                # failure; the unique (sender_id, client_msg_id) index decides.
                original = await self._by_client_id(message.sender_id, message.client_msg_id)
                if original is None:
                    raise
                written = True
                return AppendResult(original, created=False)
            written = True
        except BaseException:
            if not written:  # free the client_msg_id so that a resend can succeed
                with contextlib.suppress(Exception):
                    await self.message_keys.delete_one({"_id": key, "message_id": message.id})
            raise
        await self._after_insert(message, unarchive=True)
        if message.thread_root_id is not None:
            await self._count_reply(message)
        return AppendResult(
            message, created=True, members_version=conversation.get("members_version", 0)
        )

    async def _after_insert(self, message: MessageRecord, *, unarchive: bool) -> None:
        """Move the conversation's last message and the sender's read marker,
        and with ``unarchive`` bring the conversation back for every participant
        who archived it and did not mute it. A replay (a resend) does not
        unarchive: it is no new message, and the user may have archived the
        conversation since (a crash between the insert and this step loses
        that one unarchive)."""
        # last_message only ever moves to a higher seq, so a slower append of an
        # older message (or a replay) cannot overwrite a newer one, nor an edit
        # of this message that landed first.
        await self.conversations.update_one(
            {
                "_id": message.conversation_id,
                "$or": [{"last_message": None}, {"last_message.seq": {"$lt": message.seq}}],
            },
            {"$set": {"last_message": asdict(message)}},
        )
        updates: list[UpdateOne | UpdateMany] = []
        if message.kind == "text":  # a system or card message's actor has read nothing
            updates.append(
                UpdateOne(
                    {"conversation_id": message.conversation_id, "user_id": message.sender_id},
                    {"$max": {"read_seq": message.seq}},
                )
            )
        if unarchive:
            updates.append(
                UpdateMany(
                    {"conversation_id": message.conversation_id, "archived": True, "muted": False},
                    {"$set": {"archived": False}},
                )
            )
        # One round trip for both membership writes, as for the marker alone before.
        if updates:
            await self.memberships.bulk_write(updates, ordered=False)

    async def _by_client_id(self, sender_id: str, client_msg_id: str) -> MessageRecord | None:
        doc = await self.messages.find_one({"sender_id": sender_id, "client_msg_id": client_msg_id})
        return from_doc(MessageRecord, doc)

    async def get(self, message_id: str) -> MessageRecord | None:
        return from_doc(MessageRecord, await self.messages.find_one({"_id": message_id}))

    async def update(self, message_id: str, changes: dict[str, Any]) -> MessageRecord | None:
        check_changes(MessageRecord, changes, {"id", "conversation_id", "seq", "sender_id"})
        if not changes:
            return await self.get(message_id)
        message = from_doc(
            MessageRecord,
            await self.messages.find_one_and_update(
                {"_id": message_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
            ),
        )
        if message is None:
            return None
        message = await self._revise(message)
        await self._refresh_last_message(message)
        return message

    async def pin(
        self, message_id: str, by_user_id: str, at: str, limit: int
    ) -> MessageChange | None:
        """The limit is held by the conversation document's ``pins`` (the ids of
        its pinned messages): a message takes a place there in one conditional
        update (it is there already, or there is room), and only then is marked
        pinned. No multi-document transaction, so the order is such that a
        crash between the two leaves an id in ``pins`` too many, never one
        too few: the limit may then refuse early, never let one more in; a
        later pin or unpin of that message puts ``pins`` right."""
        message = await self.get(message_id)
        if message is None or message.deleted:
            return None
        if message.pinned:
            return MessageChange(message, changed=False)
        taken = await self.conversations.update_one(
            {
                "_id": message.conversation_id,
                "$or": [{"pins": message_id}, {f"pins.{limit - 1}": {"$exists": False}}],
            },
            {"$addToSet": {"pins": message_id}},
        )
        if taken.matched_count == 0:
            return None
        pinned = from_doc(
            MessageRecord,
            await self.messages.find_one_and_update(
                {"_id": message_id, "deleted": False, "pinned": {"$ne": True}},
                {"$set": {"pinned": True, "pinned_at": at, "pinned_by": by_user_id}},
                return_document=ReturnDocument.AFTER,
            ),
        )
        if pinned is None:  # pinned or deleted meanwhile
            current = await self.get(message_id)
            if current is not None and current.pinned:
                return MessageChange(current, changed=False)
            await self._release_pin(message)
            return None
        # An unpin that ran between the two steps took the id out again.
        await self.conversations.update_one(
            {"_id": message.conversation_id}, {"$addToSet": {"pins": message_id}}
        )
        pinned = await self._revise(pinned)
        await self._refresh_last_message(pinned)
        return MessageChange(pinned, changed=True)

    async def unpin(self, message_id: str) -> MessageChange | None:
        unpinned = from_doc(
            MessageRecord,
            await self.messages.find_one_and_update(
                {"_id": message_id, "pinned": True},
                {"$set": {"pinned": False, "pinned_at": None, "pinned_by": None}},
                return_document=ReturnDocument.AFTER,
            ),
        )
        message = unpinned or await self.get(message_id)
        if message is None:
            return None
        await self._release_pin(message)  # also when unchanged: repairs a crashed pin
        if unpinned is not None:
            message = await self._revise(unpinned)
            await self._refresh_last_message(message)
        return MessageChange(message, changed=unpinned is not None)

    async def _release_pin(self, message: MessageRecord) -> None:
        await self.conversations.update_one(
            {"_id": message.conversation_id}, {"$pull": {"pins": message.id}}
        )

    async def _revise(self, message: MessageRecord) -> MessageRecord:
        """Give a message that just changed the conversation's next rev. After
        the change, not before: a sync that reads in between sees the new
        content under the old rev and gets it again under the new one, never
        the old content under the new rev."""
        conversation = await self.conversations.find_one_and_update(
            {"_id": message.conversation_id},
            {"$inc": {"last_rev": 1}},
            projection={"last_rev": True},
            return_document=ReturnDocument.AFTER,
        )
        if conversation is not None:
            message.rev = conversation["last_rev"]
            await self.messages.update_one({"_id": message.id}, {"$max": {"rev": message.rev}})
        return message

    async def _refresh_last_message(self, message: MessageRecord) -> None:
        await self.conversations.update_one(
            {"_id": message.conversation_id, "last_seq": message.seq},
            {"$set": {"last_message": asdict(message)}},
        )

    async def react(
        self, message_id: str, user_id: str, emoji: str, *, add: bool, max_distinct: int
    ) -> MessageChange | None:
        """Read, change, and write back only if the reactions are still those
        read (optimistic concurrency): a concurrent reaction makes the write
        miss, and it is tried again on what is there now."""
        for _ in range(_REACT_ATTEMPTS):
            message = await self.get(message_id)
            if message is None or (add and message.deleted):
                return None
            if add:
                reactions = with_reaction(message.reactions, user_id, emoji, max_distinct)
                if reactions is None:
                    return None
            else:
                reactions = without_reaction(message.reactions, user_id, emoji)
            if reactions is message.reactions:
                return MessageChange(message, changed=False)
            condition: dict[str, Any] = {"_id": message_id, "reactions": message.reactions}
            if add:
                condition["deleted"] = False
            written = from_doc(
                MessageRecord,
                await self.messages.find_one_and_update(
                    condition,
                    {"$set": {"reactions": reactions}},
                    return_document=ReturnDocument.AFTER,
                ),
            )
            if written is not None:
                written = await self._revise(written)
                await self._refresh_last_message(written)
                return MessageChange(written, changed=True)
        raise StorageError(f"reactions of {message_id} kept changing under {_REACT_ATTEMPTS} tries")

    async def thread(self, root_id: str, *, after_seq: int, limit: int) -> list[MessageRecord]:
        if limit <= 0:
            return []
        docs = (
            await self.messages.find({"thread_root_id": root_id, "seq": {"$gt": after_seq}})
            .sort("seq", ASCENDING)
            .limit(limit)
            .to_list(None)
        )
        return [from_doc(MessageRecord, doc) for doc in docs]

    async def changed(
        self, conversation_id: str, *, after_rev: int, limit: int
    ) -> list[MessageRecord]:
        if limit <= 0:
            return []
        docs = (
            await self.messages.find(
                {"conversation_id": conversation_id, "rev": {"$gt": after_rev}}
            )
            .sort("rev", ASCENDING)
            .limit(limit)
            .to_list(None)
        )
        return [from_doc(MessageRecord, doc) for doc in docs]

    async def pinned(self, conversation_id: str, limit: int) -> list[MessageRecord]:
        if limit <= 0:
            return []
        docs = (
            await self.messages.find({"conversation_id": conversation_id, "pinned": True})
            .sort([("pinned_at", DESCENDING), ("seq", DESCENDING)])
            .limit(limit)
            .to_list(None)
        )
        return [from_doc(MessageRecord, doc) for doc in docs]

    async def range(
        self,
        conversation_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[MessageRecord]:
        if limit <= 0:  # Mongo reads limit(0) as "no limit"
            return []
        seq: dict[str, int] = {}
        if after_seq is not None:
            seq["$gt"] = after_seq
        if before_seq is not None:
            seq["$lt"] = before_seq
        query: dict[str, Any] = {"conversation_id": conversation_id}
        if seq:
            query["seq"] = seq
        direction = ASCENDING if after_seq is not None else DESCENDING
        docs = await self.messages.find(query).sort("seq", direction).limit(limit).to_list(None)
        if direction == DESCENDING:
            docs.reverse()
        return [from_doc(MessageRecord, doc) for doc in docs]

    async def count_unread(self, conversation_id: str, user_id: str, read_seq: int) -> int:
        return await self.messages.count_documents(
            {
                "conversation_id": conversation_id,
                "seq": {"$gt": read_seq},
                "sender_id": {"$ne": user_id},
                "deleted": False,
            }
        )

    async def count_unread_mentions(self, conversation_id: str, user_id: str, read_seq: int) -> int:
        return await self.messages.count_documents(
            {
                "conversation_id": conversation_id,
                "seq": {"$gt": read_seq},
                "sender_id": {"$ne": user_id},
                "deleted": False,
                "mentions": user_id,
            }
        )

    async def search(
        self, user_id: str, query: str, *, conversation_id: str | None, offset: int, limit: int
    ) -> list[tuple[MessageRecord, str]]:
        words = search_words(query)
        if not words or limit <= 0:
            return []
        membership_filter: dict[str, Any] = {"user_id": user_id}
        if conversation_id is not None:
            membership_filter["conversation_id"] = conversation_id
        conversation_ids = [
            doc["conversation_id"] async for doc in self.memberships.find(membership_filter)
        ]
        if not conversation_ids:
            return []
        scope = {"conversation_id": {"$in": conversation_ids}, "deleted": False}
        return await text_search(self.messages, scope, words, offset=offset, limit=limit)
