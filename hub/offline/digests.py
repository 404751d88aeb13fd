"""Email digests (issue 18): a user with unread messages and no
/conversations socket for their ``email_digest_delay_s`` gets one email naming
the conversations and their unread counts; nothing more until they come back
and leave again.

Everything that decides is in the store (``EmailDigestStore``), so a restart
or a second process changes nothing: when a user's last socket closes,
``absent`` records their absence with its due time (a replay of the same
absence is a no-op); each process's worker looks for due records every
``email_digest_poll_s`` and claims one before acting on it (a lease one
caller wins, which runs out if the process dies); the record's state then
says that this absence had its mail. Muted conversations count for nothing
(alone, they send nothing); ``email: false`` sends nothing; quiet hours put
the digest off to their end. A digest that finds nothing unread goes
``idle`` until ``messaged`` re-arms it (a new message for someone still away).
An SMTP failure is counted and logged (``Postman``) and retried a few times
with backoff, then given up for this absence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage import Store
from storage.records import EmailDigestRecord, NotificationSettingsRecord

from ..clock import iso, parse_iso, utc_now
from . import templates
from .mailer import Mail, Postman
from .preferences import Preferences, in_quiet_hours
from .reach import Reachability
from .unsubscribe import UnsubscribeTokens

log = logging.getLogger(__name__)

BATCH = 100  # due records read per pass
MAX_LINES = 25  # conversations named in one mail
MAX_ATTEMPTS = 5  # SMTP failures before this absence's digest is given up


@dataclass(frozen=True, slots=True)
class DigestLinks:
    """Where a mail's links point: the web client, and the unsubscribe endpoint."""

    base_url: str  # the hub's public URL, no trailing slash
    unsubscribe_path: str  # e.g. /api/v1/email/unsubscribe

    def conversation(self, conversation_id: str) -> str:
        return f"{self.base_url}/#/c/{conversation_id}"

    def unsubscribe(self, token: str) -> str:
        return f"{self.base_url}{self.unsubscribe_path}?token={token}"


class EmailDigests:
    def __init__(
        self,
        store: Store,
        reach: Reachability,
        preferences: Preferences,
        postman: Postman,
        tokens: UnsubscribeTokens,
        links: DigestLinks,
        *,
        poll_s: float,
        retry_s: float,
        lease_s: float,
    ) -> None:
        self.store = store
        self.reach = reach
        self.preferences = preferences
        self.postman = postman
        self.tokens = tokens
        self.links = links
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.lease_s = lease_s
        self._task: asyncio.Task[None] | None = None

    # What starts a digest.

    async def absent(self, user_id: str, since: str) -> None:
        """``Reachability`` listener: the user's last /conversations socket
        closed at ``since``; their digest for this absence is due after their delay."""
        settings = await self.preferences.get(user_id)
        if not settings.email:
            return
        due = parse_iso(since) + timedelta(seconds=settings.email_digest_delay_s)
        await self.store.email_digests.schedule(EmailDigestRecord(user_id, since, iso(due)))

    async def messaged(self, user_ids: list[str]) -> None:
        """New messages for these users, who have no socket open: a digest
        that found nothing unread for their absence is due again now."""
        if user_ids:
            await self.store.email_digests.rearm(user_ids, iso(utc_now()))

    # The worker.

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever(), name="email-digests")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run_forever(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception as exc:  # the store away: try again next tick
                log.warning("email digests: pass failed: %s", exc)
            await asyncio.sleep(self.poll_s)

    async def run_due(self) -> int:
        """One pass: claim and handle each due digest; how many were handled."""
        handled = 0
        now = utc_now()
        for record in await self.store.email_digests.due(iso(now), BATCH):
            claimed = await self.store.email_digests.claim(
                record.user_id,
                record.absence_since,
                iso(now),
                iso(now + timedelta(seconds=self.lease_s)),
            )
            if claimed is None:  # another process has it, or it changed
                continue
            try:
                await self._handle(claimed)
            except Exception:
                log.exception("email digest for %s failed", claimed.user_id)
                await self._retry(claimed)
            handled += 1
        return handled

    async def _handle(self, record: EmailDigestRecord) -> None:
        user_id, since = record.user_id, record.absence_since
        if await self.reach.connected_among([user_id]):
            await self._finish(record, "skipped")  # back: this absence is over
            return
        settings = await self.preferences.get(user_id)
        if not settings.email:
            await self._finish(record, "skipped")
            return
        now = utc_now()
        if in_quiet_hours(settings, now):
            end = quiet_hours_end(settings, now)
            if end is not None:
                await self.store.email_digests.release(user_id, since, iso(end), record.attempts)
                return
        user = await self.store.users.get(user_id)
        lines = await self._unread(user_id) if user is not None else []
        if user is None or not lines:
            await self._finish(record, "idle" if user is not None else "skipped")
            return
        token = self.tokens.issue(user_id, time.time())
        unsubscribe = self.links.unsubscribe(token)
        content = templates.digest(
            name=user.display_name,
            lines=lines,
            open_url=f"{self.links.base_url}/",
            unsubscribe_url=unsubscribe,
        )
        mail = Mail(
            to=user.email,
            content=content,
            headers={
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        if await self.postman.deliver(mail, "digest"):
            await self._finish(record, "sent")
        else:
            await self._retry(record)

    async def _retry(self, record: EmailDigestRecord) -> None:
        attempts = record.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            log.warning("email digest for %s given up after %d attempts", record.user_id, attempts)
            await self._finish(record, "skipped")
            return
        due = utc_now() + timedelta(seconds=self.retry_s * 2 ** (attempts - 1))
        await self.store.email_digests.release(
            record.user_id, record.absence_since, iso(due), attempts
        )

    async def _finish(self, record: EmailDigestRecord, state: str) -> None:
        await self.store.email_digests.finish(
            record.user_id, record.absence_since, state, iso(utc_now())
        )

    async def _unread(self, user_id: str) -> list[templates.DigestLine]:
        """The user's unmuted conversations with unread messages, latest
        activity first, and what to call each."""
        unread: list[tuple[str, int]] = []
        for membership in await self.store.conversations.memberships_of(user_id):
            if membership.muted:
                continue
            count = await self.store.messages.count_unread(
                membership.conversation_id, user_id, membership.read_seq
            )
            if count:
                unread.append((membership.conversation_id, count))
        found = []
        for conversation_id, count in unread:
            conversation = await self.store.conversations.get(conversation_id)
            if conversation is not None:
                found.append((conversation, count))
        found.sort(key=lambda pair: pair[0].last_activity_at, reverse=True)
        lines = []
        for conversation, count in found[:MAX_LINES]:
            title = conversation.title or await self._title(conversation.id, user_id)
            lines.append(
                templates.DigestLine(title, count, self.links.conversation(conversation.id))
            )
        return lines

    async def _title(self, conversation_id: str, user_id: str) -> str:
        """An untitled conversation is called after the others in it."""
        others = [
            m for m in await self.store.conversations.member_ids(conversation_id) if m != user_id
        ]
        users = await self.store.users.get_many(others[:3])
        names = sorted(u.display_name for u in users)
        if len(others) > 3:
            names.append(f"{len(others) - 3} more")
        return ", ".join(names) or "Conversation"


def quiet_hours_end(settings: NotificationSettingsRecord, now: datetime) -> datetime | None:
    """When the user's quiet hours that ``now`` falls in end (the next ``end``
    time of day in their zone); None when they cannot be read."""
    quiet = settings.quiet_hours
    if not quiet:
        return None
    try:
        hour, minute = (int(part) for part in str(quiet["end"]).split(":"))
        local = now.astimezone(ZoneInfo(quiet["tz"]))
    except (KeyError, TypeError, ValueError, ZoneInfoNotFoundError):
        return None
    end = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end
