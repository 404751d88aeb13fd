"""Email digests (issue 18) on SQLite: one row per user, every change a
conditional statement on the absence it was read for."""

from __future__ import annotations

from ..records import EmailDigestRecord
from ..schema import field_names
from .codec import from_row, insert_sql, to_row
from .database import Database
from .ops import fetch_record, fetch_records

_SCHEDULE_SQL = (
    insert_sql("email_digests", field_names(EmailDigestRecord))
    + " ON CONFLICT(user_id) DO UPDATE SET "
    + ", ".join(
        f"{name} = excluded.{name}" for name in field_names(EmailDigestRecord) if name != "user_id"
    )
    + " WHERE email_digests.absence_since < excluded.absence_since"
)


class SqliteEmailDigestStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> EmailDigestRecord | None:
        return await fetch_record(
            self.db, EmailDigestRecord, "SELECT * FROM email_digests WHERE user_id = ?", (user_id,)
        )

    async def schedule(self, record: EmailDigestRecord) -> bool:
        return await self.db.write(_SCHEDULE_SQL, to_row(record)) == 1

    async def due(self, now: str, limit: int) -> list[EmailDigestRecord]:
        return await fetch_records(
            self.db,
            EmailDigestRecord,
            "SELECT * FROM email_digests WHERE state = 'pending' AND due_at <= ?"
            " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at LIMIT ?",
            (now, now, limit),
        )

    async def claim(
        self, user_id: str, absence_since: str, now: str, lease_until: str
    ) -> EmailDigestRecord | None:
        rows = await self.db.write_batched(
            "UPDATE email_digests SET lease_until = ? WHERE user_id = ? AND absence_since = ?"
            " AND state = 'pending' AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
            " RETURNING *",
            (lease_until, user_id, absence_since, now, now),
        )
        return from_row(EmailDigestRecord, rows[0]) if rows else None

    async def finish(self, user_id: str, absence_since: str, state: str, at: str) -> bool:
        changed = await self.db.write(
            "UPDATE email_digests SET state = ?, finished_at = ?, lease_until = NULL"
            " WHERE user_id = ? AND absence_since = ? AND state = 'pending'",
            (state, at, user_id, absence_since),
        )
        return changed == 1

    async def release(self, user_id: str, absence_since: str, due_at: str, attempts: int) -> bool:
        changed = await self.db.write(
            "UPDATE email_digests SET due_at = ?, attempts = ?, lease_until = NULL"
            " WHERE user_id = ? AND absence_since = ? AND state = 'pending'",
            (due_at, attempts, user_id, absence_since),
        )
        return changed == 1

    async def rearm(self, user_ids: list[str], due_at: str) -> int:
        if not user_ids:
            return 0
        marks = ", ".join("?" for _ in user_ids)
        idle = await self.db.fetch_all(
            f"SELECT user_id FROM email_digests WHERE state = 'idle' AND user_id IN ({marks})",
            tuple(user_ids),
        )
        if not idle:  # the usual case: a read, no write
            return 0
        ids = [row[0] for row in idle]
        marks = ", ".join("?" for _ in ids)
        return await self.db.write(
            "UPDATE email_digests SET state = 'pending', due_at = ?, finished_at = NULL"
            f" WHERE state = 'idle' AND user_id IN ({marks})",
            (due_at, *ids),
        )
