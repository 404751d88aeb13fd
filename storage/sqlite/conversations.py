"""Conversations, memberships and messages on SQLite."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, fields
from typing import Any

import orjson

from ..records import (
    AppendResult,
    ConversationRecord,
    MembershipRecord,
    MessageRecord,
)
from .database import Database

_JSON_COLUMNS = {"context", "last_message", "attachments", "body"}
_BOOL_COLUMNS = {"pinned", "archived", "muted", "deleted"}


def _decode(row: sqlite3.Row, prefix: str = "") -> dict[str, Any]:
    data = {}
    for key in row.keys():
        if not key.startswith(prefix):
            continue
        name, value = key[len(prefix) :], row[key]
        if name in _JSON_COLUMNS and value is not None:
            value = orjson.loads(value)
        elif name in _BOOL_COLUMNS:
            value = bool(value)
        data[name] = value
    return data


def _encode(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: orjson.dumps(value).decode() if key in _JSON_COLUMNS and value is not None else value
        for key, value in data.items()
    }


def _columns(record_type: type) -> list[str]:
    return [f.name for f in fields(record_type)]


def _insert_sql(table: str, names: list[str], verb: str = "INSERT") -> str:
    return f"{verb} INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"


def _check_changes(record_type: type, changes: dict[str, Any], frozen: set[str]) -> None:
    unknown = (set(changes) - set(_columns(record_type))) | (set(changes) & frozen)
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")


_CONVERSATION_COLUMNS = _columns(ConversationRecord)
# The conversation row gives the next seq; a trigger (migration) advances it.
_APPEND_SQL = (
    "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, text, attachments,"
    " reply_to, created_at, edited_at, deleted)"
    " SELECT :id, c.id, c.last_seq + 1, :sender_id, :client_msg_id, :text, :attachments,"
    " :reply_to, :created_at, :edited_at, :deleted FROM conversations c"
    " WHERE c.id = :conversation_id"
    " AND EXISTS (SELECT 1 FROM memberships WHERE conversation_id = c.id AND user_id = :sender_id)"
    " AND NOT EXISTS (SELECT 1 FROM memberships o JOIN blocks b"
    "  ON (b.blocker_id = :sender_id AND b.blocked_id = o.user_id)"
    "  OR (b.blocker_id = o.user_id AND b.blocked_id = :sender_id)"
    "  WHERE c.type = 'direct' AND o.conversation_id = c.id AND o.user_id != :sender_id)"
    " RETURNING seq, (SELECT members_version FROM conversations WHERE id = :conversation_id)"
)
_MEMBERSHIP_COLUMNS = _columns(MembershipRecord)
_MESSAGE_COLUMNS = _columns(MessageRecord)


class SqliteConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, conversation: ConversationRecord, members: list[MembershipRecord]
    ) -> tuple[ConversationRecord, bool]:
        try:
            async with self.db.transaction() as conn:
                await conn.execute(
                    _insert_sql("conversations", _CONVERSATION_COLUMNS),
                    _encode(asdict(conversation)),
                )
                await conn.executemany(
                    _insert_sql("memberships", _MEMBERSHIP_COLUMNS), [asdict(m) for m in members]
                )
                # The first members are not a change: start at the record's version.
                await conn.execute(
                    "UPDATE conversations SET members_version = ? WHERE id = ?",
                    (conversation.members_version, conversation.id),
                )
        except sqlite3.IntegrityError:
            existing = await self._holder_of_keys(conversation)
            if existing is None:
                raise
            return existing, False
        return conversation, True

    async def _holder_of_keys(self, conversation: ConversationRecord) -> ConversationRecord | None:
        """The conversation already holding ``context_key``, else ``direct_key``."""
        for column in ("context_key", "direct_key"):
            value = getattr(conversation, column)
            if value is None:
                continue
            row = await self.db.fetch_one(
                f"SELECT * FROM conversations WHERE {column} = ?", (value,)
            )
            if row is not None:
                return ConversationRecord(**_decode(row))
        return None

    async def get(self, conversation_id: str) -> ConversationRecord | None:
        row = await self.db.fetch_one(
            "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
        )
        return ConversationRecord(**_decode(row)) if row else None

    async def update(
        self, conversation_id: str, changes: dict[str, Any]
    ) -> ConversationRecord | None:
        _check_changes(
            ConversationRecord, changes, {"id", "type", "direct_key", "context_key", "last_seq"}
        )
        if changes:
            sets = ", ".join(f"{name} = :{name}" for name in changes)
            await self.db.write(
                f"UPDATE conversations SET {sets} WHERE id = :_id",
                {**_encode(changes), "_id": conversation_id},
            )
        return await self.get(conversation_id)

    async def get_for_member(
        self, conversation_id: str, user_id: str
    ) -> tuple[ConversationRecord | None, MembershipRecord | None]:
        member_cols = ", ".join(f"m.{name} AS m_{name}" for name in _MEMBERSHIP_COLUMNS)
        row = await self.db.fetch_one(
            f"SELECT c.*, {member_cols} FROM conversations c LEFT JOIN memberships m"
            " ON m.conversation_id = c.id AND m.user_id = ? WHERE c.id = ?",
            (user_id, conversation_id),
        )
        if row is None:
            return None, None
        conversation = ConversationRecord(
            **{k: v for k, v in _decode(row).items() if k in _CONVERSATION_COLUMNS}
        )
        if row["m_user_id"] is None:
            return conversation, None
        return conversation, MembershipRecord(**_decode(row, "m_"))

    async def member_ids(self, conversation_id: str) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT user_id FROM memberships WHERE conversation_id = ? ORDER BY joined_at, user_id",
            (conversation_id,),
        )
        return [row[0] for row in rows]

    async def members(self, conversation_id: str) -> list[MembershipRecord]:
        rows = await self.db.fetch_all(
            "SELECT * FROM memberships WHERE conversation_id = ? ORDER BY joined_at, user_id",
            (conversation_id,),
        )
        return [MembershipRecord(**_decode(row)) for row in rows]

    async def membership(self, conversation_id: str, user_id: str) -> MembershipRecord | None:
        row = await self.db.fetch_one(
            "SELECT * FROM memberships WHERE conversation_id = ? AND user_id = ?",
            (conversation_id, user_id),
        )
        return MembershipRecord(**_decode(row)) if row else None

    async def update_membership(
        self, conversation_id: str, user_id: str, changes: dict[str, Any]
    ) -> MembershipRecord | None:
        _check_changes(MembershipRecord, changes, {"conversation_id", "user_id"})
        if changes:
            sets = ", ".join(f"{name} = :{name}" for name in changes)
            await self.db.write(
                f"UPDATE memberships SET {sets} WHERE conversation_id = :_c AND user_id = :_u",
                {**changes, "_c": conversation_id, "_u": user_id},
            )
        return await self.membership(conversation_id, user_id)

    async def add_members(self, members: list[MembershipRecord]) -> list[str]:
        added = []
        async with self.db.transaction() as conn:
            for member in members:
                cursor = await conn.execute(
                    _insert_sql("memberships", _MEMBERSHIP_COLUMNS, "INSERT OR IGNORE"),
                    asdict(member),
                )
                if cursor.rowcount == 1:
                    added.append(member.user_id)
        return added

    async def remove_member(self, conversation_id: str, user_id: str) -> bool:
        changed = await self.db.write(
            "DELETE FROM memberships WHERE conversation_id = ? AND user_id = ?",
            (conversation_id, user_id),
        )
        return changed == 1

    async def advance_read(self, conversation_id: str, user_id: str, seq: int) -> int:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE memberships SET read_seq = ? WHERE conversation_id = ? AND user_id = ?"
                " AND read_seq < ?",
                (seq, conversation_id, user_id, seq),
            )
            cursor = await conn.execute(
                "SELECT read_seq FROM memberships WHERE conversation_id = ? AND user_id = ?",
                (conversation_id, user_id),
            )
            row = await cursor.fetchone()
        return row[0] if row else 0

    async def list_for_user(
        self, user_id: str, *, archived: bool | None, before: tuple[str, str] | None, limit: int
    ) -> list[tuple[ConversationRecord, MembershipRecord]]:
        where, params = ["m.user_id = :user"], {"user": user_id, "limit": limit}
        if archived is not None:
            where.append("m.archived = :archived")
            params["archived"] = int(archived)
        if before is not None:
            where.append("(c.last_activity_at < :at OR (c.last_activity_at = :at AND c.id < :id))")
            params.update(at=before[0], id=before[1])
        member_cols = ", ".join(f"m.{name} AS m_{name}" for name in _MEMBERSHIP_COLUMNS)
        rows = await self.db.fetch_all(
            f"SELECT c.*, {member_cols} FROM memberships m"
            " JOIN conversations c ON c.id = m.conversation_id"
            f" WHERE {' AND '.join(where)}"
            " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT :limit",
            params,
        )
        return [
            (
                ConversationRecord(
                    **{k: v for k, v in _decode(row).items() if k in _CONVERSATION_COLUMNS}
                ),
                MembershipRecord(**_decode(row, "m_")),
            )
            for row in rows
        ]

    async def memberships_of(self, user_id: str) -> list[MembershipRecord]:
        rows = await self.db.fetch_all("SELECT * FROM memberships WHERE user_id = ?", (user_id,))
        return [MembershipRecord(**_decode(row)) for row in rows]


class SqliteMessageStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(self, message: MessageRecord) -> AppendResult | None:
        # Not asdict(): it deep-copies, a tenth of a send's CPU.
        data = _encode({name: getattr(message, name) for name in _MESSAGE_COLUMNS if name != "seq"})
        try:
            rows = await self.db.write_batched(_APPEND_SQL, data)
        except sqlite3.IntegrityError as exc:
            # The unique (sender_id, client_msg_id) index, not a prior read, decides.
            if "client_msg_id" not in str(exc):
                raise
            original = await self._by_client_id(message.sender_id, message.client_msg_id)
            if original is None:
                raise
            return AppendResult(original, created=False)
        if not rows:  # no such conversation, or the sender may not write to it
            return None
        message.seq, members_version = rows[0]
        return AppendResult(message, created=True, members_version=members_version)

    async def _by_client_id(self, sender_id: str, client_msg_id: str) -> MessageRecord | None:
        row = await self.db.fetch_one(
            f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM messages"
            " WHERE sender_id = ? AND client_msg_id = ?",
            (sender_id, client_msg_id),
        )
        return MessageRecord(**_decode(row)) if row else None

    async def get(self, message_id: str) -> MessageRecord | None:
        row = await self.db.fetch_one(
            f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM messages WHERE id = ?", (message_id,)
        )
        return MessageRecord(**_decode(row)) if row else None

    async def update(self, message_id: str, changes: dict[str, Any]) -> MessageRecord | None:
        _check_changes(MessageRecord, changes, {"id", "conversation_id", "seq", "sender_id"})
        async with self.db.transaction() as conn:
            sets = ", ".join(f"{name} = :{name}" for name in changes)
            cursor = await conn.execute(
                f"UPDATE messages SET {sets} WHERE id = :_id"
                f" RETURNING {', '.join(_MESSAGE_COLUMNS)}",
                {**_encode(changes), "_id": message_id},
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            message = MessageRecord(**_decode(row))
            await conn.execute(
                "UPDATE conversations SET last_message = ? WHERE id = ? AND last_seq = ?",
                (orjson.dumps(asdict(message)).decode(), message.conversation_id, message.seq),
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
        columns = ", ".join(_MESSAGE_COLUMNS)
        if after_seq is not None:
            rows = await self.db.fetch_all(
                f"SELECT {columns} FROM messages WHERE conversation_id = ? AND seq > ?"
                " AND (? IS NULL OR seq < ?) ORDER BY seq LIMIT ?",
                (conversation_id, after_seq, before_seq, before_seq, limit),
            )
        else:
            rows = await self.db.fetch_all(
                f"SELECT {columns} FROM messages WHERE conversation_id = ?"
                " AND (? IS NULL OR seq < ?) ORDER BY seq DESC LIMIT ?",
                (conversation_id, before_seq, before_seq, limit),
            )
            rows.reverse()
        return [MessageRecord(**_decode(row)) for row in rows]

    async def count_unread(self, conversation_id: str, user_id: str, read_seq: int) -> int:
        row = await self.db.fetch_one(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND seq > ?"
            " AND sender_id != ? AND deleted = 0",
            (conversation_id, read_seq, user_id),
        )
        return row[0]

    async def search(
        self, user_id: str, query: str, *, conversation_id: str | None, offset: int, limit: int
    ) -> list[tuple[MessageRecord, str]]:
        match = _fts_query(query)
        if not match:
            return []
        columns = ", ".join(f"m.{name}" for name in _MESSAGE_COLUMNS)
        rows = await self.db.fetch_all(
            f"SELECT {columns}, snippet(messages_fts, 0, '<mark>', '</mark>', '…', 24) AS highlight"
            " FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid"
            " JOIN memberships p ON p.conversation_id = m.conversation_id AND p.user_id = ?"
            " WHERE messages_fts MATCH ? AND m.deleted = 0"
            " AND (? IS NULL OR m.conversation_id = ?)"
            " ORDER BY rank, m.rowid DESC LIMIT ? OFFSET ?",
            (user_id, match, conversation_id, conversation_id, limit, offset),
        )
        return [
            (
                MessageRecord(**{k: v for k, v in _decode(row).items() if k != "highlight"}),
                row["highlight"],
            )
            for row in rows
        ]


def _fts_query(text: str) -> str:
    """Every word of the user's text as a quoted term, so FTS5 syntax cannot leak in."""
    words = re.findall(r"\w+", text)
    return " ".join(f'"{word}"' for word in words[:16])
