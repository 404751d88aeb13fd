"""Idempotency keys on SQLite: one row per (scope, key), the claim of a request
and, once it is done, its response."""

from __future__ import annotations

from typing import Any

from ..records import IdempotencyRecord
from .codec import values
from .database import Database
from .ops import fetch_record


class SqliteIdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return await fetch_record(
            self.db,
            IdempotencyRecord,
            "SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?",
            (scope, key),
        )

    async def reserve(self, record: IdempotencyRecord) -> bool:
        changed = await self.db.write(
            "INSERT OR IGNORE INTO idempotency_keys (scope, key, request_hash, status, body,"
            " created_at) VALUES (?, ?, ?, 0, 'null', ?)",
            (record.scope, record.key, record.request_hash, record.created_at),
        )
        return changed == 1

    async def take_over(
        self, record: IdempotencyRecord, *, pending_before: str, any_before: str
    ) -> bool:
        changed = await self.db.write(
            "UPDATE idempotency_keys SET request_hash = ?, status = 0, body = 'null',"
            " created_at = ? WHERE scope = ? AND key = ?"
            " AND ((status = 0 AND created_at < ?) OR created_at < ?)",
            (
                record.request_hash,
                record.created_at,
                record.scope,
                record.key,
                pending_before,
                any_before,
            ),
        )
        return changed == 1

    async def complete(self, scope: str, key: str, token: str, status: int, body: Any) -> bool:
        changed = await self.db.write(
            "UPDATE idempotency_keys SET status = :status, body = :body WHERE scope = :scope"
            " AND key = :key AND created_at = :token AND status IN (0, 1)",
            {
                **values(IdempotencyRecord, {"status": status, "body": body}),
                "scope": scope,
                "key": key,
                "token": token,
            },
        )
        return changed == 1

    async def release(self, scope: str, key: str, token: str) -> None:
        await self.db.write(
            "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at = ?"
            " AND status = 0",
            (scope, key, token),
        )

    async def purge(self, before: str) -> int:
        return await self.db.write("DELETE FROM idempotency_keys WHERE created_at < ?", (before,))
