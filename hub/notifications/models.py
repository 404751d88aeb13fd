"""REST queries and shapes of the notification inbox."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..schema import Cursor, Limit, Query


class NotificationListQuery(Query):
    unread_only: bool = False
    cursor: Cursor | None = None
    limit: Limit = 20


class Notification(BaseModel):
    id: str
    type: str
    data: dict[str, Any]
    created_at: str
    read: bool


class NotificationPage(BaseModel):
    items: list[Notification]
    next_cursor: str | None


class UnreadNotifications(BaseModel):
    count: int


class ReadAll(BaseModel):
    updated: int
