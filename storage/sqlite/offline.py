"""Reaching users who are offline (issue 18) on SQLite: notification settings
and Web Push subscriptions."""

from __future__ import annotations

from ..records import NotificationSettingsRecord, PushSubscriptionRecord
from ..schema import field_names
from .codec import from_row, insert_sql, to_row
from .database import Database
from .ops import fetch_record, fetch_records, insert


class SqliteNotificationSettingsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> NotificationSettingsRecord | None:
        return await fetch_record(
            self.db,
            NotificationSettingsRecord,
            "SELECT * FROM notification_settings WHERE user_id = ?",
            (user_id,),
        )

    async def put(self, record: NotificationSettingsRecord) -> None:
        await insert(self.db, "notification_settings", record, verb="INSERT OR REPLACE")


_KEEP_ON_UPSERT = frozenset({"id", "endpoint", "created_at"})
_UPSERT_SQL = (
    insert_sql("push_subscriptions", field_names(PushSubscriptionRecord))
    + " ON CONFLICT(endpoint) DO UPDATE SET "
    + ", ".join(
        f"{name} = excluded.{name}"
        for name in field_names(PushSubscriptionRecord)
        if name not in _KEEP_ON_UPSERT
    )
    + " RETURNING *"
)


class SqlitePushSubscriptionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, record: PushSubscriptionRecord) -> PushSubscriptionRecord:
        rows = await self.db.write_batched(_UPSERT_SQL, to_row(record))
        return from_row(PushSubscriptionRecord, rows[0])

    async def get(self, subscription_id: str) -> PushSubscriptionRecord | None:
        return await fetch_record(
            self.db,
            PushSubscriptionRecord,
            "SELECT * FROM push_subscriptions WHERE id = ?",
            (subscription_id,),
        )

    async def list_for_users(self, user_ids: list[str]) -> list[PushSubscriptionRecord]:
        if not user_ids:
            return []
        marks = ", ".join("?" for _ in user_ids)
        return await fetch_records(
            self.db,
            PushSubscriptionRecord,
            f"SELECT * FROM push_subscriptions WHERE user_id IN ({marks}) ORDER BY created_at, id",
            tuple(user_ids),
        )

    async def delete(self, subscription_id: str) -> bool:
        changed = await self.db.write(
            "DELETE FROM push_subscriptions WHERE id = ?", (subscription_id,)
        )
        return changed == 1
