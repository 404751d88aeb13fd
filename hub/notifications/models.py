"""REST queries and shapes of the notification inbox."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from ..conversations.models import Limit, Query


class NotificationListQuery(Query):
    unread_only: bool = False
    cursor: Annotated[str, Field(max_length=200)] | None = None
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
