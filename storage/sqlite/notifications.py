"""The notification inbox on SQLite."""

from __future__ import annotations

from ..records import NotificationRecord
from .database import Database
from .ops import fetch_record, insert, newest_first, set_once


class SqliteNotificationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, notification: NotificationRecord) -> None:
        await insert(self.db, "notifications", notification)

    async def get(self, notification_id: str) -> NotificationRecord | None:
        return await fetch_record(
            self.db,
            NotificationRecord,
            "SELECT * FROM notifications WHERE id = ?",
            (notification_id,),
        )

    async def list(
        self, user_id: str, *, unread_only: bool, before: str | None, limit: int
    ) -> list[NotificationRecord]:
        where = ["user_id = ?", *(["read_at IS NULL"] if unread_only else [])]
        return await newest_first(
            self.db,
            NotificationRecord,
            "notifications",
            where,
            [user_id],
            before=before,
            limit=limit,
        )

    async def mark_read(self, notification_id: str, read_at: str) -> NotificationRecord | None:
        await set_once(self.db, "notifications", ("id", notification_id), "read_at", read_at)
        return await self.get(notification_id)

    async def mark_all_read(self, user_id: str, read_at: str) -> int:
        return await self.db.write(
            "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
            (read_at, user_id),
        )

    async def unread_count(self, user_id: str) -> int:
        row = await self.db.fetch_one(
            "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL", (user_id,)
        )
        return int(row[0]) if row else 0
