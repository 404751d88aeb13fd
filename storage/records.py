"""Plain records that cross the storage boundary, whatever the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(slots=True)
class UserRecord:
    id: str
    email: str
    password_hash: str
    display_name: str
    role: str
    created_at: str
    updated_at: str
    headline: str = ""
    avatar_url: str | None = None
    skills: list[str] = field(default_factory=list)
    last_seen_at: str | None = None
    # Set once the user followed a verification (or password reset) link
    # mailed to ``email`` (issue 19).
    email_verified: bool = False
    # Moderation (issue 20): refused logins and refreshes, hidden from the
    # directory, while ``suspended_until`` is in the future or ``banned_at`` is set.
    suspended_until: str | None = None
    banned_at: str | None = None


@dataclass(slots=True)
class RefreshTokenRecord:
    token_hash: str
    family_id: str
    user_id: str
    created_at: str
    expires_at: str
    used_at: str | None = None
    revoked_at: str | None = None


@dataclass(slots=True)
class SessionRecord:
    """One login: the refresh-token family whose id is also the access tokens' ``sid``."""

    id: str
    user_id: str
    created_at: str
    last_used_at: str  # the login, then each refresh
    user_agent: str | None = None
    ip: str | None = None
    revoked_at: str | None = None


@dataclass(slots=True)
class MfaRecord:
    """A user's two-factor (TOTP) state, one record per user (issue 19).

    ``pending_secret`` is set up but not yet confirmed; ``secret`` is set while
    2FA is on. ``recovery_codes`` holds hashes only. ``last_step`` is the TOTP
    time step last accepted (a code is accepted only for a later step: no
    replay); ``failures`` counts wrong codes since the last success or lockout,
    and ``locked_until`` refuses every code until then.
    """

    user_id: str
    updated_at: str
    secret: str | None = None
    pending_secret: str | None = None
    enabled_at: str | None = None
    recovery_codes: list[str] = field(default_factory=list)
    last_step: int = 0
    failures: int = 0
    locked_until: str | None = None


AccountTokenPurpose = Literal["password_reset", "email_verification"]


@dataclass(slots=True)
class AccountTokenRecord:
    """A single-use token mailed to a user (issue 19): a password reset or an
    email verification. Only the token's SHA-256 hash is stored; ``email`` is
    the address it was mailed to. Used once (``used_at``) before ``expires_at``.
    """

    token_hash: str
    purpose: AccountTokenPurpose
    user_id: str
    email: str
    created_at: str
    expires_at: str
    used_at: str | None = None


@dataclass(slots=True)
class BlockRecord:
    blocker_id: str
    blocked_id: str
    created_at: str


@dataclass(slots=True)
class DirectoryQuery:
    """Filters of the people directory, as seen by ``viewer_id``.

    Each of ``words`` must occur, case-insensitively, as a substring of the
    display name, the headline or one of the skills (a word may match one field
    and the next word another); email is never searched. ``skills`` must all
    be among the user's skills, compared whole and case-insensitively. The
    viewer, and users on either side of a block with the viewer, are never
    listed.

    Case-insensitive means ASCII letters on SQLite (``LIKE``, ``NOCASE``) and
    every letter on MongoDB (``$regex`` with ``i``), as for the job search.
    """

    viewer_id: str
    words: list[str] = field(default_factory=list)
    role: str | None = None
    skills: list[str] = field(default_factory=list)
    # Users suspended until after this time are left out, banned ones always
    # (issue 20); "" leaves out every suspended user.
    now: str = ""


@dataclass(slots=True)
class UserListQuery:
    """Filters of the admins' user list (issue 20): every user, whatever their
    moderation state, unlike the directory.

    Each of ``words`` must occur, case-insensitively, as a substring of the
    display name, the headline, one of the skills or the email (as the
    directory matches, plus the email). ``status`` is the moderation state at
    ``now``: ``banned`` (``banned_at`` set), ``suspended`` (not banned,
    ``suspended_until`` after ``now``) or ``active`` (neither); None lists all.
    """

    words: list[str] = field(default_factory=list)
    role: str | None = None
    status: Literal["active", "suspended", "banned"] | None = None
    now: str = ""


ConversationType = Literal["direct", "group"]
MessageKind = Literal["text", "system", "card"]


@dataclass(slots=True)
class ConversationRecord:
    id: str
    type: ConversationType
    created_by: str
    created_at: str
    last_activity_at: str
    title: str | None = None
    context: dict[str, str] | None = None
    direct_key: str | None = None  # "<lower id>:<higher id>" for direct conversations
    # "bid:<bid id>" for the conversation about a bid: a bid has exactly one.
    context_key: str | None = None
    last_seq: int = 0
    last_message: dict[str, Any] | None = None
    # Changes whenever a participant joins or leaves: a cached member list
    # tagged with it is known to be stale without reading the members again.
    members_version: int = 0
    # Moves with every change to one of its stored messages (MessageRecord.rev).
    last_rev: int = 0


@dataclass(slots=True)
class MembershipRecord:
    conversation_id: str
    user_id: str
    joined_at: str
    read_seq: int = 0
    pinned: bool = False
    archived: bool = False
    muted: bool = False
    # When the user pinned it (None while unpinned): pinned conversations list
    # first, the most recently pinned first.
    pinned_at: str | None = None
    # The latest seq the user's devices said they received (issue 17:
    # receipts); only moves forward. A read marker implies delivery up to it.
    delivered_seq: int = 0


@dataclass(frozen=True, slots=True)
class ListPosition:
    """A place in a user's conversation list, which is ordered pinned first
    (latest ``pinned_at`` first), then by latest ``last_activity_at``, ties by
    id, all descending: the sort key of the last item of a page."""

    pinned_at: str | None
    last_activity_at: str
    id: str

    @classmethod
    def of(cls, conversation: ConversationRecord, membership: MembershipRecord) -> ListPosition:
        return cls(membership.pinned_at, conversation.last_activity_at, conversation.id)


@dataclass(slots=True)
class MessageRecord:
    id: str
    conversation_id: str
    sender_id: str
    client_msg_id: str
    text: str
    created_at: str
    seq: int = 0
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_to: str | None = None
    edited_at: str | None = None
    deleted: bool = False
    # Participant ids the message mentions (issue 17), the sender never among them.
    mentions: list[str] = field(default_factory=list)
    # Pinned in its conversation (issue 17: message pins), by whom and when;
    # at most MessageStore.pin's limit per conversation.
    pinned: bool = False
    pinned_at: str | None = None
    pinned_by: str | None = None
    # "text" from a participant, or "system"/"card" written by the hub; for
    # those, sender_id is the user whose action caused them (the wire shows
    # sender_id null and actor_id) and card says what happened.
    kind: MessageKind = "text"
    card: dict[str, Any] | None = None
    # [{"emoji", "user_ids"}] in the order each emoji was first used.
    reactions: list[dict[str, Any]] = field(default_factory=list)
    # A reply in a thread names its root; the root counts its replies.
    thread_root_id: str | None = None
    reply_count: int = 0
    last_reply_at: str | None = None
    # The conversation's rev at this message's last change (0: never changed),
    # so sync can find the messages changed since a rev the client holds.
    rev: int = 0
    # Contact details masked in ``text`` (issue 20: a client and a freelancer
    # with no accepted bid): the text as the sender wrote it, for moderators
    # only (never in a participant's view), and the flag moderators list by.
    original_text: str | None = None
    flagged: bool = False


UploadStatus = Literal["pending", "complete", "attached"]
ScanStatus = Literal["pending", "clean", "infected", "not_scanned"]


@dataclass(slots=True)
class UploadRecord:
    """A file a participant uploads into a conversation (docs/attachments.md).

    ``pending`` until the bytes are checked (``complete``), then ``attached``
    to one message. ``name``, ``size`` and ``mime`` start as the client's
    word; completing replaces ``size`` and ``mime`` with what the bytes say.
    The bytes live in the file store under ``id`` (and ``id``/thumb), never
    under the client's name."""

    id: str
    owner_id: str
    conversation_id: str
    name: str
    size: int
    mime: str
    created_at: str
    expires_at: str  # a pending upload is deleted after this
    status: UploadStatus = "pending"
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    has_thumbnail: bool = False
    scan_status: ScanStatus = "pending"
    message_id: str | None = None
    completed_at: str | None = None


@dataclass(slots=True)
class AppendResult:
    """What ``MessageStore.append`` did: the stored message (for a resend, the
    original), whether this call wrote it, and the conversation's
    ``members_version`` as the message was appended."""

    message: MessageRecord
    created: bool
    members_version: int = 0


@dataclass(frozen=True, slots=True)
class MessageChange:
    """What a conditional change of a message (``MessageStore.pin``,
    ``unpin``, ``react``) did: the message as it is now, and whether this
    call changed it (pinning a pinned message, or adding a reaction the user
    already made, does not)."""

    message: MessageRecord
    changed: bool


@dataclass(slots=True)
class IdempotencyRecord:
    """A stored response to replay for a repeated ``Idempotency-Key``; while the
    first request is still running it is a reservation: ``status`` 0, no body."""

    scope: str  # "<user id>:<operation>"
    key: str
    request_hash: str
    status: int
    body: Any
    created_at: str


# Marketplace: jobs, bids, milestones, reviews, the wallet and its ledger.
# Money is always an int in minor units; ``version`` counts the conditional
# changes a row went through (see ``Change``).


@dataclass(slots=True)
class JobRecord:
    id: str
    owner_id: str
    title: str
    description: str
    budget_min: int
    budget_max: int
    currency: str
    type: str  # "fixed" | "hourly"
    # draft | open | awarded | in_progress | completed | cancelled, or "deleted"
    # (a deleted draft: kept, but never shown or found)
    status: str
    created_at: str
    updated_at: str
    skills: list[str] = field(default_factory=list)
    published_at: str | None = None
    awarded_bid_id: str | None = None
    freelancer_id: str | None = None
    version: int = 0


@dataclass(slots=True)
class BidRecord:
    id: str
    job_id: str
    owner_id: str  # the job's owner, kept here for authorization without a join
    freelancer_id: str
    amount: int
    currency: str
    period_days: int
    proposal: str
    status: str  # pending | shortlisted | awarded | accepted | rejected | withdrawn | declined
    created_at: str
    updated_at: str
    # "<job id>:<freelancer id>" while the bid is active, None after: unique,
    # so a freelancer has at most one active bid per job.
    active_key: str | None = None
    conversation_id: str | None = None
    version: int = 0


@dataclass(slots=True)
class MilestoneRecord:
    id: str
    job_id: str
    owner_id: str
    freelancer_id: str
    amount: int
    currency: str
    description: str
    status: str  # funded | release_requested | released | cancelled | disputed | resolved
    held: int  # still in escrow
    created_at: str
    updated_at: str
    released: int = 0  # gross amount released to the freelancer (fees included)
    fee: int = 0  # platform fees taken from what was released
    refunded: int = 0  # returned to the owner (cancel, resolution)
    version: int = 0
    # Each side's dispute note, the latest it wrote, and when (None: none yet);
    # hub/marketplace/milestones.py writes them with the dispute or afterwards.
    owner_note: str | None = None
    owner_note_at: str | None = None
    freelancer_note: str | None = None
    freelancer_note_at: str | None = None


@dataclass(slots=True)
class ReviewRecord:
    id: str
    job_id: str
    author_id: str
    subject_id: str
    rating: int
    comment: str
    created_at: str


@dataclass(slots=True)
class DepositRecord:
    id: str
    user_id: str
    amount: int
    currency: str
    payment_method: str
    provider: str
    status: str  # pending | succeeded | failed
    created_at: str
    updated_at: str
    provider_ref: str | None = None
    failure_reason: str | None = None
    version: int = 0


@dataclass(slots=True)
class PayoutRecord:
    id: str
    user_id: str
    amount: int
    currency: str
    destination: str
    provider: str
    status: str  # pending | paid | failed
    created_at: str
    updated_at: str
    provider_ref: str | None = None
    failure_reason: str | None = None
    version: int = 0


@dataclass(slots=True)
class Posting:
    """One side of a movement: ``amount`` (signed) into an account."""

    owner_id: str  # a user id, "platform" or "provider:<name>"
    account: str  # "available" | "held" (users), "fee" (platform), "external" (provider)
    currency: str
    amount: int
    kind: str  # what it is, shown to the owner: "deposit", "milestone_release", ...


@dataclass(slots=True)
class MovementRecord:
    """A balanced set of postings: per currency they sum to zero."""

    id: str
    kind: str
    ref_type: str
    ref_id: str
    created_at: str
    postings: list[Posting] = field(default_factory=list)


@dataclass(slots=True)
class LedgerEntryRecord:
    id: str
    movement_id: str
    owner_id: str
    account: str
    currency: str
    amount: int
    kind: str
    ref_type: str
    ref_id: str
    created_at: str


@dataclass(slots=True)
class BalanceRecord:
    owner_id: str
    account: str
    currency: str
    balance: int


@dataclass(slots=True)
class NotificationRecord:
    id: str
    user_id: str
    type: str
    data: dict[str, Any]
    created_at: str
    read_at: str | None = None


@dataclass(slots=True)
class Change:
    """A conditional update of one row of ``table``: it applies only while every
    field in ``expect`` has the given value (a list means any of those values)
    and every field in ``at_least`` is at least the given number. It sets
    ``set`` and adds ``add`` to numeric fields (an increment applied to what
    the row holds then, not to what was read). Applying it also adds one to
    the row's ``version``."""

    table: str
    id: str
    expect: dict[str, Any]
    set: dict[str, Any] = field(default_factory=dict)
    add: dict[str, int] = field(default_factory=dict)
    at_least: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class BulkChange:
    """An update of every row of ``table`` matching ``where`` (values or lists),
    except ``exclude_id``; no row matching is fine."""

    table: str
    where: dict[str, Any]
    set: dict[str, Any]
    exclude_id: str | None = None


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """The Idempotency-Key claim a transition is made under: ``apply`` marks it
    committed (status 1) in the same transaction, and writes nothing if the
    claim ``token`` no longer holds the key (another request took it over)."""

    scope: str
    key: str
    token: str


@dataclass(slots=True)
class Transition:
    """What ``MarketStore.apply`` writes as one atomic transaction.

    In order: the ``claim`` (ClaimLost when another request holds the key),
    the ``event_id`` marker (a processed webhook event: a second apply with it
    raises DuplicateError), the inserts, the ``absent`` checks
    (no row of the table matches), the changes (ConditionFailed when one does
    not match), the bulk changes, then the movement's postings (InsufficientBalance
    when a user's ``available`` or ``held`` would go below zero) and entries.
    Any failure writes nothing.
    """

    inserts: list[Any] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    bulk: list[BulkChange] = field(default_factory=list)
    absent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    movement: MovementRecord | None = None
    event_id: str | None = None
    claim: KeyClaim | None = None


@dataclass(slots=True)
class JobQuery:
    """Filters of a job search. Drafts are found only for their owner, ``viewer_id``;
    deleted jobs never."""

    viewer_id: str
    q: str | None = None
    status: str | None = None
    skills: list[str] = field(default_factory=list)  # every one, case-insensitively
    budget_min: int | None = None  # jobs whose budget_max is at least this
    budget_max: int | None = None  # jobs whose budget_min is at most this
    owner_id: str | None = None
    bidder_id: str | None = None  # jobs this user has a bid on (any bid status)


# Speed networking: lobbies, their one-to-one sessions and the ratings after them.


@dataclass(slots=True)
class LobbyRecord:
    id: str
    title: str
    topic: str
    duration_minutes: int  # 2 | 5: the length of each session
    created_by: str
    created_at: str
    starts_at: str | None = None  # optional open window
    ends_at: str | None = None
    closed_at: str | None = None  # set once, when the window has passed


@dataclass(slots=True)
class NetworkingSessionRecord:
    id: str
    lobby_id: str
    offerer_id: str
    answerer_id: str
    # The Engine.IO connection each side joined the lobby from: signals go only there.
    offerer_conn: str
    answerer_conn: str
    started_at: str
    ends_at: str
    status: str = "active"  # active | ended
    ended_at: str | None = None
    end_reason: str | None = None  # time_up | peer_left | peer_no_show | lobby_closed
    offerer_signaled_at: str | None = None
    answerer_signaled_at: str | None = None
    connected_at: str | None = None  # both rated with connect: true
    conversation_id: str | None = None


@dataclass(slots=True)
class SessionRatingRecord:
    session_id: str
    rater_id: str
    stars: int
    connect: bool
    created_at: str
    note: str | None = None


# Reaching users who are offline (issue 18).


@dataclass(slots=True)
class NotificationSettingsRecord:
    """A user's notification settings; ``quiet_hours`` is ``{start: "HH:MM",
    end: "HH:MM", tz: <IANA name>}`` or None."""

    user_id: str
    push: bool = True
    email: bool = True
    email_digest_delay_s: int = 900
    quiet_hours: dict[str, Any] | None = None
    updated_at: str | None = None


@dataclass(slots=True)
class PushSubscriptionRecord:
    """One device's Web Push subscription (RFC 8030): where to POST, and the
    browser's P-256 public key and auth secret (base64url, RFC 8291)."""

    id: str
    user_id: str
    endpoint: str
    p256dh: str
    auth: str
    created_at: str
    updated_at: str
    user_agent: str | None = None


# Outbound webhooks for integrators (issue 18).


@dataclass(slots=True)
class WebhookEndpointRecord:
    """An integrator's endpoint: where events of ``events`` (exact names or
    ``prefix.*``) are POSTed, signed with ``secret``."""

    id: str
    url: str
    events: list[str]
    secret: str
    created_by: str
    created_at: str


@dataclass(slots=True)
class WebhookOutboxRecord:
    """One event to deliver to one endpoint. ``id`` orders an endpoint's
    entries (creation order); ``body`` is the exact JSON sent (and signed).
    ``status``: ``pending`` until delivered (then the entry is deleted) or
    ``failed`` (given up). A sender holds it while ``lease_until`` is ahead."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    body: str
    created_at: str
    next_attempt_at: str
    attempts: int = 0
    status: str = "pending"
    lease_owner: str | None = None
    lease_until: str | None = None
    last_error: str | None = None


@dataclass(slots=True)
class WebhookDeliveryRecord:
    """One attempt to deliver an event: the HTTP status, or the error when
    there was no 2xx-5xx answer to speak of (refused address, timeout...)."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    attempt: int
    at: str
    duration_ms: int
    status_code: int | None = None
    error: str | None = None


@dataclass(slots=True)
class EmailDigestRecord:
    """A user's email digest for their current absence (issue 18), one record
    per user: ``absence_since`` is when their last /conversations socket closed;
    while ``pending`` a worker looks at ``due_at`` whether they have unread
    messages. ``sent`` is the durable "this absence had its mail" marker;
    ``idle`` means nothing was unread when it was due (a new message re-arms
    it); ``skipped`` that nothing is sent for this absence (email off, back
    online, no address, or given up after failures). A worker holds it while
    ``lease_until`` is in the future."""

    user_id: str
    absence_since: str
    due_at: str
    state: Literal["pending", "sent", "idle", "skipped"] = "pending"
    attempts: int = 0
    lease_until: str | None = None
    finished_at: str | None = None


@dataclass(slots=True)
class ReportRecord:
    """A user's report of a message, user, conversation or job (issue 20); one
    per reporter and target."""

    id: str
    reporter_id: str
    target_type: str  # message | user | conversation | job
    target_id: str
    reason: str  # spam | scam | harassment | off_platform | other
    created_at: str
    note: str = ""
    status: str = "open"  # open | resolved
    subject_id: str | None = None  # the user it is about: author, user, job owner
    conversation_id: str | None = None  # a reported message's or conversation's
    message_seq: int | None = None  # a reported message's place in its conversation
    action: str | None = None  # dismiss | warn | delete_message | suspend | ban
    resolved_by: str | None = None
    resolved_at: str | None = None
    resolution_note: str | None = None


@dataclass(slots=True)
class AuditRecord:
    """One admin action or read (issue 20): who, what, on what, when, why.
    Append-only: no store changes or removes one."""

    id: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    at: str
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
