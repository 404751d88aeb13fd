"""The notification inbox on SQLite."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..records import NotificationRecord
from .database import Database


def _notification(row: sqlite3.Row | None) -> NotificationRecord | None:
    if row is None:
        return None
    data = dict(row)
    data["data"] = json.loads(data["data"])
    return NotificationRecord(**data)


class SqliteNotificationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, notification: NotificationRecord) -> None:
        await self.db.write(
            "INSERT INTO notifications (id, user_id, type, data, created_at, read_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                notification.id,
                notification.user_id,
                notification.type,
                json.dumps(notification.data),
                notification.created_at,
                notification.read_at,
            ),
        )

    async def get(self, notification_id: str) -> NotificationRecord | None:
        return _notification(
            await self.db.fetch_one("SELECT * FROM notifications WHERE id = ?", (notification_id,))
        )

    async def list(
        self, user_id: str, *, unread_only: bool, before: str | None, limit: int
    ) -> list[NotificationRecord]:
        sql = "SELECT * FROM notifications WHERE user_id = ?"
        params: list[Any] = [user_id]
        if unread_only:
            sql += " AND read_at IS NULL"
        if before is not None:
            sql += " AND id < ?"
            params.append(before)
        rows = await self.db.fetch_all(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        return [_notification(row) for row in rows]  # type: ignore[misc]

    async def mark_read(self, notification_id: str, read_at: str) -> NotificationRecord | None:
        await self.db.write(
            "UPDATE notifications SET read_at = ? WHERE id = ? AND read_at IS NULL",
            (read_at, notification_id),
        )
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
