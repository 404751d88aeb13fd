"""Users, refresh tokens, sessions and blocks on SQLite."""

from __future__ import annotations

from typing import Any

from ..records import (
    BlockRecord,
    DirectoryQuery,
    RefreshTokenRecord,
    SessionRecord,
    UserListQuery,
    UserRecord,
)
from ..schema import check_changes
from .database import Database
from .ops import fetch_record, fetch_records, insert, newest_first, set_once, update

# Retention (hub/accounts/retention.py): one bounded statement each, found by
# an index (refresh_tokens(expires_at); sessions by revoked_at, and the
# unrevoked ones by last_used_at, their family's tokens by family_id), so a
# backlog never holds the writer for long.
PRUNE_TOKENS = (
    "DELETE FROM refresh_tokens WHERE token_hash IN"
    " (SELECT token_hash FROM refresh_tokens WHERE expires_at < ? LIMIT ?)"
)
PRUNE_REVOKED_SESSIONS = (
    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE revoked_at < ? LIMIT ?)"
)
PRUNE_EXPIRED_SESSIONS = (
    "DELETE FROM sessions WHERE id IN"
    " (SELECT id FROM sessions WHERE revoked_at IS NULL AND last_used_at < ?"
    " AND NOT EXISTS (SELECT 1 FROM refresh_tokens"
    " WHERE family_id = sessions.id AND expires_at >= ?) LIMIT ?)"
)


class SqliteUserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, user: UserRecord) -> None:
        await insert(self.db, "users", user)

    async def get(self, user_id: str) -> UserRecord | None:
        return await fetch_record(
            self.db, UserRecord, "SELECT * FROM users WHERE id = ?", (user_id,)
        )

    async def get_by_email(self, email: str) -> UserRecord | None:
        return await fetch_record(
            self.db, UserRecord, "SELECT * FROM users WHERE email = ?", (email,)
        )

    async def get_many(self, user_ids: list[str]) -> list[UserRecord]:
        if not user_ids:
            return []
        marks = ", ".join("?" * len(user_ids))
        return await fetch_records(
            self.db, UserRecord, f"SELECT * FROM users WHERE id IN ({marks})", user_ids
        )

    async def update(self, user_id: str, changes: dict[str, Any]) -> UserRecord | None:
        check_changes(UserRecord, changes, {"id"})
        if changes:
            await update(self.db, "users", UserRecord, changes, "id = :_id", {"_id": user_id})
        return await self.get(user_id)

    async def set_last_seen(self, seen: list[tuple[str, str]]) -> None:
        if not seen:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE users SET last_seen_at = ? WHERE id = ?",
                [(at, user_id) for user_id, at in seen],
            )

    async def directory(
        self, query: DirectoryQuery, *, after: tuple[str, str] | None, limit: int
    ) -> list[UserRecord]:
        viewer = query.viewer_id
        # One NOT EXISTS per direction: each is a lookup on the blocks primary
        # key (blocker_id, blocked_id), where an OR of both would scan.
        conditions = [
            "id != ?",
            "NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = ? AND blocked_id = users.id)",
            "NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = users.id AND blocked_id = ?)",
            "banned_at IS NULL",
            "(suspended_until IS NULL OR suspended_until <= ?)",
        ]
        params: list[Any] = [viewer, viewer, viewer, query.now]
        if query.role is not None:
            conditions.append("role = ?")
            params.append(query.role)
        for word in query.words:
            pattern = "%" + _like_escaped(word) + "%"
            conditions.append(
                r"(display_name LIKE ? ESCAPE '\' OR headline LIKE ? ESCAPE '\'"
                r" OR EXISTS (SELECT 1 FROM json_each(users.skills)"
                r" WHERE json_each.value LIKE ? ESCAPE '\'))"
            )
            params.extend([pattern, pattern, pattern])
        for skill in query.skills:
            # Not lower(value) = lower(skill): SQLite's lower() folds ASCII only
            # and Python's every letter, so a stored "Ökonomie" would miss itself.
            conditions.append(
                "EXISTS (SELECT 1 FROM json_each(users.skills)"
                " WHERE json_each.value = ? COLLATE NOCASE)"
            )
            params.append(skill)
        if after is not None:
            conditions.append("(display_name, id) > (?, ?)")
            params.extend(after)
        return await fetch_records(
            self.db,
            UserRecord,
            "SELECT * FROM users WHERE "
            + " AND ".join(conditions)
            + " ORDER BY display_name, id LIMIT ?",
            [*params, limit],
        )

    async def listed(
        self, query: UserListQuery, *, before: str | None, limit: int
    ) -> list[UserRecord]:
        conditions: list[str] = []
        params: list[Any] = []
        if query.status == "banned":
            conditions.append("banned_at IS NOT NULL")
        elif query.status == "suspended":
            conditions.append("banned_at IS NULL AND suspended_until > ?")
            params.append(query.now)
        elif query.status == "active":
            conditions.append(
                "banned_at IS NULL AND (suspended_until IS NULL OR suspended_until <= ?)"
            )
            params.append(query.now)
        if query.role is not None:
            conditions.append("role = ?")
            params.append(query.role)
        for word in query.words:
            pattern = "%" + _like_escaped(word) + "%"
            conditions.append(
                r"(display_name LIKE ? ESCAPE '\' OR headline LIKE ? ESCAPE '\'"
                r" OR email LIKE ? ESCAPE '\'"
                r" OR EXISTS (SELECT 1 FROM json_each(users.skills)"
                r" WHERE json_each.value LIKE ? ESCAPE '\'))"
            )
            params.extend([pattern, pattern, pattern, pattern])
        return await newest_first(
            self.db, UserRecord, "users", conditions, params, before=before, limit=limit
        )


def _like_escaped(text: str) -> str:
    """``text`` matched literally by ``LIKE ... ESCAPE '\\'``: its ``%`` and ``_``
    are not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqliteRefreshTokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, token: RefreshTokenRecord) -> None:
        await insert(self.db, "refresh_tokens", token)

    async def get(self, token_hash: str) -> RefreshTokenRecord | None:
        return await fetch_record(
            self.db,
            RefreshTokenRecord,
            "SELECT * FROM refresh_tokens WHERE token_hash = ?",
            (token_hash,),
        )

    async def mark_used(self, token_hash: str, used_at: str) -> bool:
        return await set_once(
            self.db, "refresh_tokens", ("token_hash", token_hash), "used_at", used_at
        )

    async def revoke_family(self, family_id: str, revoked_at: str) -> None:
        await self.db.write(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            (revoked_at, family_id),
        )

    async def prune(self, before: str, limit: int) -> int:
        return await self.db.write(PRUNE_TOKENS, (before, limit))


class SqliteSessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, session: SessionRecord) -> None:
        await insert(self.db, "sessions", session)

    async def get(self, session_id: str) -> SessionRecord | None:
        return await fetch_record(
            self.db, SessionRecord, "SELECT * FROM sessions WHERE id = ?", (session_id,)
        )

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        return await fetch_records(
            self.db,
            SessionRecord,
            "SELECT * FROM sessions WHERE user_id = ? AND revoked_at IS NULL"
            " ORDER BY created_at DESC, id DESC",
            (user_id,),
        )

    async def touch(self, session_id: str, last_used_at: str) -> None:
        await self.db.write(
            "UPDATE sessions SET last_used_at = ? WHERE id = ?", (last_used_at, session_id)
        )

    async def revoke(self, session_id: str, revoked_at: str) -> bool:
        return await set_once(self.db, "sessions", ("id", session_id), "revoked_at", revoked_at)

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

    async def prune_revoked(self, before: str, limit: int) -> int:
        return await self.db.write(PRUNE_REVOKED_SESSIONS, (before, limit))

    async def prune_expired(self, before: str, limit: int) -> int:
        return await self.db.write(PRUNE_EXPIRED_SESSIONS, (before, before, limit))


class SqliteBlockStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, block: BlockRecord) -> None:
        await insert(self.db, "blocks", block, verb="INSERT OR IGNORE")

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

    async def blockers_among(self, blocked_id: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        marks = ", ".join("?" * len(user_ids))
        rows = await self.db.fetch_all(
            f"SELECT blocker_id FROM blocks WHERE blocked_id = ? AND blocker_id IN ({marks})",
            (blocked_id, *user_ids),
        )
        return {row[0] for row in rows}

    async def blocked_either_way(self, user_id: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        marks = ", ".join("?" * len(user_ids))
        rows = await self.db.fetch_all(
            f"SELECT blocker_id FROM blocks WHERE blocked_id = ? AND blocker_id IN ({marks})"
            " UNION SELECT blocked_id FROM blocks"
            f" WHERE blocker_id = ? AND blocked_id IN ({marks})",
            (user_id, *user_ids, user_id, *user_ids),
        )
        return {row[0] for row in rows}

    async def list_by_blocker(self, blocker_id: str) -> list[BlockRecord]:
        return await fetch_records(
            self.db,
            BlockRecord,
            "SELECT * FROM blocks WHERE blocker_id = ? ORDER BY created_at",
            (blocker_id,),
        )
