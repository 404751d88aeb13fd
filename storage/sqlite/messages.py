"""Messages on SQLite: appends with a gapless per-conversation ``seq``, edits,
history and full-text search (FTS5, indexed just behind the appends:
``search_index``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import aiosqlite
import orjson

from ..errors import DuplicateError
from ..reactions import with_reaction, without_reaction
from ..records import AppendResult, MessageChange, MessageRecord
from ..schema import check_changes
from ..search import search_words
from .codec import column_list, from_row, to_row, values
from .database import Database
from .ops import fetch_record, fetch_records
from .search_index import SearchIndexer

_COLUMNS = column_list(MessageRecord)
# The conversation row gives the next seq; a trigger (migration) advances it.
_APPEND_SQL = (
    "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, text, attachments,"
    " reply_to, created_at, edited_at, deleted, mentions, thread_root_id, original_text, flagged)"
    " SELECT :id, c.id, c.last_seq + 1, :sender_id, :client_msg_id, :text, :attachments,"
    " :reply_to, :created_at, :edited_at, :deleted, :mentions, :thread_root_id, :original_text,"
    " :flagged"
    " FROM conversations c WHERE c.id = :conversation_id"
    " AND EXISTS (SELECT 1 FROM memberships WHERE conversation_id = c.id AND user_id = :sender_id)"
    " AND NOT EXISTS (SELECT 1 FROM memberships o JOIN blocks b"
    "  ON (b.blocker_id = :sender_id AND b.blocked_id = o.user_id)"
    "  OR (b.blocker_id = o.user_id AND b.blocked_id = :sender_id)"
    "  WHERE c.type = 'direct' AND o.conversation_id = c.id AND o.user_id != :sender_id)"
    " RETURNING seq, (SELECT members_version FROM conversations WHERE id = :conversation_id)"
)
# A system or card message (kind != "text") is written without the checks: its
# sender_id, the user whose action caused it, may be an admin or one who left.
_APPEND_SYSTEM_SQL = (
    "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, text, attachments,"
    " reply_to, created_at, edited_at, deleted, mentions, kind, card)"
    " SELECT :id, c.id, c.last_seq + 1, :sender_id, :client_msg_id, :text, :attachments,"
    " :reply_to, :created_at, :edited_at, :deleted, :mentions, :kind, :card FROM conversations c"
    " WHERE c.id = :conversation_id"
    " RETURNING seq, (SELECT members_version FROM conversations WHERE id = :conversation_id)"
)
# Every UPDATE of a stored message sets this too (migration 15's trigger then
# moves the conversation's last_rev), so RETURNING gives the new rev.
_NEXT_REV = "rev = (SELECT last_rev + 1 FROM conversations WHERE id = messages.conversation_id)"


class SqliteMessageStore:
    def __init__(self, db: Database, indexer: SearchIndexer) -> None:
        self.db = db
        self.indexer = indexer

    async def append(self, message: MessageRecord) -> AppendResult | None:
        try:
            rows = await self.db.write_batched(
                _APPEND_SQL if message.kind == "text" else _APPEND_SYSTEM_SQL,
                to_row(message, leave_out=frozenset({"seq"})),
            )
        except DuplicateError as exc:
            # The unique (sender_id, client_msg_id) index, not a prior read, decides.
            if "client_msg_id" not in str(exc):
                raise
            original = await self._by_client_id(message.sender_id, message.client_msg_id)
            if original is None:
                raise
            return AppendResult(original, created=False)
        if not rows:  # no such conversation, or the sender may not write to it
            return None
        self.indexer.appended()
        message.seq, members_version = rows[0]
        return AppendResult(message, created=True, members_version=members_version)

    async def _by_client_id(self, sender_id: str, client_msg_id: str) -> MessageRecord | None:
        return await fetch_record(
            self.db,
            MessageRecord,
            f"SELECT {_COLUMNS} FROM messages WHERE sender_id = ? AND client_msg_id = ?",
            (sender_id, client_msg_id),
        )

    async def get(self, message_id: str) -> MessageRecord | None:
        return await fetch_record(
            self.db, MessageRecord, f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (message_id,)
        )

    async def update(self, message_id: str, changes: dict[str, Any]) -> MessageRecord | None:
        check_changes(MessageRecord, changes, {"id", "conversation_id", "seq", "sender_id"})
        async with self.db.transaction() as conn:
            sets = ", ".join(f"{name} = :{name}" for name in changes)
            cursor = await conn.execute(
                f"UPDATE messages SET {sets}, {_NEXT_REV} WHERE id = :_id RETURNING {_COLUMNS}",
                {**values(MessageRecord, changes), "_id": message_id},
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            message = from_row(MessageRecord, row)
            await _refresh_last_message(conn, message)
        return message

    async def pin(
        self, message_id: str, by_user_id: str, at: str, limit: int
    ) -> MessageChange | None:
        # The count and the write are one statement in one write transaction:
        # two concurrent pins cannot both see room for one more.
        return await self._set_pin(
            f"UPDATE messages SET pinned = 1, pinned_at = ?, pinned_by = ?, {_NEXT_REV}"
            " WHERE id = ? AND deleted = 0 AND pinned = 0"
            " AND (SELECT COUNT(*) FROM messages p"
            "      WHERE p.conversation_id = messages.conversation_id AND p.pinned = 1) < ?"
            f" RETURNING {_COLUMNS}",
            (at, by_user_id, message_id, limit),
            message_id,
            unchanged_if_pinned=True,
        )

    async def unpin(self, message_id: str) -> MessageChange | None:
        return await self._set_pin(
            f"UPDATE messages SET pinned = 0, pinned_at = NULL, pinned_by = NULL, {_NEXT_REV}"
            f" WHERE id = ? AND pinned = 1 RETURNING {_COLUMNS}",
            (message_id,),
            message_id,
            unchanged_if_pinned=False,
        )

    async def _set_pin(
        self,
        sql: str,
        params: tuple[object, ...],
        message_id: str,
        *,
        unchanged_if_pinned: bool,
    ) -> MessageChange | None:
        """Run a conditional pin or unpin; when it matched nothing, the message
        as it is (unchanged) if it is in the state asked for, else None."""
        async with self.db.transaction() as conn:
            row = await (await conn.execute(sql, params)).fetchone()
            if row is not None:
                message = from_row(MessageRecord, row)
                await _refresh_last_message(conn, message)
                return MessageChange(message, changed=True)
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (message_id,)
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        current = from_row(MessageRecord, row)
        if current.pinned != unchanged_if_pinned:
            return None
        return MessageChange(current, changed=False)

    async def react(
        self, message_id: str, user_id: str, emoji: str, *, add: bool, max_distinct: int
    ) -> MessageChange | None:
        # Read and write in one write transaction: concurrent reactions queue.
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (message_id,)
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            message = from_row(MessageRecord, row)
            if add:
                if message.deleted:
                    return None
                reactions = with_reaction(message.reactions, user_id, emoji, max_distinct)
                if reactions is None:
                    return None
            else:
                reactions = without_reaction(message.reactions, user_id, emoji)
            if reactions is message.reactions:
                return MessageChange(message, changed=False)
            cursor = await conn.execute(
                f"UPDATE messages SET reactions = ?, {_NEXT_REV} WHERE id = ? RETURNING {_COLUMNS}",
                (orjson.dumps(reactions).decode(), message_id),
            )
            row = await cursor.fetchone()
            assert row is not None  # read in this same transaction
            message = from_row(MessageRecord, row)
            await _refresh_last_message(conn, message)
        return MessageChange(message, changed=True)

    async def thread(self, root_id: str, *, after_seq: int, limit: int) -> list[MessageRecord]:
        return await fetch_records(
            self.db,
            MessageRecord,
            f"SELECT {_COLUMNS} FROM messages WHERE thread_root_id = ? AND seq > ?"
            " ORDER BY seq LIMIT ?",
            (root_id, after_seq, limit),
        )

    async def changed(
        self, conversation_id: str, *, after_rev: int, limit: int
    ) -> list[MessageRecord]:
        return await fetch_records(
            self.db,
            MessageRecord,
            # "rev > 0" spelled out lets the partial index messages_rev serve it.
            f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? AND rev > 0 AND rev > ?"
            " ORDER BY rev LIMIT ?",
            (conversation_id, after_rev, limit),
        )

    async def pinned(self, conversation_id: str, limit: int) -> list[MessageRecord]:
        return await fetch_records(
            self.db,
            MessageRecord,
            f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? AND pinned = 1"
            " ORDER BY pinned_at DESC, seq DESC LIMIT ?",
            (conversation_id, limit),
        )

    async def range(
        self,
        conversation_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[MessageRecord]:
        if after_seq is not None:
            return await fetch_records(
                self.db,
                MessageRecord,
                f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? AND seq > ?"
                " AND (? IS NULL OR seq < ?) ORDER BY seq LIMIT ?",
                (conversation_id, after_seq, before_seq, before_seq, limit),
            )
        latest = await fetch_records(
            self.db,
            MessageRecord,
            f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ?"
            " AND (? IS NULL OR seq < ?) ORDER BY seq DESC LIMIT ?",
            (conversation_id, before_seq, before_seq, limit),
        )
        latest.reverse()
        return latest

    async def count_unread(self, conversation_id: str, user_id: str, read_seq: int) -> int:
        row = await self.db.fetch_one(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND seq > ?"
            " AND sender_id != ? AND deleted = 0",
            (conversation_id, read_seq, user_id),
        )
        return int(row[0]) if row else 0

    async def count_unread_mentions(self, conversation_id: str, user_id: str, read_seq: int) -> int:
        row = await self.db.fetch_one(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND seq > ?"
            " AND sender_id != ? AND deleted = 0 AND mentions != '[]'"
            " AND EXISTS (SELECT 1 FROM json_each(messages.mentions) WHERE value = ?)",
            (conversation_id, read_seq, user_id, user_id),
        )
        return int(row[0]) if row else 0

    async def search(
        self, user_id: str, query: str, *, conversation_id: str | None, offset: int, limit: int
    ) -> list[tuple[MessageRecord, str]]:
        # Every word as a quoted term, so that FTS5 syntax cannot leak in.
        match = " ".join(f'"{word}"' for word in search_words(query))
        if not match:
            return []
        await self.indexer.current()
        rows = await self.db.fetch_all(
            f"SELECT {column_list(MessageRecord, alias='m')},"
            " snippet(messages_fts, 0, '<mark>', '</mark>', '…', 24) AS highlight"
            " FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid"
            " JOIN memberships p ON p.conversation_id = m.conversation_id AND p.user_id = ?"
            " WHERE messages_fts MATCH ? AND m.deleted = 0"
            " AND (? IS NULL OR m.conversation_id = ?)"
            " ORDER BY rank, m.rowid DESC LIMIT ? OFFSET ?",
            (user_id, match, conversation_id, conversation_id, limit, offset),
        )
        return [(from_row(MessageRecord, row), row["highlight"]) for row in rows]


async def _refresh_last_message(conn: aiosqlite.Connection, message: MessageRecord) -> None:
    """The conversation's ``last_message`` snapshot follows a change of its latest message."""
    await conn.execute(
        "UPDATE conversations SET last_message = ? WHERE id = ? AND last_seq = ?",
        (orjson.dumps(asdict(message)).decode(), message.conversation_id, message.seq),
    )
