"""Two-factor (TOTP) state on SQLite (issue 19): one row per user, every change
that guards a code one conditional statement."""

from __future__ import annotations

import orjson

from ..records import MfaRecord
from .database import Database
from .ops import fetch_record

_NOT_LOCKED = "(locked_until IS NULL OR locked_until <= :now)"


class SqliteMfaStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> MfaRecord | None:
        return await fetch_record(
            self.db, MfaRecord, "SELECT * FROM user_mfa WHERE user_id = ?", (user_id,)
        )

    async def set_pending(self, user_id: str, pending_secret: str, at: str) -> bool:
        changed = await self.db.write(
            "INSERT INTO user_mfa (user_id, updated_at, pending_secret) VALUES (:id, :at, :s)"
            " ON CONFLICT(user_id) DO UPDATE SET pending_secret = excluded.pending_secret,"
            " updated_at = excluded.updated_at WHERE user_mfa.secret IS NULL",
            {"id": user_id, "at": at, "s": pending_secret},
        )
        return changed == 1

    async def enable(
        self, user_id: str, pending_secret: str, recovery_codes: list[str], step: int, at: str
    ) -> bool:
        changed = await self.db.write(
            "UPDATE user_mfa SET secret = pending_secret, pending_secret = NULL,"
            " enabled_at = :at, updated_at = :at, recovery_codes = :codes, last_step = :step,"
            " failures = 0, locked_until = NULL"
            " WHERE user_id = :id AND pending_secret = :s AND secret IS NULL",
            {
                "id": user_id,
                "s": pending_secret,
                "codes": orjson.dumps(recovery_codes).decode(),
                "step": step,
                "at": at,
            },
        )
        return changed == 1

    async def disable(self, user_id: str) -> bool:
        changed = await self.db.write(
            "DELETE FROM user_mfa WHERE user_id = ? AND secret IS NOT NULL", (user_id,)
        )
        return changed == 1

    async def use_step(self, user_id: str, step: int, now: str) -> bool:
        changed = await self.db.write(
            "UPDATE user_mfa SET last_step = :step, failures = 0"
            f" WHERE user_id = :id AND secret IS NOT NULL AND last_step < :step AND {_NOT_LOCKED}",
            {"id": user_id, "step": step, "now": now},
        )
        return changed == 1

    async def use_recovery_code(self, user_id: str, code_hash: str, now: str) -> bool:
        changed = await self.db.write(
            "UPDATE user_mfa SET failures = 0, recovery_codes = (SELECT json_group_array(value)"
            " FROM json_each(user_mfa.recovery_codes) WHERE value <> :h)"
            f" WHERE user_id = :id AND secret IS NOT NULL AND {_NOT_LOCKED}"
            " AND EXISTS (SELECT 1 FROM json_each(user_mfa.recovery_codes) WHERE value = :h)",
            {"id": user_id, "h": code_hash, "now": now},
        )
        return changed == 1

    async def record_failure(
        self, user_id: str, max_failures: int, locked_until: str
    ) -> str | None:
        # One statement: concurrent wrong codes each count, and exactly one of
        # them is the max_failures-th that locks.
        rows = await self.db.write_batched(
            "UPDATE user_mfa SET"
            " failures = CASE WHEN failures + 1 >= :max THEN 0 ELSE failures + 1 END,"
            " locked_until = CASE WHEN failures + 1 >= :max THEN :until ELSE locked_until END"
            " WHERE user_id = :id RETURNING failures",
            {"id": user_id, "max": max_failures, "until": locked_until},
        )
        return locked_until if rows and rows[0][0] == 0 else None
