"""Users, refresh tokens, sessions and blocks on SQLite."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from typing import Any

from ..records import BlockRecord, RefreshTokenRecord, SessionRecord, UserRecord
from .database import Database

_USER_COLUMNS = [f.name for f in fields(UserRecord)]


def _user(row: sqlite3.Row | None) -> UserRecord | None:
    if row is None:
        return None
    data = dict(row)
    data["skills"] = json.loads(data["skills"])
    return UserRecord(**data)


def _user_values(data: dict[str, Any]) -> dict[str, Any]:
    if "skills" in data:
        data = {**data, "skills": json.dumps(data["skills"])}
    return data


class SqliteUserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, user: UserRecord) -> None:
        values = _user_values({name: getattr(user, name) for name in _USER_COLUMNS})
        placeholders = ", ".join(f":{name}" for name in values)
        await self.db.write(
            f"INSERT INTO users ({', '.join(values)}) VALUES ({placeholders})", values
        )

    async def get(self, user_id: str) -> UserRecord | None:
        return _user(await self.db.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,)))

    async def get_by_email(self, email: str) -> UserRecord | None:
        row = await self.db.fetch_one("SELECT * FROM users WHERE email = ?", (email,))
        return _user(row)

    async def get_many(self, user_ids: list[str]) -> list[UserRecord]:
        if not user_ids:
            return []
        marks = ", ".join("?" * len(user_ids))
        rows = await self.db.fetch_all(f"SELECT * FROM users WHERE id IN ({marks})", user_ids)
        return [_user(row) for row in rows]  # type: ignore[misc]

    async def update(self, user_id: str, changes: dict[str, Any]) -> UserRecord | None:
        unknown = set(changes) - set(_USER_COLUMNS) | ({"id"} & set(changes))
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if changes:
            values = _user_values(changes)
            assignments = ", ".join(f"{name} = :{name}" for name in values)
            await self.db.write(
                f"UPDATE users SET {assignments} WHERE id = :id", {**values, "id": user_id}
            )
        return await self.get(user_id)

    async def set_last_seen(self, seen: list[tuple[str, str]]) -> None:
        if not seen:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE users SET last_seen_at = ? WHERE id = ?",
                [(at, user_id) for user_id, at in seen],
            )


class SqliteRefreshTokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, token: RefreshTokenRecord) -> None:
        await self.db.write(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at,"
            " expires_at, used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                token.token_hash,
                token.family_id,
                token.user_id,
                token.created_at,
                token.expires_at,
                token.used_at,
                token.revoked_at,
            ),
        )

    async def get(self, token_hash: str) -> RefreshTokenRecord | None:
        row = await self.db.fetch_one(
            "SELECT * FROM refresh_tokens WHERE token_hash = ?", (token_hash,)
        )
        return RefreshTokenRecord(**dict(row)) if row else None

    async def mark_used(self, token_hash: str, used_at: str) -> bool:
        changed = await self.db.write(
            "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
            (used_at, token_hash),
        )
        return changed == 1

    async def revoke_family(self, family_id: str, revoked_at: str) -> None:
        await self.db.write(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            (revoked_at, family_id),
        )


class SqliteSessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, session: SessionRecord) -> None:
        await self.db.write(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent, ip,"
            " revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                session.id,
                session.user_id,
                session.created_at,
                session.last_used_at,
                session.user_agent,
                session.ip,
                session.revoked_at,
            ),
        )

    async def get(self, session_id: str) -> SessionRecord | None:
        row = await self.db.fetch_one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return SessionRecord(**dict(row)) if row else None

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        rows = await self.db.fetch_all(
            "SELECT * FROM sessions WHERE user_id = ? AND revoked_at IS NULL"
            " ORDER BY created_at DESC, id DESC",
            (user_id,),
        )
        return [SessionRecord(**dict(row)) for row in rows]

    async def touch(self, session_id: str, last_used_at: str) -> None:
        await self.db.write(
            "UPDATE sessions SET last_used_at = ? WHERE id = ?", (last_used_at, session_id)
        )

    async def revoke(self, session_id: str, revoked_at: str) -> bool:
        changed = await self.db.write(
            "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (revoked_at, session_id),
        )
        return changed == 1

    async def revoke_all_for_user(
        self, user_id: str, revoked_at: str, except_id: str | None = None
    ) -> list[str]:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"
                " AND id IS NOT ? RETURNING id",
                (revoked_at, user_id, except_id),
            )
            return [row[0] for row in await cursor.fetchall()]


class SqliteBlockStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, block: BlockRecord) -> None:
        await self.db.write(
            "INSERT OR IGNORE INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)",
            (block.blocker_id, block.blocked_id, block.created_at),
        )

    async def remove(self, blocker_id: str, blocked_id: str) -> bool:
        changed = await self.db.write(
            "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?", (blocker_id, blocked_id)
        )
        return changed == 1

    async def exists_between(self, user_a: str, user_b: str) -> bool:
        row = await self.db.fetch_one(
            "SELECT 1 FROM blocks WHERE (blocker_id = ? AND blocked_id = ?)"
            " OR (blocker_id = ? AND blocked_id = ?)",
            (user_a, user_b, user_b, user_a),
        )
        return row is not None

    async def list_by_blocker(self, blocker_id: str) -> list[BlockRecord]:
        rows = await self.db.fetch_all(
            "SELECT * FROM blocks WHERE blocker_id = ? ORDER BY created_at", (blocker_id,)
        )
        return [BlockRecord(**dict(row)) for row in rows]
