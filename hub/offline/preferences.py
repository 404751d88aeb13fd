"""Notification settings per user (issue 18): whether push and email reach
them, how long an absence waits for an email digest, and quiet hours.

Per conversation, the membership's ``muted`` flag says the rest: a muted
conversation sends nothing offline (no push, no email, mentions included).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage import Store
from storage.records import NotificationSettingsRecord

from ..clock import now_iso
from ..errors import ValidationFailed

CHANGEABLE = frozenset({"push", "email", "email_digest_delay_s", "quiet_hours"})


def in_quiet_hours(settings: NotificationSettingsRecord, now: datetime) -> bool:
    """Whether ``now`` (an aware datetime) falls in the user's quiet hours:
    from ``start`` (included) to ``end`` (excluded), local time in ``tz``; a
    range whose end comes before its start crosses midnight. Equal start and
    end, or none set, is never quiet."""
    quiet = settings.quiet_hours
    if not quiet:
        return False
    try:
        start = time.fromisoformat(quiet["start"])
        end = time.fromisoformat(quiet["end"])
        local = now.astimezone(ZoneInfo(quiet["tz"])).time().replace(tzinfo=None)
    except (KeyError, TypeError, ValueError, ZoneInfoNotFoundError):
        return False  # stored before a zone was removed, say: push rather than stay silent
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


class Preferences:
    """Reads each user's settings (the defaults until they save some) and changes them."""

    def __init__(self, store: Store, default_digest_delay_s: int) -> None:
        self.store = store
        self.default_digest_delay_s = default_digest_delay_s

    def defaults(self, user_id: str) -> NotificationSettingsRecord:
        return NotificationSettingsRecord(user_id, email_digest_delay_s=self.default_digest_delay_s)

    async def get(self, user_id: str) -> NotificationSettingsRecord:
        stored = await self.store.notification_settings.get(user_id)
        return stored if stored is not None else self.defaults(user_id)

    async def get_many(self, user_ids: list[str]) -> dict[str, NotificationSettingsRecord]:
        return {user_id: await self.get(user_id) for user_id in dict.fromkeys(user_ids)}

    async def update(self, user_id: str, changes: dict[str, Any]) -> NotificationSettingsRecord:
        """Apply ``changes`` (validated by the door: ``push``, ``email``,
        ``email_digest_delay_s``, ``quiet_hours`` with None clearing them)."""
        unknown = set(changes) - CHANGEABLE
        if unknown:
            raise ValidationFailed.field(sorted(unknown)[0], "is not a notification setting")
        record = replace(await self.get(user_id), **changes, updated_at=now_iso())
        await self.store.notification_settings.put(record)
        return record


def settings_view(record: NotificationSettingsRecord) -> dict[str, Any]:
    return {
        "push": record.push,
        "email": record.email,
        "email_digest_delay_s": record.email_digest_delay_s,
        "quiet_hours": record.quiet_hours,
    }
