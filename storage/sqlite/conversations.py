"""Conversations and memberships on SQLite."""

from __future__ import annotations

from typing import Any

from ..errors import DuplicateError
from ..records import ConversationRecord, ListPosition, MembershipRecord
from ..schema import check_changes, field_names
from .codec import column_list, from_row, insert_sql, to_row
from .database import Database
from .ops import fetch_record, fetch_records, update

# A conversation row joined with a membership row: the membership's columns as m_<name>.
_WITH_MEMBERSHIP = column_list(MembershipRecord, alias="m", as_prefix="m_")

# Keyset conditions of list_for_user: what comes after a position (:p, :at, :id)
# in the order pinned_at DESC (unpinned, NULL, last), last_activity_at DESC, id DESC.
_AFTER_ACTIVITY = "(c.last_activity_at < :at OR (c.last_activity_at = :at AND c.id < :id))"
_AFTER_UNPINNED = f"(m.pinned_at IS NULL AND {_AFTER_ACTIVITY})"
_AFTER_PINNED = (
    f"(m.pinned_at IS NULL OR m.pinned_at < :p OR (m.pinned_at = :p AND {_AFTER_ACTIVITY}))"
)


class SqliteConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, conversation: ConversationRecord, members: list[MembershipRecord]
    ) -> tuple[ConversationRecord, bool]:
        try:
            async with self.db.transaction() as conn:
                await conn.execute(
                    insert_sql("conversations", field_names(ConversationRecord)),
                    to_row(conversation),
                )
                await conn.executemany(
                    insert_sql("memberships", field_names(MembershipRecord)),
                    [to_row(member) for member in members],
                )
                # The first members are not a change: start at the record's version.
                await conn.execute(
                    "UPDATE conversations SET members_version = ? WHERE id = ?",
                    (conversation.members_version, conversation.id),
                )
        except DuplicateError:
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
                return from_row(ConversationRecord, row)
        return None

    async def get(self, conversation_id: str) -> ConversationRecord | None:
        return await fetch_record(
            self.db,
            ConversationRecord,
            "SELECT * FROM conversations WHERE id = ?",
            (conversation_id,),
        )

    async def update(
        self, conversation_id: str, changes: dict[str, Any]
    ) -> ConversationRecord | None:
        check_changes(
            ConversationRecord, changes, {"id", "type", "direct_key", "context_key", "last_seq"}
        )
        if changes:
            where, key = "id = :_id", {"_id": conversation_id}
            await update(self.db, "conversations", ConversationRecord, changes, where, key)
        return await self.get(conversation_id)

    async def get_for_member(
        self, conversation_id: str, user_id: str
    ) -> tuple[ConversationRecord | None, MembershipRecord | None]:
        row = await self.db.fetch_one(
            f"SELECT c.*, {_WITH_MEMBERSHIP} FROM conversations c LEFT JOIN memberships m"
            " ON m.conversation_id = c.id AND m.user_id = ? WHERE c.id = ?",
            (user_id, conversation_id),
        )
        if row is None:
            return None, None
        conversation = from_row(ConversationRecord, row)
        if row["m_user_id"] is None:
            return conversation, None
        return conversation, from_row(MembershipRecord, row, "m_")

    async def member_ids(self, conversation_id: str) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT user_id FROM memberships WHERE conversation_id = ? ORDER BY joined_at, user_id",
            (conversation_id,),
        )
        return [row[0] for row in rows]

    async def members(self, conversation_id: str) -> list[MembershipRecord]:
        return await fetch_records(
            self.db,
            MembershipRecord,
            "SELECT * FROM memberships WHERE conversation_id = ? ORDER BY joined_at, user_id",
            (conversation_id,),
        )

    async def membership(self, conversation_id: str, user_id: str) -> MembershipRecord | None:
        return await fetch_record(
            self.db,
            MembershipRecord,
            "SELECT * FROM memberships WHERE conversation_id = ? AND user_id = ?",
            (conversation_id, user_id),
        )

    async def update_membership(
        self, conversation_id: str, user_id: str, changes: dict[str, Any]
    ) -> MembershipRecord | None:
        check_changes(MembershipRecord, changes, {"conversation_id", "user_id"})
        if changes:
            where = "conversation_id = :_c AND user_id = :_u"
            key = {"_c": conversation_id, "_u": user_id}
            await update(self.db, "memberships", MembershipRecord, changes, where, key)
        return await self.membership(conversation_id, user_id)

    async def add_members(self, members: list[MembershipRecord]) -> list[str]:
        added = []
        async with self.db.transaction() as conn:
            for member in members:
                cursor = await conn.execute(
                    insert_sql("memberships", field_names(MembershipRecord), "INSERT OR IGNORE"),
                    to_row(member),
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
        return int(row[0]) if row else 0

    async def rewind_read(self, conversation_id: str, user_id: str, seq: int) -> int:
        # The right-hand sides see the old row: delivered takes the old read marker.
        return await self._move_marker(
            "UPDATE memberships SET delivered_seq = MAX(delivered_seq, read_seq), read_seq = ?"
            " WHERE conversation_id = ? AND user_id = ? AND read_seq > ?",
            "read_seq",
            conversation_id,
            user_id,
            seq,
        )

    async def advance_delivered(self, conversation_id: str, user_id: str, seq: int) -> int:
        return await self._move_marker(
            "UPDATE memberships SET delivered_seq = ?"
            " WHERE conversation_id = ? AND user_id = ? AND delivered_seq < ?",
            "delivered_seq",
            conversation_id,
            user_id,
            seq,
        )

    async def _move_marker(
        self, sql: str, column: str, conversation_id: str, user_id: str, seq: int
    ) -> int:
        """Run ``sql`` (parameters: seq, conversation, user, seq) and read
        ``column`` back in the same transaction."""
        async with self.db.transaction() as conn:
            await conn.execute(sql, (seq, conversation_id, user_id, seq))
            cursor = await conn.execute(
                f"SELECT {column} FROM memberships WHERE conversation_id = ? AND user_id = ?",
                (conversation_id, user_id),
            )
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def list_for_user(
        self, user_id: str, *, archived: bool | None, before: ListPosition | None, limit: int
    ) -> list[tuple[ConversationRecord, MembershipRecord]]:
        where: list[str] = ["m.user_id = :user"]
        params: dict[str, Any] = {"user": user_id, "limit": limit}
        if archived is not None:
            where.append("m.archived = :archived")
            params["archived"] = int(archived)
        if before is not None:
            where.append(_AFTER_UNPINNED if before.pinned_at is None else _AFTER_PINNED)
            params.update(p=before.pinned_at, at=before.last_activity_at, id=before.id)
        rows = await self.db.fetch_all(
            f"SELECT c.*, {_WITH_MEMBERSHIP} FROM memberships m"
            " JOIN conversations c ON c.id = m.conversation_id"
            f" WHERE {' AND '.join(where)}"
            # NULLs sort last in a descending order: the unpinned come after the pinned.
            " ORDER BY m.pinned_at DESC, c.last_activity_at DESC, c.id DESC LIMIT :limit",
            params,
        )
        return [
            (from_row(ConversationRecord, row), from_row(MembershipRecord, row, "m_"))
            for row in rows
        ]

    async def memberships_of(self, user_id: str) -> list[MembershipRecord]:
        return await fetch_records(
            self.db, MembershipRecord, "SELECT * FROM memberships WHERE user_id = ?", (user_id,)
        )

    async def share_conversation(self, user_id: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        marks = ", ".join("?" * len(user_ids))
        rows = await self.db.fetch_all(
            "SELECT DISTINCT o.user_id FROM memberships m"
            " JOIN memberships o ON o.conversation_id = m.conversation_id"
            f" WHERE m.user_id = ? AND o.user_id IN ({marks})",
            (user_id, *user_ids),
        )
        return {row[0] for row in rows}
