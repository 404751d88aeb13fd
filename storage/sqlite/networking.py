"""Speed-networking lobbies, sessions and ratings on SQLite."""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from typing import Any

from ..records import LobbyRecord, NetworkingSessionRecord, SessionRatingRecord
from .database import Database

_LOBBY_COLUMNS = [f.name for f in fields(LobbyRecord)]
_SESSION_COLUMNS = [f.name for f in fields(NetworkingSessionRecord)]


def _lobby(row: sqlite3.Row | None) -> LobbyRecord | None:
    return LobbyRecord(**dict(row)) if row is not None else None


def _session(row: sqlite3.Row | None) -> NetworkingSessionRecord | None:
    return NetworkingSessionRecord(**dict(row)) if row is not None else None


def _rating(row: sqlite3.Row) -> SessionRatingRecord:
    data = dict(row)
    data["connect"] = bool(data["connect"])
    return SessionRatingRecord(**data)


def _insert(table: str, record: Any, columns: list[str]) -> tuple[str, dict[str, Any]]:
    values = {name: getattr(record, name) for name in columns}
    marks = ", ".join(f":{name}" for name in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values


class SqliteNetworkingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_lobby(self, lobby: LobbyRecord) -> None:
        await self.db.write(*_insert("networking_lobbies", lobby, _LOBBY_COLUMNS))

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None:
        return _lobby(
            await self.db.fetch_one("SELECT * FROM networking_lobbies WHERE id = ?", (lobby_id,))
        )

    async def list_lobbies(
        self, *, duration: int | None, topic: str | None, before: str | None, limit: int
    ) -> list[LobbyRecord]:
        sql, params = "SELECT * FROM networking_lobbies WHERE 1 = 1", []
        if duration is not None:
            sql += " AND duration_minutes = ?"
            params.append(duration)
        if topic is not None:
            sql += " AND topic = ? COLLATE NOCASE"
            params.append(topic)
        if before is not None:
            sql += " AND id < ?"
            params.append(before)
        rows = await self.db.fetch_all(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        return [_lobby(row) for row in rows]  # type: ignore[misc]

    async def lobbies_to_close(self, now: str) -> list[LobbyRecord]:
        rows = await self.db.fetch_all(
            "SELECT * FROM networking_lobbies WHERE closed_at IS NULL AND ends_at IS NOT NULL"
            " AND ends_at <= ?",
            (now,),
        )
        return [_lobby(row) for row in rows]  # type: ignore[misc]

    async def close_lobby(self, lobby_id: str, closed_at: str) -> bool:
        return (
            await self.db.write(
                "UPDATE networking_lobbies SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                (closed_at, lobby_id),
            )
            == 1
        )

    async def create_session(self, session: NetworkingSessionRecord) -> None:
        await self.db.write(*_insert("networking_sessions", session, _SESSION_COLUMNS))

    async def get_session(self, session_id: str) -> NetworkingSessionRecord | None:
        return _session(
            await self.db.fetch_one("SELECT * FROM networking_sessions WHERE id = ?", (session_id,))
        )

    async def end_session(self, session_id: str, reason: str, ended_at: str) -> bool:
        return (
            await self.db.write(
                "UPDATE networking_sessions SET status = 'ended', end_reason = ?, ended_at = ?"
                " WHERE id = ? AND status = 'active'",
                (reason, ended_at, session_id),
            )
            == 1
        )

    async def mark_signaled(self, session_id: str, user_id: str, at: str) -> None:
        for side in ("offerer", "answerer"):
            await self.db.write(
                f"UPDATE networking_sessions SET {side}_signaled_at = ?"
                f" WHERE id = ? AND {side}_id = ? AND {side}_signaled_at IS NULL",
                (at, session_id, user_id),
            )

    async def mark_connected(self, session_id: str, at: str) -> bool:
        return (
            await self.db.write(
                "UPDATE networking_sessions SET connected_at = ?"
                " WHERE id = ? AND connected_at IS NULL",
                (at, session_id),
            )
            == 1
        )

    async def set_conversation(self, session_id: str, conversation_id: str) -> None:
        await self.db.write(
            "UPDATE networking_sessions SET conversation_id = ? WHERE id = ?",
            (conversation_id, session_id),
        )

    async def due_sessions(self, now: str, no_show_before: str) -> list[NetworkingSessionRecord]:
        rows = await self.db.fetch_all(
            "SELECT * FROM networking_sessions WHERE status = 'active' AND (ends_at <= ?"
            " OR (started_at <= ? AND (offerer_signaled_at IS NULL"
            " OR answerer_signaled_at IS NULL)))",
            (now, no_show_before),
        )
        return [_session(row) for row in rows]  # type: ignore[misc]

    async def active_sessions(self, lobby_id: str) -> list[NetworkingSessionRecord]:
        rows = await self.db.fetch_all(
            "SELECT * FROM networking_sessions WHERE status = 'active' AND lobby_id = ?",
            (lobby_id,),
        )
        return [_session(row) for row in rows]  # type: ignore[misc]

    async def add_rating(self, rating: SessionRatingRecord) -> None:
        await self.db.write(
            "INSERT INTO networking_ratings (session_id, rater_id, stars, connect, created_at,"
            " note) VALUES (?, ?, ?, ?, ?, ?)",
            (
                rating.session_id,
                rating.rater_id,
                rating.stars,
                int(rating.connect),
                rating.created_at,
                rating.note,
            ),
        )

    async def ratings(self, session_id: str) -> list[SessionRatingRecord]:
        rows = await self.db.fetch_all(
            "SELECT * FROM networking_ratings WHERE session_id = ? ORDER BY created_at",
            (session_id,),
        )
        return [_rating(row) for row in rows]

    async def usage(self) -> list[dict[str, Any]]:
        rows = await self.db.fetch_all(
            "SELECT l.id AS lobby_id,"
            " (SELECT COUNT(*) FROM networking_sessions s WHERE s.lobby_id = l.id) AS sessions,"
            " (SELECT COUNT(*) FROM networking_sessions s WHERE s.lobby_id = l.id"
            "   AND s.connected_at IS NOT NULL) AS connections,"
            " COUNT(r.session_id) AS ratings, COALESCE(SUM(r.stars), 0) AS stars_total,"
            " COALESCE(SUM(r.connect), 0) AS connect_choices"
            " FROM networking_lobbies l"
            " LEFT JOIN networking_sessions s2 ON s2.lobby_id = l.id"
            " LEFT JOIN networking_ratings r ON r.session_id = s2.id"
            " GROUP BY l.id ORDER BY l.id"
        )
        return [dict(row) for row in rows]
