"""The store API. Domain code sees only these protocols, never an engine."""

from __future__ import annotations

from typing import Any, Protocol

from .records import (
    AccountTokenPurpose,
    AccountTokenRecord,
    AppendResult,
    AuditRecord,
    BalanceRecord,
    BidRecord,
    BlockRecord,
    ConversationRecord,
    DepositRecord,
    DirectoryQuery,
    EmailDigestRecord,
    IdempotencyRecord,
    JobQuery,
    JobRecord,
    LedgerEntryRecord,
    ListPosition,
    LobbyRecord,
    MembershipRecord,
    MessageChange,
    MessageRecord,
    MfaRecord,
    MilestoneRecord,
    NetworkingSessionRecord,
    NotificationRecord,
    NotificationSettingsRecord,
    PayoutRecord,
    PushSubscriptionRecord,
    RefreshTokenRecord,
    ReportRecord,
    ReviewRecord,
    SessionRatingRecord,
    SessionRecord,
    Transition,
    UploadRecord,
    UserListQuery,
    UserRecord,
    WebhookDeliveryRecord,
    WebhookEndpointRecord,
    WebhookOutboxRecord,
)


class UserStore(Protocol):
    async def create(self, user: UserRecord) -> None:
        """Insert a user; raises DuplicateError when the email is taken."""

    async def get(self, user_id: str) -> UserRecord | None: ...

    async def get_by_email(self, email: str) -> UserRecord | None: ...

    async def get_many(self, user_ids: list[str]) -> list[UserRecord]: ...

    async def update(self, user_id: str, changes: dict[str, Any]) -> UserRecord | None:
        """Apply ``changes`` (record field names) and return the new record."""

    async def set_last_seen(self, seen: list[tuple[str, str]]) -> None:
        """Set ``last_seen_at`` of many users at once: ``(user_id, at)`` pairs,
        in one write (a presence sweep may take thousands offline together)."""

    async def directory(
        self, query: DirectoryQuery, *, after: tuple[str, str] | None, limit: int
    ) -> list[UserRecord]:
        """The users ``query`` finds, ordered by ``(display_name, id)`` (code
        point order, as stored), strictly after the key ``after``, at most ``limit``.

        Banned users, and users suspended past ``query.now``, are left out
        (issue 20).
        """

    async def listed(
        self, query: UserListQuery, *, before: str | None, limit: int
    ) -> list[UserRecord]:
        """The users ``query`` finds for admins, banned and suspended ones too,
        newest (highest id) first, strictly before the id ``before``, at most
        ``limit`` (issue 20)."""


class RefreshTokenStore(Protocol):
    async def create(self, token: RefreshTokenRecord) -> None: ...

    async def get(self, token_hash: str) -> RefreshTokenRecord | None: ...

    async def mark_used(self, token_hash: str, used_at: str) -> bool:
        """Atomically mark a token used; False if it was already used."""

    async def revoke_family(self, family_id: str, revoked_at: str) -> None: ...

    async def prune(self, before: str, limit: int) -> int:
        """Delete at most ``limit`` tokens that expired (``expires_at``) before
        ``before``; how many. Used, revoked or not: an expired token is refused
        before anything else is looked at (no reuse check), as an unknown one
        is. Calls from several processes at once are safe: a row is deleted
        once, the others find it gone."""


class SessionStore(Protocol):
    """Logins (sessions), keyed by id = the refresh-token family id."""

    async def create(self, session: SessionRecord) -> None: ...

    async def get(self, session_id: str) -> SessionRecord | None:
        """The session, revoked or not; None when unknown."""

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        """The user's unrevoked sessions, newest first."""

    async def touch(self, session_id: str, last_used_at: str) -> None:
        """Move ``last_used_at`` (a refresh used the session)."""

    async def revoke(self, session_id: str, revoked_at: str) -> bool:
        """Revoke one session; True when it was active until now."""

    async def revoke_all_for_user(
        self, user_id: str, revoked_at: str, except_id: str | None = None
    ) -> list[str]:
        """Revoke every active session of the user but ``except_id``; their ids."""

    async def prune_revoked(self, before: str, limit: int) -> int:
        """Delete at most ``limit`` sessions revoked before ``before``; how many."""

    async def prune_expired(self, before: str, limit: int) -> int:
        """Delete at most ``limit`` unrevoked sessions last used before
        ``before`` none of whose refresh tokens (its family) expires at or
        after ``before``: nothing can refresh them since then. How many; a
        session with a token still to expire then is never deleted."""


class AccountTokenStore(Protocol):
    """Single-use tokens mailed to users (password reset, email verification),
    by the hash of the token. Using one is one conditional write: of two
    concurrent uses of a token, exactly one gets it."""

    async def create(self, token: AccountTokenRecord) -> None: ...

    async def consume(
        self, token_hash: str, purpose: AccountTokenPurpose, now: str
    ) -> AccountTokenRecord | None:
        """Mark the token used at ``now`` if it is of ``purpose``, unused and
        expires after ``now``; the record (``used_at`` set) for the one caller
        that used it, None otherwise (unknown, used, expired, other purpose)."""

    async def discard(self, user_id: str, purpose: AccountTokenPurpose, now: str) -> int:
        """Mark every unused token of the user for ``purpose`` used at ``now``
        (a reset voids the other reset links); how many."""

    async def purge(self, expired_before: str) -> int:
        """Delete the tokens that expired before ``expired_before``; how many."""


class MfaStore(Protocol):
    """Two-factor (TOTP) state, one ``MfaRecord`` per user. Every change that
    guards a code is one conditional write, so two concurrent requests with the
    same code cannot both pass."""

    async def get(self, user_id: str) -> MfaRecord | None: ...

    async def set_pending(self, user_id: str, pending_secret: str, at: str) -> bool:
        """Keep ``pending_secret`` as the one to confirm (replacing an earlier
        pending one) unless 2FA is on; True when kept."""

    async def enable(
        self, user_id: str, pending_secret: str, recovery_codes: list[str], step: int, at: str
    ) -> bool:
        """Turn 2FA on with ``pending_secret`` if it is still the pending one and
        2FA is off: it becomes ``secret``, with these recovery code hashes,
        ``last_step`` = ``step`` and no failures. True when turned on."""

    async def disable(self, user_id: str) -> bool:
        """Forget the user's two-factor state; True when 2FA was on."""

    async def use_step(self, user_id: str, step: int, now: str) -> bool:
        """Accept a TOTP code of time step ``step``: only while 2FA is on, the
        user is not locked at ``now`` and ``step`` is later than ``last_step``;
        then ``step`` is the new ``last_step`` and failures start again at 0."""

    async def use_recovery_code(self, user_id: str, code_hash: str, now: str) -> bool:
        """Remove one recovery code hash, only while 2FA is on and the user is
        not locked at ``now``; True for the one caller that removed it
        (failures start again at 0)."""

    async def record_failure(
        self, user_id: str, max_failures: int, locked_until: str
    ) -> str | None:
        """Count a wrong code. The ``max_failures``-th in a row locks the user
        until ``locked_until`` (and counting starts again at 0): then it is
        returned; None otherwise (and when the user has no 2FA record)."""


class BlockStore(Protocol):
    async def add(self, block: BlockRecord) -> None:
        """Record a block; blocking twice is not an error."""

    async def remove(self, blocker_id: str, blocked_id: str) -> bool: ...

    async def exists_between(self, user_a: str, user_b: str) -> bool:
        """True when either user blocked the other."""

    async def blockers_among(self, blocked_id: str, user_ids: list[str]) -> set[str]:
        """Those of ``user_ids`` who blocked ``blocked_id``, in one query."""

    async def blocked_either_way(self, user_id: str, user_ids: list[str]) -> set[str]:
        """Those of ``user_ids`` who blocked ``user_id`` or whom ``user_id``
        blocked, in one query (private presence)."""

    async def list_by_blocker(self, blocker_id: str) -> list[BlockRecord]: ...


class ConversationStore(Protocol):
    async def create(
        self, conversation: ConversationRecord, members: list[MembershipRecord]
    ) -> tuple[ConversationRecord, bool]:
        """Insert with its members. A conversation whose ``direct_key`` or
        ``context_key`` is taken is not created: the one holding the key comes
        back with False (the ``context_key`` holder when both are taken), also
        when concurrent creates race for a key."""

    async def get(self, conversation_id: str) -> ConversationRecord | None: ...

    async def update(
        self, conversation_id: str, changes: dict[str, Any]
    ) -> ConversationRecord | None: ...

    async def get_for_member(
        self, conversation_id: str, user_id: str
    ) -> tuple[ConversationRecord | None, MembershipRecord | None]:
        """The conversation and the user's membership in it, in one read."""

    async def member_ids(self, conversation_id: str) -> list[str]: ...

    async def members(self, conversation_id: str) -> list[MembershipRecord]:
        """Every membership of the conversation (read markers included), in
        ``member_ids`` order: join time, then user id."""

    async def membership(self, conversation_id: str, user_id: str) -> MembershipRecord | None: ...

    async def update_membership(
        self, conversation_id: str, user_id: str, changes: dict[str, Any]
    ) -> MembershipRecord | None: ...

    async def add_members(self, members: list[MembershipRecord]) -> list[str]:
        """Add members; ones already in the conversation are left as they are.
        Returns the user ids this call added, so that concurrent adds of one
        user announce the join once."""

    async def remove_member(self, conversation_id: str, user_id: str) -> bool: ...

    async def advance_read(self, conversation_id: str, user_id: str, seq: int) -> int:
        """Move the read marker to ``seq`` if that is forward; return the marker."""

    async def rewind_read(self, conversation_id: str, user_id: str, seq: int) -> int:
        """Move the read marker back to ``seq`` if that is backward (mark
        unread); return the marker. The delivered marker is first raised to
        the old read marker, since what was read was delivered. 0 for no
        such membership."""

    async def advance_delivered(self, conversation_id: str, user_id: str, seq: int) -> int:
        """Move the delivered marker to ``seq`` if that is forward; return the
        marker (0 for no such membership)."""

    async def list_for_user(
        self, user_id: str, *, archived: bool | None, before: ListPosition | None, limit: int
    ) -> list[tuple[ConversationRecord, MembershipRecord]]:
        """The user's conversations in ``ListPosition`` order: the pinned ones
        first, most recently pinned first, then the others, latest activity
        first; strictly after ``before`` when given."""

    async def memberships_of(self, user_id: str) -> list[MembershipRecord]: ...

    async def share_conversation(self, user_id: str, user_ids: list[str]) -> set[str]:
        """Those of ``user_ids`` who are members of a conversation ``user_id``
        is a member of, in one query (private presence)."""


class MessageStore(Protocol):
    async def append(self, message: MessageRecord) -> AppendResult | None:
        """Store a new message with the conversation's next ``seq``, atomically
        and durably; also moves the conversation's last message and the
        sender's read marker, and unarchives the conversation for every
        participant who archived it and did not mute it. If the sender already
        used ``client_msg_id``, nothing is written and the original comes back
        with ``created`` False.

        Only a participant may write, and not into a direct conversation with
        someone they block or who blocks them: otherwise (or when there is no
        such conversation) nothing is written and the result is None. Checking
        here, in the same step as the write, keeps a send to one round trip.

        A system or card message (``kind`` not ``"text"``) skips those checks:
        its ``sender_id`` is the user whose action caused it, who may be an
        admin or a participant who just left. Only a missing conversation
        refuses it (None). It does not move that user's read marker (they did
        not necessarily read what came before; it is not unread for them
        anyway, being theirs). Its ``client_msg_id`` names the event, so
        writing one event twice returns the original."""

    async def get(self, message_id: str) -> MessageRecord | None: ...

    async def update(self, message_id: str, changes: dict[str, Any]) -> MessageRecord | None:
        """Change a message (edit, soft delete); refreshes the conversation's
        ``last_message`` when it is the latest one."""

    async def range(
        self,
        conversation_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[MessageRecord]:
        """Ascending by seq: the first ``limit`` after ``after_seq``, else the
        last ``limit`` before ``before_seq`` (or the latest ones)."""

    async def count_unread(self, conversation_id: str, user_id: str, read_seq: int) -> int:
        """Messages after ``read_seq`` from others, deleted ones excluded."""

    async def count_unread_mentions(self, conversation_id: str, user_id: str, read_seq: int) -> int:
        """Of those ``count_unread`` counts, the ones that mention ``user_id``."""

    async def pin(
        self, message_id: str, by_user_id: str, at: str, limit: int
    ) -> MessageChange | None:
        """Pin a message that is not deleted, if its conversation has fewer
        than ``limit`` pinned messages: the count and the write are one atomic
        step, so concurrent pins never pass the limit. A pinned message comes
        back unchanged (its ``pinned_at``/``pinned_by`` kept). None when
        nothing was pinned: no such message, a deleted one, or the limit
        reached (the caller tells which by reading the message). Refreshes
        the conversation's ``last_message`` when it is the latest one."""

    async def unpin(self, message_id: str) -> MessageChange | None:
        """Unpin a message (``pinned_at``/``pinned_by`` cleared); unpinning one
        that is not pinned changes nothing. None for no such message."""

    async def react(
        self, message_id: str, user_id: str, emoji: str, *, add: bool, max_distinct: int
    ) -> MessageChange | None:
        """Add (``add``) or remove ``user_id``'s ``emoji`` reaction, reading and
        writing the reactions in one atomic step (concurrent reactions all
        count). Adding one the user made already, or removing one they did
        not make, changes nothing. None when nothing was added: no such
        message, a deleted one, or it would be emoji number
        ``max_distinct + 1`` (the caller tells which by reading the
        message); removing from no such message is None too."""

    async def thread(self, root_id: str, *, after_seq: int, limit: int) -> list[MessageRecord]:
        """The replies whose ``thread_root_id`` is ``root_id``, ascending seq,
        the first ``limit`` after ``after_seq``."""

    async def changed(
        self, conversation_id: str, *, after_rev: int, limit: int
    ) -> list[MessageRecord]:
        """The conversation's messages changed after ``after_rev`` (edited,
        deleted, pinned or unpinned, reacted to, replied to), ascending rev,
        at most ``limit``."""

    async def pinned(self, conversation_id: str, limit: int) -> list[MessageRecord]:
        """The conversation's pinned messages, most recently pinned first (ties
        by seq, descending), at most ``limit``."""

    async def search(
        self, user_id: str, query: str, *, conversation_id: str | None, offset: int, limit: int
    ) -> list[tuple[MessageRecord, str]]:
        """Full-text matches in the user's conversations, best first, each
        with a highlighted excerpt (matches wrapped in ``<mark>``)."""


class UploadStore(Protocol):
    """Uploads and the attachments they become (``UploadRecord``)."""

    async def create(self, upload: UploadRecord) -> None: ...

    async def get(self, upload_id: str) -> UploadRecord | None: ...

    async def complete(self, upload_id: str, changes: dict[str, Any]) -> UploadRecord | None:
        """Apply ``changes`` (checked size, mime, sha256, image fields, scan
        status, ``completed_at``) and mark a pending upload ``complete``; None
        if it is not pending (already completed, or gone). ValueError when
        ``changes`` names its id, owner, conversation, creation or expiry
        time, status or message."""

    async def attach(
        self, upload_ids: list[str], owner_id: str, conversation_id: str, message_id: str
    ) -> list[UploadRecord] | None:
        """All or nothing: mark each upload ``attached`` to ``message_id`` if
        every one is complete, unattached, the owner's and in the conversation.
        The records in the order given ([] for no ids); None (nothing changed)
        otherwise, also when an id is given twice."""

    async def detach(self, message_id: str) -> None:
        """Undo ``attach`` for a message that was not written after all: its
        uploads are ``complete`` again, attached to nothing."""

    async def set_scan_status(self, upload_id: str, scan_status: str) -> None: ...

    async def stale(self, now: str, limit: int) -> list[UploadRecord]:
        """Up to ``limit`` uploads to delete: pending ones whose ``expires_at``
        is at or before ``now`` (soonest expired first), then those attached to
        a deleted message."""

    async def unwritten(self, limit: int) -> list[str]:
        """Ids of uploads attached to a message that does not exist: a send
        that is writing it right now, or one a crash stopped after ``attach``."""

    async def delete(self, upload_id: str) -> None: ...

    async def bytes_since(self, owner_id: str, since: str) -> int:
        """The ``size`` total of the uploads ``owner_id`` created at or after
        ``since`` (the daily quota): the client's word until completed, the
        measured size after. Deleted uploads no longer count."""


class IdempotencyStore(Protocol):
    """One record per (scope, key): the claim of the request that runs first,
    then its response. ``status`` is 0 while it runs, 1 once it committed its
    effects (``Transition.claim``) and the HTTP status once its response is
    stored. A claim is named by its ``created_at`` (the token)."""

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    async def reserve(self, record: IdempotencyRecord) -> bool:
        """Claim (scope, key) with a pending record (``status`` 0, no body);
        False if any record already holds it."""

    async def take_over(
        self, record: IdempotencyRecord, *, pending_before: str, any_before: str
    ) -> bool:
        """Replace the record of (scope, key) with the pending ``record`` if it
        is pending since before ``pending_before`` (its request died) or was
        created before ``any_before`` (it expired); True for the one caller
        that did."""

    async def complete(self, scope: str, key: str, token: str, status: int, body: Any) -> bool:
        """Store the response on the claim ``token`` (pending or committed);
        False if the claim is no longer there."""

    async def release(self, scope: str, key: str, token: str) -> None:
        """Delete the claim ``token`` if it is still pending (nothing committed)."""

    async def purge(self, before: str) -> int:
        """Delete the records created before ``before``; how many."""


class MarketStore(Protocol):
    """Jobs, bids, milestones, reviews, deposits and payouts. Every write is a
    ``Transition`` given to ``apply``, which also moves money atomically."""

    async def apply(self, transition: Transition) -> list[Any]:
        """Write everything in ``transition`` in one transaction, or nothing;
        the rows of ``transition.changes`` as that transaction left them.

        Raises DuplicateError (the event was processed already, or an insert
        hits a unique key), ConditionFailed (a change's row is not as expected,
        or an ``absent`` check found a row), InsufficientBalance, or
        UnbalancedMovement."""

    async def get_job(self, job_id: str) -> JobRecord | None: ...

    async def search_jobs(
        self, query: JobQuery, *, before: str | None, limit: int
    ) -> list[JobRecord]:
        """Newest first (descending id), strictly before the id ``before``;
        ``query.bidder_id``: the jobs that user has a bid on, in any bid status."""

    async def get_bid(self, bid_id: str) -> BidRecord | None: ...

    async def bid_partners(self, user_id: str, user_ids: list[str]) -> set[str]:
        """Those of ``user_ids`` related to ``user_id`` by a bid (any status):
        the owner of a job ``user_id`` bid on, or a bidder on a job
        ``user_id`` owns; in one query (private presence)."""

    async def list_bids(
        self,
        job_id: str,
        *,
        freelancer_id: str | None = None,
        status: list[str] | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[BidRecord]:
        """Oldest first (ascending id), strictly after the id ``after``."""

    async def bids_between(
        self, owner_id: str, freelancer_id: str, *, status: list[str], limit: int = 1
    ) -> list[BidRecord]:
        """Bids of ``freelancer_id`` on jobs of ``owner_id`` in one of
        ``status``, oldest first (contact masking: is there an accepted one)."""

    async def get_milestone(self, milestone_id: str) -> MilestoneRecord | None: ...

    async def list_milestones(
        self, job_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[MilestoneRecord]:
        """Oldest first (ascending id), strictly after the id ``after``."""

    async def list_reviews(
        self, subject_id: str, *, before: str | None, limit: int
    ) -> list[ReviewRecord]:
        """Reviews of ``subject_id``, newest first, strictly before ``before``."""

    async def review_stats(self, subject_id: str) -> tuple[int, int]:
        """(count, sum of ratings) of the reviews of ``subject_id``."""

    async def get_deposit(self, deposit_id: str) -> DepositRecord | None: ...

    async def get_payout(self, payout_id: str) -> PayoutRecord | None: ...


class LedgerStore(Protocol):
    """Balances and entries, written only through ``MarketStore.apply``."""

    async def balances(self, owner_id: str) -> list[BalanceRecord]:
        """Every account of ``owner_id``, by currency then account."""

    async def entries(
        self, owner_id: str, *, before: str | None, limit: int
    ) -> list[LedgerEntryRecord]:
        """The owner's entries, newest first (descending id), before the id ``before``."""

    async def entry_totals(self) -> dict[str, int]:
        """The sum of every entry per currency: zero for each when the ledger balances."""

    async def balance_totals(self) -> dict[str, int]:
        """The sum of every account's balance per currency (zero as well)."""


class NotificationStore(Protocol):
    async def create(self, notification: NotificationRecord) -> None: ...

    async def get(self, notification_id: str) -> NotificationRecord | None: ...

    async def list(
        self, user_id: str, *, unread_only: bool, before: str | None, limit: int
    ) -> list[NotificationRecord]:
        """Newest first (descending id), strictly before the id ``before``."""

    async def mark_read(self, notification_id: str, read_at: str) -> NotificationRecord | None:
        """Set ``read_at`` unless already set; the record as it now is."""

    async def mark_all_read(self, user_id: str, read_at: str) -> int:
        """Mark every unread notification of the user read; how many were."""

    async def unread_count(self, user_id: str) -> int: ...


class NetworkingStore(Protocol):
    """Speed-networking lobbies, sessions and ratings. Live queues are not here
    (they are in memory or Redis); sessions are, so every state change of one
    is a conditional write that exactly one caller wins, whatever the process."""

    async def create_lobby(self, lobby: LobbyRecord) -> None: ...

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None: ...

    async def list_lobbies(
        self, *, duration: int | None, topic: str | None, before: str | None, limit: int
    ) -> list[LobbyRecord]:
        """Newest first (descending id), strictly before the id ``before``."""

    async def lobbies_to_close(self, now: str) -> list[LobbyRecord]:
        """Lobbies whose ``ends_at`` has passed and that are not closed yet."""

    async def close_lobby(self, lobby_id: str, closed_at: str) -> bool:
        """Set ``closed_at`` once; True for the one caller that did."""

    async def create_session(self, session: NetworkingSessionRecord) -> None: ...

    async def get_session(self, session_id: str) -> NetworkingSessionRecord | None: ...

    async def end_session(self, session_id: str, reason: str, ended_at: str) -> bool:
        """``active`` -> ``ended``; True for the one caller that did."""

    async def mark_signaled(self, session_id: str, user_id: str, at: str) -> None:
        """Record the first signal of a side (later ones change nothing)."""

    async def mark_connected(self, session_id: str, at: str) -> bool:
        """Set ``connected_at`` once; True for the one caller that did."""

    async def set_conversation(self, session_id: str, conversation_id: str) -> None: ...

    async def due_sessions(self, now: str, no_show_before: str) -> list[NetworkingSessionRecord]:
        """Active sessions past ``ends_at``, or started before ``no_show_before``
        with a side that has not signaled."""

    async def active_sessions(self, lobby_id: str) -> list[NetworkingSessionRecord]: ...

    async def add_rating(self, rating: SessionRatingRecord) -> None:
        """Raises DuplicateError when the rater already rated the session."""

    async def ratings(self, session_id: str) -> list[SessionRatingRecord]: ...

    async def connected_peers(self, user_id: str, user_ids: list[str]) -> set[str]:
        """Those of ``user_ids`` with whom ``user_id`` had a networking session
        where both chose to connect, in one query (private presence)."""

    async def usage(self) -> list[dict[str, Any]]:
        """Per lobby: ``{lobby_id, sessions, ratings, stars_total, connect_choices,
        connections}`` (connections: sessions where both chose to connect)."""


class NotificationSettingsStore(Protocol):
    """Each user's notification settings (issue 18): one record per user."""

    async def get(self, user_id: str) -> NotificationSettingsRecord | None:
        """None when the user never saved any (the defaults apply)."""

    async def put(self, record: NotificationSettingsRecord) -> None:
        """Insert or replace the user's record."""


class PushSubscriptionStore(Protocol):
    """Web Push subscriptions, one per endpoint (a browser profile's push
    channel); a user has one per device."""

    async def upsert(self, record: PushSubscriptionRecord) -> PushSubscriptionRecord:
        """Store ``record``; when its endpoint is stored already, that one is
        updated instead (user, keys, user agent, ``updated_at``; its ``id`` and
        ``created_at`` stay). Returns the subscription as stored."""

    async def get(self, subscription_id: str) -> PushSubscriptionRecord | None: ...

    async def list_for_users(self, user_ids: list[str]) -> list[PushSubscriptionRecord]:
        """Every subscription of these users, oldest first."""

    async def delete(self, subscription_id: str) -> bool:
        """True when it existed."""


class WebhookStore(Protocol):
    """Outbound webhooks (issue 18): endpoints, the durable outbox (one entry
    per event and endpoint, in creation order per endpoint) and the log of
    delivery attempts. A sender claims an endpoint's oldest pending entry with
    an expiring lease (a conditional write one caller wins), so two processes
    never send the same entry at once and a crashed sender's lease just runs out."""

    async def create_endpoint(self, endpoint: WebhookEndpointRecord) -> None: ...

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpointRecord | None: ...

    async def list_endpoints(self) -> list[WebhookEndpointRecord]:
        """Every endpoint, oldest first."""

    async def delete_endpoint(self, endpoint_id: str) -> bool:
        """Delete it with its outbox entries and its deliveries; True when it existed."""

    async def enqueue(self, entries: list[WebhookOutboxRecord]) -> None:
        """Add entries to the outbox (ids ascending in the order given)."""

    async def claim(
        self, endpoint_id: str, owner: str, now: str, lease_until: str
    ) -> WebhookOutboxRecord | None:
        """Lease the endpoint's oldest pending entry to ``owner`` until
        ``lease_until`` if it is due (``next_attempt_at`` <= ``now``) and not
        leased (no lease, or one that ended before ``now``); the entry as
        leased, or None (nothing due, or another caller holds or won it)."""

    async def delivered(self, entry_id: str, owner: str) -> bool:
        """Remove the entry ``owner`` leased; False if the lease was lost."""

    async def retry_later(
        self, entry_id: str, owner: str, next_attempt_at: str, error: str
    ) -> bool:
        """Count an attempt, release the lease and make the entry due again at
        ``next_attempt_at``; False if the lease was lost."""

    async def give_up(self, entry_id: str, owner: str, error: str) -> bool:
        """Count an attempt and mark the entry ``failed`` (no longer sent)."""

    async def outbox_stats(self) -> tuple[int, str | None]:
        """(pending entries, ``created_at`` of the oldest pending one)."""

    async def log_delivery(self, delivery: WebhookDeliveryRecord) -> None: ...

    async def deliveries(
        self, endpoint_id: str, *, before: str | None, limit: int
    ) -> list[WebhookDeliveryRecord]:
        """Newest first (descending id), strictly before the id ``before``."""

    async def prune_deliveries(self, before: str, limit: int) -> int:
        """Delete at most ``limit`` rows of the delivery log made (``at``)
        before ``before``; how many. Calls from several processes at once are
        safe: a row is deleted once, the others find it gone."""

    async def prune_failed(self, before: str, limit: int) -> int:
        """Delete at most ``limit`` outbox entries marked ``failed`` whose event
        was created before ``before``; how many. Pending entries never go."""


class EmailDigestStore(Protocol):
    """Email digests (issue 18): one record per user, for their latest absence.
    Every change but ``schedule`` is conditional on the absence it was read
    for, so a worker never acts on an absence that has been replaced."""

    async def get(self, user_id: str) -> EmailDigestRecord | None: ...

    async def schedule(self, record: EmailDigestRecord) -> bool:
        """Store ``record`` unless the stored one is for the same absence or a
        later one (``absence_since`` not earlier); True when written."""

    async def due(self, now: str, limit: int) -> list[EmailDigestRecord]:
        """Pending records due at ``now`` and not leased, earliest due first."""

    async def claim(
        self, user_id: str, absence_since: str, now: str, lease_until: str
    ) -> EmailDigestRecord | None:
        """Lease a due, pending, unleased record of that absence until
        ``lease_until``; None when another worker has it (or it changed)."""

    async def finish(self, user_id: str, absence_since: str, state: str, at: str) -> bool:
        """Move a pending record of that absence to ``state`` (sent, idle,
        skipped), dropping its lease; True when it was pending."""

    async def release(self, user_id: str, absence_since: str, due_at: str, attempts: int) -> bool:
        """Leave a pending record of that absence pending, due at ``due_at``,
        unleased, with ``attempts`` (a retry, or quiet hours)."""

    async def rearm(self, user_ids: list[str], due_at: str) -> int:
        """Make the ``idle`` records of these users pending again, due at
        ``due_at`` (a new message for someone still away); how many."""


class ReportStore(Protocol):
    """Users' reports (issue 20), and what moderation reads of the market."""

    async def create(self, report: ReportRecord) -> None:
        """Insert a report; DuplicateError when its reporter reported the same
        target (type and id) already."""

    async def get(self, report_id: str) -> ReportRecord | None: ...

    async def find(
        self, reporter_id: str, target_type: str, target_id: str
    ) -> ReportRecord | None: ...

    async def queue(
        self, *, status: str | None, before: str | None, limit: int
    ) -> list[ReportRecord]:
        """Newest first (descending id), strictly before the id ``before``."""

    async def resolve(self, report_id: str, changes: dict[str, Any]) -> ReportRecord | None:
        """Apply ``changes`` to an open report in one conditional write; None
        when it is missing or no longer open."""

    async def disputed_milestones(self, *, before: str | None, limit: int) -> list[MilestoneRecord]:
        """Milestones in status ``disputed``, newest first, strictly before ``before``."""

    async def open_bids_of(self, freelancer_id: str) -> list[BidRecord]:
        """The freelancer's bids still open (pending or shortlisted), on any job."""


class AuditLogStore(Protocol):
    """Every admin action and read (issue 20). Append-only: there is no update
    and no delete."""

    async def append(self, entry: AuditRecord) -> None: ...

    async def entries(
        self,
        *,
        actor_id: str | None,
        target_id: str | None,
        before: str | None,
        limit: int,
    ) -> list[AuditRecord]:
        """Newest first (descending id), strictly before the id ``before``."""


class Store(Protocol):
    """One engine's stores, plus its lifecycle."""

    users: UserStore
    refresh_tokens: RefreshTokenStore
    sessions: SessionStore
    mfa: MfaStore
    account_tokens: AccountTokenStore
    blocks: BlockStore
    conversations: ConversationStore
    messages: MessageStore
    idempotency: IdempotencyStore
    market: MarketStore
    ledger: LedgerStore
    notifications: NotificationStore
    networking: NetworkingStore
    uploads: UploadStore
    email_digests: EmailDigestStore
    webhooks: WebhookStore
    notification_settings: NotificationSettingsStore
    push_subscriptions: PushSubscriptionStore
    reports: ReportStore
    audit: AuditLogStore

    async def open(self) -> None:
        """Connect and bring the schema (migrations, indexes) up to date."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the database does not answer."""
