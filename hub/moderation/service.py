"""Reports, the moderation queue and its actions, suspensions and bans, the
dispute queue (issue 20). Every admin action, and every admin read of what a
report or a dispute opens, writes its audit entry (``AuditLog``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage import DuplicateError, Store
from storage.records import MessageRecord, ReportRecord, UserListQuery, UserRecord

from ..clock import iso, new_id, now_iso, parse_iso, utc_now
from ..cursors import decode_cursor, encode_cursor
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..marketplace.views import dispute_notes
from .audit import AuditLog
from .models import (
    AuditEntry,
    AuditPage,
    AuditQuery,
    BanUser,
    CreateReport,
    Dispute,
    DisputeNote,
    DisputePage,
    DisputeQuery,
    ModeratedMessage,
    ModeratedUser,
    ModeratedUserPage,
    ModeratedUserQuery,
    Report,
    ReportContext,
    ReportPage,
    ReportQuery,
    ResolveReport,
    SuspendUser,
)

if TYPE_CHECKING:
    from ..accounts import AccountService, SessionService
    from ..accounts.models import PrivateUser
    from ..emitter import UserEvents
    from ..marketplace import BidService, JobService
    from ..notifications import NotificationService
    from ..offline.webhooks import WebhookEvents

log = logging.getLogger(__name__)

CONTEXT_SIZE = 20  # messages before and after a reported one
NOTES_PER_SIDE = 5  # a dispute's latest messages of each side
_UNPIN = {"pinned": False, "pinned_at": None, "pinned_by": None}


@dataclass
class ModerationParts:
    """What moderation acts through, built by the composition root."""

    accounts: AccountService
    sessions: SessionService
    jobs: JobService
    bids: BidService
    notifications: NotificationService
    conversation_events: UserEvents
    webhooks: WebhookEvents | None = None


class ModerationService:
    def __init__(self, store: Store, audit: AuditLog, parts: ModerationParts) -> None:
        self.store = store
        self.audit = audit
        self.parts = parts

    # -- reports (any user) -------------------------------------------------

    async def report(self, reporter_id: str, body: CreateReport) -> Report:
        """File a report of something the reporter can see (else 404); one per
        reporter and target (409 for a second)."""
        target = body.target
        record = ReportRecord(
            id=new_id(),
            reporter_id=reporter_id,
            target_type=target.type,
            target_id=target.id,
            reason=body.reason,
            created_at=now_iso(),
            note=body.note or "",
        )
        await self._locate(reporter_id, record)
        try:
            await self.store.reports.create(record)
        except DuplicateError as exc:
            raise Conflict("You reported this already") from exc
        report = Report.of(record)
        if self.parts.webhooks is not None:
            self.parts.webhooks.publish("report.created", {"report": report.model_dump()})
        return report

    async def _locate(self, reporter_id: str, report: ReportRecord) -> None:
        """Fill in who and where the report is about; NotFound when the
        reporter cannot see the target."""
        kind, target_id = report.target_type, report.target_id
        if kind == "message":
            message = await self.store.messages.get(target_id)
            if message is None or not await self._member(reporter_id, message.conversation_id):
                raise NotFound("Message not found")
            report.subject_id = message.sender_id
            report.conversation_id = message.conversation_id
            report.message_seq = message.seq
        elif kind == "conversation":
            if not await self._member(reporter_id, target_id):
                raise NotFound("Conversation not found")
            report.conversation_id = target_id
        elif kind == "user":
            user = await self.store.users.get(target_id)
            if user is None or target_id == reporter_id:
                raise NotFound("User not found")
            report.subject_id = user.id
        else:
            job = await self.parts.jobs.find(reporter_id, target_id)  # NotFound if hidden
            report.subject_id = job.owner_id

    async def _member(self, user_id: str, conversation_id: str) -> bool:
        return user_id in await self.store.conversations.member_ids(conversation_id)

    # -- the queue (admins) ---------------------------------------------------

    async def reports(self, admin_id: str, query: ReportQuery) -> ReportPage:
        rows = await self.store.reports.queue(
            status=query.status, before=decode_cursor(query.cursor), limit=query.limit + 1
        )
        items = rows[: query.limit]
        return ReportPage(
            items=[Report.of(r) for r in items],
            next_cursor=encode_cursor(items[-1].id) if len(rows) > query.limit else None,
        )

    async def context(self, admin_id: str, report_id: str) -> ReportContext:
        """The reported message with the 20 before and after it (a reported
        conversation: its latest messages). The read is audited."""
        report = await self._report(report_id)
        if report.conversation_id is None:
            raise NotFound("This report names no conversation")
        messages = self.store.messages
        conversation_id = report.conversation_id
        message: MessageRecord | None = None
        after: list[MessageRecord] = []
        if report.target_type == "message" and report.message_seq is not None:
            message = await messages.get(report.target_id)
            before = await messages.range(
                conversation_id, before_seq=report.message_seq, limit=CONTEXT_SIZE
            )
            after = await messages.range(
                conversation_id, after_seq=report.message_seq, limit=CONTEXT_SIZE
            )
        else:
            before = await messages.range(conversation_id, limit=CONTEXT_SIZE)
        await self.audit.record(
            admin_id,
            "report.context_read",
            "conversation",
            conversation_id,
            report_id=report.id,
            message_id=message.id if message else None,
        )
        return ReportContext(
            report=Report.of(report),
            message=_moderated(message) if message else None,
            before=[_moderated(m) for m in before],
            after=[_moderated(m) for m in after],
        )

    async def resolve(self, admin_id: str, report_id: str, body: ResolveReport) -> Report:
        """Act on a report once: dismiss, warn its subject, delete the
        reported message, suspend until ``until`` or ban. 404 for a missing
        report, 409 for one resolved already."""
        report = await self._report(report_id)
        if report.status != "open":
            raise Conflict("This report is resolved already")
        action = body.action
        until = _future(body.until, "until") if action == "suspend" else None
        if action in ("warn", "suspend", "ban") and report.subject_id is None:
            raise ValidationFailed.field("action", "This report names no user")
        if action == "delete_message" and report.target_type != "message":
            raise ValidationFailed.field("action", "This report is not of a message")
        resolved = await self.store.reports.resolve(
            report.id,
            {
                "status": "resolved",
                "action": action,
                "resolved_by": admin_id,
                "resolved_at": now_iso(),
                "resolution_note": body.note,
            },
        )
        if resolved is None:
            raise Conflict("This report is resolved already")
        await self.audit.record(
            admin_id,
            f"report.{action}",
            "report",
            report.id,
            body.note,
            subject_id=report.subject_id,
        )
        if action == "warn":
            assert report.subject_id is not None
            await self.parts.notifications.notify(
                report.subject_id,
                "moderation.warning",
                {"report_id": report.id, "reason": report.reason, "note": body.note},
            )
        elif action == "delete_message":
            await self._delete_message(admin_id, report.target_id, body.note)
        elif action == "suspend":
            assert report.subject_id is not None and until is not None
            await self._suspend(admin_id, report.subject_id, until, body.note)
        elif action == "ban":
            assert report.subject_id is not None
            await self._ban(admin_id, report.subject_id, body.note)
        return Report.of(resolved)

    async def _report(self, report_id: str) -> ReportRecord:
        report = await self.store.reports.get(report_id)
        if report is None:
            raise NotFound("Report not found")
        return report

    async def _delete_message(self, admin_id: str, message_id: str, reason: str) -> None:
        message = await self.store.messages.get(message_id)
        if message is None or message.deleted:
            return
        await self.store.messages.update(
            message.id,
            {
                "text": "",
                "attachments": [],
                "mentions": [],
                "reactions": [],
                "deleted": True,
                "edited_at": now_iso(),
                **_UNPIN,
            },
        )
        if message.pinned:
            await self.store.messages.unpin(message.id)
        await self.audit.record(
            admin_id,
            "message.delete",
            "message",
            message.id,
            reason,
            conversation_id=message.conversation_id,
        )
        members = await self.store.conversations.member_ids(message.conversation_id)
        await self.parts.conversation_events.to_users(
            "message:delete",
            {
                "conversation_id": message.conversation_id,
                "message_id": message.id,
                "seq": message.seq,
            },
            members,
        )

    # -- users and their moderation state (admins) ----------------------------

    async def users(self, admin_id: str, query: ModeratedUserQuery) -> ModeratedUserPage:
        """Every user ``query`` finds, banned and suspended ones too (the
        directory hides them), newest first, with their moderation state.
        Not audited: account data, no conversation is read."""
        now = now_iso()
        rows = await self.store.users.listed(
            UserListQuery(
                words=(query.q or "").split(),
                role=query.role,
                status=query.status,
                now=now,
            ),
            before=decode_cursor(query.cursor),
            limit=query.limit + 1,
        )
        items = rows[: query.limit]
        return ModeratedUserPage(
            items=[ModeratedUser.of(u, now) for u in items],
            next_cursor=encode_cursor(items[-1].id) if len(rows) > query.limit else None,
        )

    async def user(self, admin_id: str, user_id: str) -> ModeratedUser:
        """One user with their moderation state (404 when unknown); not audited."""
        user = await self.store.users.get(user_id)
        if user is None:
            raise NotFound("User not found")
        return ModeratedUser.of(user, now_iso())

    # -- suspension and ban (admins) ------------------------------------------

    async def suspend(self, admin_id: str, user_id: str, body: SuspendUser) -> ModeratedUser:
        until = _future(body.until, "until")
        await self._target(admin_id, user_id)
        return await self._suspend(admin_id, user_id, until, body.reason)

    async def ban(self, admin_id: str, user_id: str, body: BanUser) -> ModeratedUser:
        await self._target(admin_id, user_id)
        return await self._ban(admin_id, user_id, body.reason)

    async def unban(self, admin_id: str, user_id: str) -> ModeratedUser:
        """Lift a ban and any suspension: the user may log in again."""
        await self._target(admin_id, user_id)
        user = await self.store.users.update(
            user_id, {"banned_at": None, "suspended_until": None, "updated_at": now_iso()}
        )
        assert user is not None
        await self.audit.record(admin_id, "user.unban", "user", user_id)
        return ModeratedUser.of(user, now_iso())

    async def _target(self, admin_id: str, user_id: str) -> UserRecord:
        user = await self.store.users.get(user_id)
        if user is None:
            raise NotFound("User not found")
        if user_id == admin_id:
            raise Forbidden("Admins cannot suspend or ban themselves")
        return user

    async def _suspend(self, admin_id: str, user_id: str, until: str, reason: str) -> ModeratedUser:
        user = await self.store.users.update(
            user_id, {"suspended_until": until, "updated_at": now_iso()}
        )
        if user is None:
            raise NotFound("User not found")
        await self.audit.record(admin_id, "user.suspend", "user", user_id, reason, until=until)
        await self._remove(admin_id, user_id)
        return ModeratedUser.of(user, now_iso())

    async def _ban(self, admin_id: str, user_id: str, reason: str) -> ModeratedUser:
        now = now_iso()
        user = await self.store.users.update(user_id, {"banned_at": now, "updated_at": now})
        if user is None:
            raise NotFound("User not found")
        await self.audit.record(admin_id, "user.ban", "user", user_id, reason)
        await self._remove(admin_id, user_id)
        if self.parts.webhooks is not None:
            self.parts.webhooks.publish(
                "user.banned", {"user_id": user_id, "banned_at": now, "reason": reason}
            )
        return ModeratedUser.of(user, now_iso())

    async def _remove(self, admin_id: str, user_id: str) -> None:
        """Take a suspended or banned user off the platform now: every session
        revoked (their sockets drop on every process) and their open bids
        withdrawn."""
        await self.parts.sessions.revoke_all(user_id)
        withdrawn: list[str] = []
        for bid in await self.store.reports.open_bids_of(user_id):
            try:
                await self.parts.bids.withdraw(user_id, bid.id)
            except Exception:  # one bid that moved on meanwhile must not stop the rest
                log.warning("bid %s of suspended user %s not withdrawn", bid.id, user_id)
                continue
            withdrawn.append(bid.id)
        if withdrawn:
            await self.audit.record(admin_id, "bids.withdraw", "user", user_id, bid_ids=withdrawn)

    # -- roles, disputes, the log ---------------------------------------------

    async def set_role(self, admin_id: str, user_id: str, role: str) -> PrivateUser:
        before = await self.store.users.get(user_id)
        user = await self.parts.accounts.set_role(user_id, role)
        await self.audit.record(
            admin_id,
            "user.role",
            "user",
            user_id,
            previous=before.role if before else None,
            role=role,
        )
        return user

    async def disputes(self, admin_id: str, query: DisputeQuery) -> DisputePage:
        """Disputed milestones, newest first, with each side's dispute note and
        its latest messages in the job's conversation. The read is audited."""
        rows = await self.store.reports.disputed_milestones(
            before=decode_cursor(query.cursor), limit=query.limit + 1
        )
        items: list[Dispute] = []
        for m in rows[: query.limit]:
            conversation_id = await self._job_conversation(m.job_id)
            notes: dict[str, list[DisputeNote]] = {m.owner_id: [], m.freelancer_id: []}
            if conversation_id is not None:
                for message in reversed(
                    await self.store.messages.range(conversation_id, limit=100)
                ):
                    side = notes.get(message.sender_id)
                    if (
                        side is not None
                        and message.kind == "text"
                        and not message.deleted
                        and len(side) < NOTES_PER_SIDE
                    ):
                        side.append(
                            DisputeNote(
                                user_id=message.sender_id,
                                text=message.text,
                                created_at=message.created_at,
                            )
                        )
            owner_note, freelancer_note = dispute_notes(m)
            items.append(
                Dispute(
                    milestone=_milestone(m),
                    owner_id=m.owner_id,
                    freelancer_id=m.freelancer_id,
                    conversation_id=conversation_id,
                    owner_note=owner_note,
                    freelancer_note=freelancer_note,
                    owner_notes=notes[m.owner_id],
                    freelancer_notes=notes[m.freelancer_id],
                )
            )
        await self.audit.record(
            admin_id,
            "disputes.read",
            "milestones",
            "disputed",
            milestone_ids=[d.milestone["id"] for d in items],
        )
        page_items = rows[: query.limit]
        return DisputePage(
            items=items,
            next_cursor=encode_cursor(page_items[-1].id) if len(rows) > query.limit else None,
        )

    async def _job_conversation(self, job_id: str) -> str | None:
        job = await self.store.market.get_job(job_id)
        if job is None or job.awarded_bid_id is None:
            return None
        bid = await self.store.market.get_bid(job.awarded_bid_id)
        return bid.conversation_id if bid is not None else None

    async def audit_log(self, admin_id: str, query: AuditQuery) -> AuditPage:
        rows = await self.store.audit.entries(
            actor_id=query.actor_id,
            target_id=query.target_id,
            before=decode_cursor(query.cursor),
            limit=query.limit + 1,
        )
        items = rows[: query.limit]
        return AuditPage(
            items=[AuditEntry.of(e) for e in items],
            next_cursor=encode_cursor(items[-1].id) if len(rows) > query.limit else None,
        )


def _future(text: str | None, field: str) -> str:
    """``text`` as a canonical ISO time, which must be in the future (422 else)."""
    if text is None:
        raise ValidationFailed.field(field, "A suspension needs an until time")
    try:
        moment = parse_iso(text)
    except ValueError as exc:
        raise ValidationFailed.field(field, "Not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise ValidationFailed.field(field, "The time needs a zone (Z)")
    if moment <= utc_now():
        raise ValidationFailed.field(field, "The time must be in the future")
    return iso(moment)


def _moderated(message: MessageRecord) -> ModeratedMessage:
    return ModeratedMessage(
        id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender_id=message.sender_id,
        kind=message.kind,
        # As the sender wrote it: contact masking stores the masked text for
        # participants and the original for moderators.
        text=message.original_text if message.original_text is not None else message.text,
        masked=message.flagged,
        created_at=message.created_at,
        edited_at=message.edited_at,
        deleted=message.deleted,
        attachments=message.attachments,
    )


def _milestone(m: Any) -> dict[str, Any]:
    return {
        "id": m.id,
        "job_id": m.job_id,
        "amount": m.amount,
        "currency": m.currency,
        "description": m.description,
        "status": m.status,
        "held": m.held,
        "updated_at": m.updated_at,
    }
