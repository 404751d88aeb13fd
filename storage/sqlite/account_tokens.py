"""Single-use account tokens on SQLite (issue 19): password reset and email
verification, by the SHA-256 hash of the token; a use is one conditional
``UPDATE ... RETURNING``."""

from __future__ import annotations

from ..records import AccountTokenPurpose, AccountTokenRecord
from .codec import from_row
from .database import Database
from .ops import insert


class SqliteAccountTokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, token: AccountTokenRecord) -> None:
        await insert(self.db, "account_tokens", token)

    async def consume(
        self, token_hash: str, purpose: AccountTokenPurpose, now: str
    ) -> AccountTokenRecord | None:
        rows = await self.db.write_batched(
            "UPDATE account_tokens SET used_at = :now"
            " WHERE token_hash = :h AND purpose = :p AND used_at IS NULL AND expires_at > :now"
            " RETURNING *",
            {"h": token_hash, "p": purpose, "now": now},
        )
        return from_row(AccountTokenRecord, rows[0]) if rows else None

    async def discard(self, user_id: str, purpose: AccountTokenPurpose, now: str) -> int:
        return await self.db.write(
            "UPDATE account_tokens SET used_at = :now"
            " WHERE user_id = :u AND purpose = :p AND used_at IS NULL",
            {"u": user_id, "p": purpose, "now": now},
        )

    async def purge(self, expired_before: str) -> int:
        return await self.db.write(
            "DELETE FROM account_tokens WHERE expires_at < ?", (expired_before,)
        )
