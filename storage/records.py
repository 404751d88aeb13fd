"""Plain records that cross the storage boundary, whatever the engine."""

from __future__ import annotations

from dataclasses import dataclass, field


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
