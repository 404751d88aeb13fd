"""Plain records that cross the storage boundary, whatever the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
class BlockRecord:
    blocker_id: str
    blocked_id: str
    created_at: str


@dataclass(slots=True)
class ConversationRecord:
    id: str
    type: str  # "direct" | "group"
    created_by: str
    created_at: str
    last_activity_at: str
    title: str | None = None
    context: dict[str, str] | None = None
    direct_key: str | None = None  # "<lower id>:<higher id>" for direct conversations
    last_seq: int = 0
    last_message: dict[str, Any] | None = None


@dataclass(slots=True)
class MembershipRecord:
    conversation_id: str
    user_id: str
    joined_at: str
    read_seq: int = 0
    pinned: bool = False
    archived: bool = False
    muted: bool = False


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


@dataclass(slots=True)
class IdempotencyRecord:
    """A stored response to replay for a repeated ``Idempotency-Key``."""

    scope: str  # "<user id>:<operation>"
    key: str
    request_hash: str
    status: int
    body: Any
    created_at: str
