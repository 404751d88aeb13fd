"""Conversations, memberships and messages on MongoDB.

No multi-document transactions are used, so every operation is ordered so that
a crash between two writes leaves data the next request can live with:

* ``ConversationStore.create`` writes the memberships first and the
  conversation document last; the conversation document is the commit point
  (a membership whose conversation does not exist is never listed).
* ``MessageStore.append`` first reserves ``(sender_id, client_msg_id)`` in
  ``message_keys``; only the reservation winner takes a ``seq`` from the
  conversation's counter, so a resend never consumes one.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import asdict, fields
from typing import Any

from pymongo import ASCENDING, DESCENDING, TEXT, ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..errors import DuplicateError, StorageError
from ..records import (
    AppendResult,
    ConversationRecord,
    MembershipRecord,
    MessageRecord,
)
from .accounts import MongoBlockStore

_CONVERSATION_FIELDS = {f.name for f in fields(ConversationRecord)}
_MEMBERSHIP_FIELDS = {f.name for f in fields(MembershipRecord)}
_MESSAGE_FIELDS = {f.name for f in fields(MessageRecord)}

# How long a resend waits for a concurrent append of the same client_msg_id to
# finish writing the message before giving up.
_RESERVATION_WAIT_S = 2.0
_RESERVATION_POLL_S = 0.02

_MAX_SEARCH_WORDS = 16  # as on SQLite
_HIGHLIGHT_WIDTH = 120


def _check_changes(allowed: set[str], changes: dict[str, Any], frozen: set[str]) -> None:
    unknown = (set(changes) - allowed) | (set(changes) & frozen)
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")


def _with_id(record: Any) -> dict[str, Any]:
    doc = asdict(record)
    doc["_id"] = doc.pop("id")
    return doc


def _from_doc(
    record_type: type, names: set[str], doc: dict[str, Any] | None, id_field: bool
) -> Any:
    if doc is None:
        return None
    data = {key: value for key, value in doc.items() if key in names}
    if id_field:
        data["id"] = doc["_id"]
    return record_type(**data)


def _conversation(doc: dict[str, Any] | None) -> ConversationRecord | None:
    return _from_doc(ConversationRecord, _CONVERSATION_FIELDS, doc, id_field=True)


def _membership(doc: dict[str, Any] | None) -> MembershipRecord | None:
    return _from_doc(MembershipRecord, _MEMBERSHIP_FIELDS, doc, id_field=False)


def _message(doc: dict[str, Any] | None) -> MessageRecord | None:
    return _from_doc(MessageRecord, _MESSAGE_FIELDS, doc, id_field=True)


class MongoConversationStore:
    """``conversations`` (``_id`` = id) and ``memberships`` (unique per pair)."""

    def __init__(self, conversations: Any, memberships: Any, bids: Any) -> None:
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
                result = await self.memberships.insert_one(asdict(member))
                inserted.append(result.inserted_id)
            await self.conversations.insert_one(_with_id(conversation))
        except DuplicateKeyError as exc:
            # Undo only what this call wrote: the conversation was not created.
            if inserted:
                await self.memberships.delete_many({"_id": {"$in": inserted}})
            existing = await self._holder_of_keys(conversation)
            if existing is not None:  # lost a race for the same pair or context
                return existing, False
            raise DuplicateError(str(exc)) from exc
        return conversation, True

    async def _holder_of_keys(self, conversation: ConversationRecord) -> ConversationRecord | None:
        """The conversation already holding ``context_key``, else ``direct_key``."""
        for name in ("context_key", "direct_key"):
            value = getattr(conversation, name)
            if value is not None:
                found = _conversation(await self.conversations.find_one({name: value}))
                if found is not None:
                    return found
        return None

    async def get(self, conversation_id: str) -> ConversationRecord | None:
        return _conversation(await self.conversations.find_one({"_id": conversation_id}))

    async def update(
        self, conversation_id: str, changes: dict[str, Any]
    ) -> ConversationRecord | None:
        _check_changes(
            _CONVERSATION_FIELDS, changes, {"id", "type", "direct_key", "context_key", "last_seq"}
        )
        if not changes:
            return await self.get(conversation_id)
        doc = await self.conversations.find_one_and_update(
            {"_id": conversation_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return _conversation(doc)

    async def get_for_member(
        self, conversation_id: str, user_id: str
    ) -> tuple[ConversationRecord | None, MembershipRecord | None]:
        conversation = await self.get(conversation_id)
        if conversation is None:
            return None, None
        return conversation, await self.membership(conversation_id, user_id)

    async def member_ids(self, conversation_id: str) -> list[str]:
        cursor = self.memberships.find({"conversation_id": conversation_id}).sort(
            [("joined_at", ASCENDING), ("user_id", ASCENDING)]
        )
        return [doc["user_id"] async for doc in cursor]

    async def members(self, conversation_id: str) -> list[MembershipRecord]:
        cursor = self.memberships.find({"conversation_id": conversation_id}).sort(
            [("joined_at", ASCENDING), ("user_id", ASCENDING)]
        )
        return [_membership(doc) async for doc in cursor]  # type: ignore[misc]

    async def membership(self, conversation_id: str, user_id: str) -> MembershipRecord | None:
        return _membership(
            await self.memberships.find_one(
                {"conversation_id": conversation_id, "user_id": user_id}
            )
        )

    async def update_membership(
        self, conversation_id: str, user_id: str, changes: dict[str, Any]
    ) -> MembershipRecord | None:
        _check_changes(_MEMBERSHIP_FIELDS, changes, {"conversation_id", "user_id"})
        if not changes:
            return await self.membership(conversation_id, user_id)
        doc = await self.memberships.find_one_and_update(
            {"conversation_id": conversation_id, "user_id": user_id},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return _membership(doc)

    async def add_members(self, members: list[MembershipRecord]) -> list[str]:
        added = []
        for member in members:
            try:
                await self.memberships.insert_one(asdict(member))
            except DuplicateKeyError:
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
        return doc["read_seq"] if doc else 0

    async def list_for_user(
        self, user_id: str, *, archived: bool | None, before: tuple[str, str] | None, limit: int
    ) -> list[tuple[ConversationRecord, MembershipRecord]]:
        if limit <= 0:  # Mongo reads limit(0) as "no limit"
            return []
        query: dict[str, Any] = {"user_id": user_id}
        if archived is not None:
            query["archived"] = archived
        memberships = {
            doc["conversation_id"]: _membership(doc) async for doc in self.memberships.find(query)
        }
        if not memberships:
            return []
        filter_: dict[str, Any] = {"_id": {"$in": list(memberships)}}
        if before is not None:
            at, id_ = before
            filter_["$or"] = [
                {"last_activity_at": {"$lt": at}},
                {"last_activity_at": at, "_id": {"$lt": id_}},
            ]
        cursor = (
            self.conversations.find(filter_)
            .sort([("last_activity_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [(_conversation(doc), memberships[doc["_id"]]) async for doc in cursor]  # type: ignore[misc]

    async def memberships_of(self, user_id: str) -> list[MembershipRecord]:
        return [_membership(doc) async for doc in self.memberships.find({"user_id": user_id})]  # type: ignore[misc]


class MongoMessageStore:
    """``messages`` (``_id`` = id), gapless per-conversation ``seq``.

    ``text_search`` is False only for the mongomock test double, which has no
    ``$text``; see ``_regex_search_for_test_double``.
    """

    def __init__(
        self,
        messages: Any,
        message_keys: Any,
        conversations: Any,
        memberships: Any,
        blocks: MongoBlockStore,
        *,
        text_search: bool = True,
    ) -> None:
        self.messages = messages
        self.message_keys = message_keys
        self.conversations = conversations
        self.memberships = memberships
        self.blocks = blocks
        self.text_search = text_search

    async def create_indexes(self) -> None:
        await self.messages.create_index(
            [("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True
        )
        await self.messages.create_index(
            [("sender_id", ASCENDING), ("client_msg_id", ASCENDING)], unique=True
        )
        # "none": no stemming and no stop words, like SQLite's FTS5 default tokenizer.
        await self.messages.create_index([("text", TEXT)], default_language="none")

    async def append(self, message: MessageRecord) -> AppendResult | None:
        # Checked before the write, not in it as on SQLite: a participant
        # removed between the two may still land this one message.
        if not await self._may_write(message.conversation_id, message.sender_id):
            return None
        key = f"{message.sender_id}:{message.client_msg_id}"
        while True:
            try:
                await self.message_keys.insert_one(
                    {
                        "_id": key,
                        "message_id": message.id,
                        "conversation_id": message.conversation_id,
                        "created_at": message.created_at,
                    }
                )
            except DuplicateKeyError:
                original = await self._wait_for_original(key, message)
                if original is None:
                    continue  # the other append gave its reservation back: try again
                # Redo the idempotent, forward-only follow-ups in case the first
                # append stopped after writing the message; a no-op otherwise.
                await self._after_insert(original)
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
                await self.messages.insert_one(_with_id(message))
            except DuplicateKeyError as exc:
                # E.g. an earlier attempt's insert landed although it reported
                # failure; the unique (sender_id, client_msg_id) index decides.
                original = await self._by_client_id(message.sender_id, message.client_msg_id)
                if original is None:
                    raise DuplicateError(str(exc)) from exc
                written = True
                return AppendResult(original, created=False)
            written = True
        except BaseException:
            if not written:  # free the client_msg_id so that a resend can succeed
                try:
                    await self.message_keys.delete_one({"_id": key, "message_id": message.id})
                except Exception:
                    pass
            raise
        await self._after_insert(message)
        return AppendResult(
            message, created=True, members_version=conversation.get("members_version", 0)
        )

    async def _after_insert(self, message: MessageRecord) -> None:
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
        await self.memberships.update_one(
            {"conversation_id": message.conversation_id, "user_id": message.sender_id},
            {"$max": {"read_seq": message.seq}},
        )

    async def _by_client_id(self, sender_id: str, client_msg_id: str) -> MessageRecord | None:
        return _message(
            await self.messages.find_one({"sender_id": sender_id, "client_msg_id": client_msg_id})
        )

    async def get(self, message_id: str) -> MessageRecord | None:
        return _message(await self.messages.find_one({"_id": message_id}))

    async def update(self, message_id: str, changes: dict[str, Any]) -> MessageRecord | None:
        _check_changes(_MESSAGE_FIELDS, changes, {"id", "conversation_id", "seq", "sender_id"})
        if not changes:
            return await self.get(message_id)
        message = _message(
            await self.messages.find_one_and_update(
                {"_id": message_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
            )
        )
        if message is None:
            return None
        await self.conversations.update_one(
            {"_id": message.conversation_id, "last_seq": message.seq},
            {"$set": {"last_message": asdict(message)}},
        )
        return message

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
        return [_message(doc) for doc in docs]  # type: ignore[misc]

    async def count_unread(self, conversation_id: str, user_id: str, read_seq: int) -> int:
        return await self.messages.count_documents(
            {
                "conversation_id": conversation_id,
                "seq": {"$gt": read_seq},
                "sender_id": {"$ne": user_id},
                "deleted": False,
            }
        )

    async def search(
        self, user_id: str, query: str, *, conversation_id: str | None, offset: int, limit: int
    ) -> list[tuple[MessageRecord, str]]:
        words = _search_words(query)
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
        if self.text_search:
            # UNVERIFIED against a real server in this repo's test suite (the
            # double has no $text). $text ORs the words; the all-words check
            # below makes it an AND, as on SQLite.
            cursor = self.messages.find({**scope, "$text": {"$search": " ".join(words)}}).sort(
                [("score", {"$meta": "textScore"}), ("created_at", DESCENDING), ("_id", DESCENDING)]
            )
        else:
            cursor = _regex_search_for_test_double(self.messages, scope, words)
        word_patterns = [_word_pattern([word]) for word in words]
        any_word = _word_pattern(words)
        hits: list[tuple[MessageRecord, str]] = []
        skipped = 0
        try:
            async for doc in cursor:
                text = doc.get("text") or ""
                if not all(pattern.search(text) for pattern in word_patterns):
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                hits.append((_message(doc), _highlight(text, any_word)))  # type: ignore[arg-type]
                if len(hits) >= limit:
                    break
        finally:
            await cursor.close()
        return hits


def _regex_search_for_test_double(messages: Any, scope: dict[str, Any], words: list[str]) -> Any:
    """Stand-in for ``$text``, which the mongomock test double does not implement.

    Exists only for the test double: every word must occur as a whole word,
    case-insensitively; newest first since there is no relevance score.
    """
    word_filters = [{"text": {"$regex": _word_regex(word), "$options": "i"}} for word in words]
    return messages.find({**scope, "$and": word_filters}).sort(
        [("created_at", DESCENDING), ("_id", DESCENDING)]
    )


def _search_words(query: str) -> list[str]:
    """The user's words, as SQLite splits them (so no query syntax leaks in)."""
    return re.findall(r"\w+", query)[:_MAX_SEARCH_WORDS]


def _word_regex(word: str) -> str:
    return rf"(?<!\w){re.escape(word)}(?!\w)"


def _word_pattern(words: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _highlight(text: str, pattern: re.Pattern[str], width: int = _HIGHLIGHT_WIDTH) -> str:
    """``text`` with every match wrapped in ``<mark>``, cut to about ``width``
    characters around the first match, with ``…`` where it was cut."""
    matches = list(pattern.finditer(text))
    start, end = 0, len(text)
    if matches and len(text) > width:
        first = matches[0]
        start = max(0, min(first.start() - width // 4, len(text) - width))
        end = max(start + width, first.end())
        # Do not cut words in half (but never cut the first match away).
        while 0 < start < first.start() and text[start - 1].isalnum() and text[start].isalnum():
            start += 1
        while first.end() < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
            end -= 1
    elif len(text) > width:
        end = width
    parts, position = [], start
    for match in matches:
        if match.start() < start or match.end() > end:
            continue
        parts.append(text[position : match.start()])
        parts.append(f"<mark>{match.group(0)}</mark>")
        position = match.end()
    parts.append(text[position:end])
    excerpt = "".join(parts)
    if start > 0:
        excerpt = "…" + excerpt.lstrip()
    if end < len(text):
        excerpt = excerpt.rstrip() + "…"
    return excerpt
