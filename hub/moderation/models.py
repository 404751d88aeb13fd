"""Request and response models of moderation (issue 20)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from storage.records import AuditRecord, ReportRecord, UserRecord

from ..accounts.models import Role
from ..marketplace.models import MilestoneNote
from ..schema import Body, Cursor, Id, Limit, Query

TargetType = Literal["message", "user", "conversation", "job"]
Reason = Literal["spam", "scam", "harassment", "off_platform", "other"]
Action = Literal["dismiss", "warn", "delete_message", "suspend", "ban"]
ReportStatus = Literal["open", "resolved"]
Note = Annotated[str, Field(max_length=2000)]
Time = Annotated[
    str,
    Field(
        min_length=20,
        max_length=40,
        description="ISO 8601 UTC time, e.g. 2026-11-22T10:00:00.000Z",
    ),
]


class ReportTarget(Body):
    type: TargetType
    id: Id


class CreateReport(Body):
    """``POST /reports``: one report per reporter and target."""

    target: ReportTarget
    reason: Reason
    note: Note | None = None


class Report(BaseModel):
    id: str
    reporter_id: str
    target: dict[str, str]
    reason: str
    note: str
    status: str
    created_at: str
    subject_id: str | None
    conversation_id: str | None
    action: str | None
    resolved_by: str | None
    resolved_at: str | None
    resolution_note: str | None

    @classmethod
    def of(cls, report: ReportRecord) -> Report:
        return cls(
            id=report.id,
            reporter_id=report.reporter_id,
            target={"type": report.target_type, "id": report.target_id},
            reason=report.reason,
            note=report.note,
            status=report.status,
            created_at=report.created_at,
            subject_id=report.subject_id,
            conversation_id=report.conversation_id,
            action=report.action,
            resolved_by=report.resolved_by,
            resolved_at=report.resolved_at,
            resolution_note=report.resolution_note,
        )


class ReportPage(BaseModel):
    items: list[Report]
    next_cursor: str | None = None


class ReportQuery(Query):
    """``GET /admin/reports``: the queue, newest first."""

    status: ReportStatus | None = None
    cursor: Cursor | None = None
    limit: Limit = 20


class ResolveReport(Body):
    """``POST /admin/reports/{id}/resolve``. ``suspend`` needs ``until``, a
    time in the future."""

    action: Action
    note: Note = ""
    until: Time | None = None


class SuspendUser(Body):
    until: Time
    reason: Note = ""


class BanUser(Body):
    reason: Note = ""


ModerationStatus = Literal["active", "suspended", "banned"]


def moderation_status(user: UserRecord, now: str) -> ModerationStatus:
    """``banned`` while ``banned_at`` is set, else ``suspended`` while
    ``suspended_until`` is after ``now``, else ``active``."""
    if user.banned_at is not None:
        return "banned"
    if user.suspended_until is not None and user.suspended_until > now:
        return "suspended"
    return "active"


class ModeratedUser(BaseModel):
    """A user's account and moderation state, as admins see it. The reason of
    a ban or suspension is not kept on the user: it is in the audit log."""

    id: str
    display_name: str
    email: str
    role: str
    created_at: str
    status: ModerationStatus = Field(
        description="At the time of the answer: `banned`, else `suspended` while"
        " `suspended_until` is in the future, else `active`"
    )
    suspended_until: str | None = Field(
        description="The end of the latest suspension (it may be past: `status` says"
        " whether it is in force); null when never suspended or lifted"
    )
    banned_at: str | None

    @classmethod
    def of(cls, user: UserRecord, now: str) -> ModeratedUser:
        return cls(
            id=user.id,
            display_name=user.display_name,
            email=user.email,
            role=user.role,
            created_at=user.created_at,
            status=moderation_status(user, now),
            suspended_until=user.suspended_until,
            banned_at=user.banned_at,
        )


class ModeratedUserPage(BaseModel):
    items: list[ModeratedUser]
    next_cursor: str | None = None


class ModeratedUserQuery(Query):
    """``GET /admin/users``: every user, banned and suspended ones too, newest first."""

    q: (
        Annotated[
            str,
            Field(
                max_length=100,
                description="Words that must all occur in the display name, headline,"
                " a skill or the email (case-insensitive substrings). Blank: no filter.",
            ),
        ]
        | None
    ) = None
    status: ModerationStatus | None = None
    role: Role | None = None
    cursor: Cursor | None = None
    limit: Limit = 20


class ModeratedMessage(BaseModel):
    """A message as moderators read it: the text as sent, unmasked."""

    id: str
    conversation_id: str
    seq: int
    sender_id: str | None
    kind: str
    text: str
    masked: bool  # participants were shown this text with contact details hidden
    created_at: str
    edited_at: str | None
    deleted: bool
    attachments: list[dict[str, Any]]


class ReportContext(BaseModel):
    """The reported message with up to 20 messages before and after it."""

    report: Report
    message: ModeratedMessage | None
    before: list[ModeratedMessage]
    after: list[ModeratedMessage]


class DisputeNote(BaseModel):
    """A message a side wrote in the job's conversation."""

    user_id: str
    text: str
    created_at: str


class Dispute(BaseModel):
    """A disputed milestone with each side's dispute note and, beside them,
    what each side said last in the job's conversation."""

    milestone: dict[str, Any]
    owner_id: str
    freelancer_id: str
    conversation_id: str | None
    owner_note: MilestoneNote | None = Field(
        default=None, description="The owner's dispute note (the latest it wrote); null: none"
    )
    freelancer_note: MilestoneNote | None = Field(
        default=None, description="The freelancer's dispute note (the latest); null: none"
    )
    owner_notes: list[DisputeNote] = Field(
        description="The owner's latest text messages in the job's conversation (up to 5)"
    )
    freelancer_notes: list[DisputeNote] = Field(
        description="The freelancer's latest text messages in the job's conversation (up to 5)"
    )


class DisputePage(BaseModel):
    items: list[Dispute]
    next_cursor: str | None = None


class DisputeQuery(Query):
    cursor: Cursor | None = None
    limit: Limit = 20


class AuditEntry(BaseModel):
    id: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    at: str
    reason: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditRecord) -> AuditEntry:
        return cls(
            id=entry.id,
            actor_id=entry.actor_id,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            at=entry.at,
            reason=entry.reason,
            details=entry.details,
        )


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None = None


class AuditQuery(Query):
    """``GET /admin/audit``: every admin action, newest first."""

    actor_id: Id | None = None
    target_id: Id | None = None
    cursor: Cursor | None = None
    limit: Limit = 20
