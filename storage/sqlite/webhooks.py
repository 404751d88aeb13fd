"""Outbound webhooks on SQLite: endpoints, the outbox and the deliveries log."""

from __future__ import annotations

from ..records import WebhookDeliveryRecord, WebhookEndpointRecord, WebhookOutboxRecord
from ..schema import field_names
from .codec import insert_sql, to_row
from .database import Database
from .ops import fetch_record, fetch_records, insert, newest_first

HEAD = (
    "SELECT * FROM webhook_outbox WHERE endpoint_id = ? AND status = 'pending' ORDER BY id LIMIT 1"
)
# One bounded statement each (the indexes on ``at`` and on the failed entries'
# ``created_at`` find the rows), so a backlog never holds the writer for long.
PRUNE_DELIVERIES = (
    "DELETE FROM webhook_deliveries WHERE id IN"
    " (SELECT id FROM webhook_deliveries WHERE at < ? LIMIT ?)"
)
PRUNE_FAILED = (
    "DELETE FROM webhook_outbox WHERE id IN"
    " (SELECT id FROM webhook_outbox WHERE status = 'failed' AND created_at < ? LIMIT ?)"
)


class SqliteWebhookStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_endpoint(self, endpoint: WebhookEndpointRecord) -> None:
        await insert(self.db, "webhook_endpoints", endpoint)

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpointRecord | None:
        return await fetch_record(
            self.db,
            WebhookEndpointRecord,
            "SELECT * FROM webhook_endpoints WHERE id = ?",
            (endpoint_id,),
        )

    async def list_endpoints(self) -> list[WebhookEndpointRecord]:
        return await fetch_records(
            self.db, WebhookEndpointRecord, "SELECT * FROM webhook_endpoints ORDER BY id"
        )

    async def delete_endpoint(self, endpoint_id: str) -> bool:
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM webhook_outbox WHERE endpoint_id = ?", (endpoint_id,))
            await conn.execute(
                "DELETE FROM webhook_deliveries WHERE endpoint_id = ?", (endpoint_id,)
            )
            cursor = await conn.execute(
                "DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,)
            )
            return cursor.rowcount == 1

    async def enqueue(self, entries: list[WebhookOutboxRecord]) -> None:
        if not entries:
            return
        sql = insert_sql("webhook_outbox", field_names(WebhookOutboxRecord))
        async with self.db.transaction() as conn:
            await conn.executemany(sql, [to_row(entry) for entry in entries])

    async def claim(
        self, endpoint_id: str, owner: str, now: str, lease_until: str
    ) -> WebhookOutboxRecord | None:
        head = await fetch_record(self.db, WebhookOutboxRecord, HEAD, (endpoint_id,))
        if head is None or head.next_attempt_at > now:
            return None
        if head.lease_until is not None and head.lease_until >= now:
            return None
        changed = await self.db.write(
            "UPDATE webhook_outbox SET lease_owner = ?, lease_until = ? WHERE id = ?"
            " AND status = 'pending' AND next_attempt_at <= ?"
            " AND (lease_until IS NULL OR lease_until < ?)",
            (owner, lease_until, head.id, now, now),
        )
        if changed != 1:
            return None
        head.lease_owner, head.lease_until = owner, lease_until
        return head

    async def delivered(self, entry_id: str, owner: str) -> bool:
        changed = await self.db.write(
            "DELETE FROM webhook_outbox WHERE id = ? AND lease_owner = ? AND status = 'pending'",
            (entry_id, owner),
        )
        return changed == 1

    async def retry_later(
        self, entry_id: str, owner: str, next_attempt_at: str, error: str
    ) -> bool:
        changed = await self.db.write(
            "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ?,"
            " last_error = ?, lease_owner = NULL, lease_until = NULL"
            " WHERE id = ? AND lease_owner = ? AND status = 'pending'",
            (next_attempt_at, error, entry_id, owner),
        )
        return changed == 1

    async def give_up(self, entry_id: str, owner: str, error: str) -> bool:
        changed = await self.db.write(
            "UPDATE webhook_outbox SET attempts = attempts + 1, status = 'failed',"
            " last_error = ?, lease_owner = NULL, lease_until = NULL"
            " WHERE id = ? AND lease_owner = ? AND status = 'pending'",
            (error, entry_id, owner),
        )
        return changed == 1

    async def outbox_stats(self) -> tuple[int, str | None]:
        row = await self.db.fetch_one(
            "SELECT COUNT(*), MIN(created_at) FROM webhook_outbox WHERE status = 'pending'"
        )
        if row is None:
            return 0, None
        return int(row[0]), row[1]

    async def log_delivery(self, delivery: WebhookDeliveryRecord) -> None:
        await insert(self.db, "webhook_deliveries", delivery)

    async def deliveries(
        self, endpoint_id: str, *, before: str | None, limit: int
    ) -> list[WebhookDeliveryRecord]:
        return await newest_first(
            self.db,
            WebhookDeliveryRecord,
            "webhook_deliveries",
            ["endpoint_id = ?"],
            [endpoint_id],
            before=before,
            limit=limit,
        )

    async def prune_deliveries(self, before: str, limit: int) -> int:
        return await self.db.write(PRUNE_DELIVERIES, (before, limit))

    async def prune_failed(self, before: str, limit: int) -> int:
        return await self.db.write(PRUNE_FAILED, (before, limit))
