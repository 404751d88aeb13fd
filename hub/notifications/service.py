"""Store a notification, then push it to every socket of its user on /notifications."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from storage import Store
from storage.records import NotificationRecord

from ..clock import new_id, now_iso
from ..cursors import decode_cursor, encode_cursor
from ..emitter import Emitter, UserEvents
from ..errors import Forbidden, NotFound

if TYPE_CHECKING:
    from ..offline.push import PushService
    from ..offline.webhooks import WebhookEvents

log = logging.getLogger(__name__)

NAMESPACE = "/notifications"


def notification_view(record: NotificationRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "type": record.type,
        "data": record.data,
        "created_at": record.created_at,
        "read": record.read_at is not None,
    }


class NotificationService:
    def __init__(self, store: Store, emitter: Emitter) -> None:
        self.store = store
        self.events = UserEvents(emitter, NAMESPACE)
        self.webhooks: WebhookEvents | None = None  # outbound webhooks (hub/context.py)
        self.push: PushService | None = None  # Web Push (hub/context.py)

    async def notify(self, user_id: str, type: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """Store and push. Never raises: the state change it reports has happened
        already, and its caller must still answer (and not be retried)."""
        record = NotificationRecord(new_id(), user_id, type, data, now_iso())
        try:
            await self.store.notifications.create(record)
            view = notification_view(record)
            await self.events.to_users("notification", view, [user_id])
        except Exception:
            log.exception("notification %s to %s failed", type, user_id)
            return None
        if self.webhooks is not None:
            self.webhooks.publish("notification.created", {"user_id": user_id, **view})
        if self.push is not None:  # queued only: sent by a background worker
            self.push.notified(user_id, view)
        return view

    async def list(
        self, user_id: str, unread_only: bool, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        rows = await self.store.notifications.list(
            user_id, unread_only=unread_only, before=decode_cursor(cursor), limit=limit + 1
        )
        page = rows[:limit]
        return {
            "items": [notification_view(n) for n in page],
            "next_cursor": encode_cursor(page[-1].id) if len(rows) > limit else None,
        }

    async def mark_read(self, user_id: str, notification_id: str) -> dict[str, Any]:
        record = await self.store.notifications.get(notification_id)
        if record is None:
            raise NotFound("No such notification")
        if record.user_id != user_id:
            raise Forbidden("This notification is someone else's")
        updated = await self.store.notifications.mark_read(notification_id, now_iso())
        return notification_view(updated or record)

    async def mark_all_read(self, user_id: str) -> dict[str, Any]:
        return {"updated": await self.store.notifications.mark_all_read(user_id, now_iso())}

    async def unread_count(self, user_id: str) -> dict[str, Any]:
        return {"count": await self.store.notifications.unread_count(user_id)}
