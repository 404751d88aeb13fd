"""The store API. Domain code sees only these protocols, never an engine."""

from __future__ import annotations

from typing import Any, Protocol

from .records import BlockRecord, RefreshTokenRecord, UserRecord


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


class Store(Protocol):
    """One engine's stores, plus its lifecycle."""

    users: UserStore
    refresh_tokens: RefreshTokenStore
    blocks: BlockStore

    async def open(self) -> None:
        """Connect and bring the schema (migrations, indexes) up to date."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the database does not answer."""
