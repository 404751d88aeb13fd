"""Uploads (the files that become attachments) on SQLite."""

from __future__ import annotations

from typing import Any

from ..records import UploadRecord
from ..schema import check_changes
from .codec import column_list, from_row, values
from .database import Database
from .ops import fetch_record, fetch_records, insert

_COLUMNS = column_list(UploadRecord)
# What completing an upload may not set: its identity, and the states the
# store's own steps move.
_FROZEN = {"id", "owner_id", "conversation_id", "created_at", "expires_at", "status", "message_id"}


class SqliteUploadStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, upload: UploadRecord) -> None:
        await insert(self.db, "uploads", upload)

    async def get(self, upload_id: str) -> UploadRecord | None:
        return await fetch_record(
            self.db, UploadRecord, "SELECT * FROM uploads WHERE id = ?", (upload_id,)
        )

    async def complete(self, upload_id: str, changes: dict[str, Any]) -> UploadRecord | None:
        check_changes(UploadRecord, changes, _FROZEN)
        sets = "".join(f", {name} = :{name}" for name in changes)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                f"UPDATE uploads SET status = 'complete'{sets}"
                f" WHERE id = :_id AND status = 'pending' RETURNING {_COLUMNS}",
                {**values(UploadRecord, changes), "_id": upload_id},
            )
            row = await cursor.fetchone()
        return from_row(UploadRecord, row)

    async def attach(
        self, upload_ids: list[str], owner_id: str, conversation_id: str, message_id: str
    ) -> list[UploadRecord] | None:
        if not upload_ids:
            return []
        marks = ", ".join("?" * len(upload_ids))
        attachable = (
            f"id IN ({marks}) AND owner_id = ? AND conversation_id = ?"
            " AND status = 'complete' AND message_id IS NULL"
        )
        params = [*upload_ids, owner_id, conversation_id]
        # Count, then update, in one write transaction: no other writer can
        # take one of them in between, so it is every one or none.
        async with self.db.transaction() as conn:
            row = await (
                await conn.execute(f"SELECT COUNT(*) FROM uploads WHERE {attachable}", params)
            ).fetchone()
            if row is None or row[0] != len(upload_ids):
                return None
            cursor = await conn.execute(
                f"UPDATE uploads SET status = 'attached', message_id = ?"
                f" WHERE {attachable} RETURNING {_COLUMNS}",
                [message_id, *params],
            )
            rows = await cursor.fetchall()
        by_id = {record.id: record for record in (from_row(UploadRecord, r) for r in rows)}
        return [by_id[upload_id] for upload_id in upload_ids]

    async def detach(self, message_id: str) -> None:
        await self.db.write(
            "UPDATE uploads SET status = 'complete', message_id = NULL"
            " WHERE message_id = ? AND status = 'attached'",
            (message_id,),
        )

    async def set_scan_status(self, upload_id: str, scan_status: str) -> None:
        await self.db.write(
            "UPDATE uploads SET scan_status = ? WHERE id = ?", (scan_status, upload_id)
        )

    async def stale(self, now: str, limit: int) -> list[UploadRecord]:
        expired = await fetch_records(
            self.db,
            UploadRecord,
            "SELECT * FROM uploads WHERE status = 'pending' AND expires_at <= ?"
            " ORDER BY expires_at LIMIT ?",
            (now, limit),
        )
        if len(expired) >= limit:
            return expired
        orphaned = await fetch_records(
            self.db,
            UploadRecord,
            f"SELECT {column_list(UploadRecord, 'u')} FROM uploads u"
            " JOIN messages m ON m.id = u.message_id"
            " WHERE u.status = 'attached' AND m.deleted = 1 LIMIT ?",
            (limit - len(expired),),
        )
        return expired + orphaned

    async def unwritten(self, limit: int) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT u.id FROM uploads u WHERE u.status = 'attached'"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = u.message_id) LIMIT ?",
            (limit,),
        )
        return [row[0] for row in rows]

    async def delete(self, upload_id: str) -> None:
        await self.db.write("DELETE FROM uploads WHERE id = ?", (upload_id,))

    async def bytes_since(self, owner_id: str, since: str) -> int:
        row = await self.db.fetch_one(
            "SELECT COALESCE(SUM(size), 0) FROM uploads WHERE owner_id = ? AND created_at >= ?",
            (owner_id, since),
        )
        return int(row[0]) if row else 0
