"""The store API. Domain code sees only these protocols, never an engine."""

from __future__ import annotations

from typing import Any, Protocol

from .records import (
    BlockRecord, ConversationRecord, IdempotencyRecord, MembershipRecord, MessageRecord,
    RefreshTokenRecord, UserRecord,
)


class UserStore(Protocol):
    async def create(self, user: UserRecord) -> None:
        """Insert a user; raises DuplicateError when the email is taken."""

    async def get(self, user_id: str) -> UserRecord | None: ...

    async def get_by_email(self, email: str) -> UserRecord | None: ...

    async def get_many(self, user_ids: list[str]) -> list[UserRecord]: ...

    async def update(self, user_id: str, changes: dict[str, Any]) -> UserRecord | None:
        """Apply ``changes`` (record field names) and return the new record."""


class RefreshTokenStore(Protocol):
    async def create(self, token: RefreshTokenRecord) -> None: ...

    async def get(self, token_hash: str) -> RefreshTokenRecord | None: ...

    async def mark_used(self, token_hash: str, used_at: str) -> bool:
        """Atomically mark a token used; False if it was already used."""

    async def revoke_family(self, family_id: str, revoked_at: str) -> None: ...


class BlockStore(Protocol):
    async def add(self, block: BlockRecord) -> None:
        """Record a block; blocking twice is not an error."""

    async def remove(self, blocker_id: str, blocked_id: str) -> bool: ...

    async def exists_between(self, user_a: str, user_b: str) -> bool:
        """True when either user blocked the other."""

    async def list_by_blocker(self, blocker_id: str) -> list[BlockRecord]: ...


class ConversationStore(Protocol):
    async def create(
        self, conversation: ConversationRecord, members: list[MembershipRecord]
    ) -> tuple[ConversationRecord, bool]:
        """Insert with its members. A direct conversation whose ``direct_key``
        exists is not created again: the existing one comes back with False."""

    async def get(self, conversation_id: str) -> ConversationRecord | None: ...

    async def update(self, conversation_id: str, changes: dict[str, Any]) -> ConversationRecord | None: ...

    async def get_for_member(
        self, conversation_id: str, user_id: str
    ) -> tuple[ConversationRecord | None, MembershipRecord | None]:
        """The conversation and the user's membership in it, in one read."""

    async def member_ids(self, conversation_id: str) -> list[str]: ...

    async def membership(self, conversation_id: str, user_id: str) -> MembershipRecord | None: ...

    async def update_membership(
        self, conversation_id: str, user_id: str, changes: dict[str, Any]
    ) -> MembershipRecord | None: ...

    async def add_members(self, members: list[MembershipRecord]) -> None:
        """Add members; ones already in the conversation are left as they are."""

    async def remove_member(self, conversation_id: str, user_id: str) -> bool: ...

    async def advance_read(self, conversation_id: str, user_id: str, seq: int) -> int:
        """Move the read marker to ``seq`` if that is forward; return the marker."""

    async def list_for_user(
        self, user_id: str, *, archived: bool | None, before: tuple[str, str] | None, limit: int
    ) -> list[tuple[ConversationRecord, MembershipRecord]]:
        """The user's conversations, latest activity first, strictly after the
        ``(last_activity_at, id)`` cursor ``before`` when given."""

    async def memberships_of(self, user_id: str) -> list[MembershipRecord]: ...


class MessageStore(Protocol):
    async def append(self, message: MessageRecord) -> tuple[MessageRecord, bool]:
        """Store a new message with the conversation's next ``seq``, atomically
        and durably; also moves the conversation's last message and the
        sender's read marker. If the sender already used ``client_msg_id``,
        nothing is written and the original comes back with False."""

    async def get(self, message_id: str) -> MessageRecord | None: ...

    async def update(self, message_id: str, changes: dict[str, Any]) -> MessageRecord | None:
        """Change a message (edit, soft delete); refreshes the conversation's
        ``last_message`` when it is the latest one."""

    async def range(
        self, conversation_id: str, *, after_seq: int | None = None,
        before_seq: int | None = None, limit: int = 50,
    ) -> list[MessageRecord]:
        """Ascending by seq: the first ``limit`` after ``after_seq``, else the
        last ``limit`` before ``before_seq`` (or the latest ones)."""

    async def count_unread(self, conversation_id: str, user_id: str, read_seq: int) -> int:
        """Messages after ``read_seq`` from others, deleted ones excluded."""

    async def search(
        self, user_id: str, query: str, *, conversation_id: str | None, offset: int, limit: int
    ) -> list[tuple[MessageRecord, str]]:
        """Full-text matches in the user's conversations, best first, each
        with a highlighted excerpt (matches wrapped in ``<mark>``)."""


class IdempotencyStore(Protocol):
    async def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    async def put(self, record: IdempotencyRecord) -> bool:
        """Store a response; False if one is already stored for (scope, key)."""


class Store(Protocol):
    """One engine's stores, plus its lifecycle."""

    users: UserStore
    refresh_tokens: RefreshTokenStore
    blocks: BlockStore
    conversations: ConversationStore
    messages: MessageStore
    idempotency: IdempotencyStore

    async def open(self) -> None:
        """Connect and bring the schema (migrations, indexes) up to date."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the database does not answer."""
