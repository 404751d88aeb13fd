"""Speed-networking lobbies, sessions and ratings on SQLite."""

from __future__ import annotations

from typing import Any

from ..records import LobbyRecord, NetworkingSessionRecord, SessionRatingRecord
from .database import Database
from .ops import fetch_record, fetch_records, insert, newest_first, set_once


class SqliteNetworkingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_lobby(self, lobby: LobbyRecord) -> None:
        await insert(self.db, "networking_lobbies", lobby)

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None:
        return await fetch_record(
            self.db, LobbyRecord, "SELECT * FROM networking_lobbies WHERE id = ?", (lobby_id,)
        )

    async def list_lobbies(
        self, *, duration: int | None, topic: str | None, before: str | None, limit: int
    ) -> list[LobbyRecord]:
        where: list[str] = []
        params: list[Any] = []
        if duration is not None:
            where.append("duration_minutes = ?")
            params.append(duration)
        if topic is not None:
            where.append("topic = ? COLLATE NOCASE")
            params.append(topic)
        return await newest_first(
            self.db, LobbyRecord, "networking_lobbies", where, params, before=before, limit=limit
        )

    async def lobbies_to_close(self, now: str) -> list[LobbyRecord]:
        return await fetch_records(
            self.db,
            LobbyRecord,
            "SELECT * FROM networking_lobbies WHERE closed_at IS NULL AND ends_at IS NOT NULL"
            " AND ends_at <= ?",
            (now,),
        )

    async def close_lobby(self, lobby_id: str, closed_at: str) -> bool:
        return await set_once(
            self.db, "networking_lobbies", ("id", lobby_id), "closed_at", closed_at
        )

    async def create_session(self, session: NetworkingSessionRecord) -> None:
        await insert(self.db, "networking_sessions", session)

    async def get_session(self, session_id: str) -> NetworkingSessionRecord | None:
        return await fetch_record(
            self.db,
            NetworkingSessionRecord,
            "SELECT * FROM networking_sessions WHERE id = ?",
            (session_id,),
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
        return await set_once(
            self.db, "networking_sessions", ("id", session_id), "connected_at", at
        )

    async def set_conversation(self, session_id: str, conversation_id: str) -> None:
        await self.db.write(
            "UPDATE networking_sessions SET conversation_id = ? WHERE id = ?",
            (conversation_id, session_id),
        )

    async def due_sessions(self, now: str, no_show_before: str) -> list[NetworkingSessionRecord]:
        return await fetch_records(
            self.db,
            NetworkingSessionRecord,
            "SELECT * FROM networking_sessions WHERE status = 'active' AND (ends_at <= ?"
            " OR (started_at <= ? AND (offerer_signaled_at IS NULL"
            " OR answerer_signaled_at IS NULL)))",
            (now, no_show_before),
        )

    async def active_sessions(self, lobby_id: str) -> list[NetworkingSessionRecord]:
        return await fetch_records(
            self.db,
            NetworkingSessionRecord,
            "SELECT * FROM networking_sessions WHERE status = 'active' AND lobby_id = ?",
            (lobby_id,),
        )

    async def add_rating(self, rating: SessionRatingRecord) -> None:
        await insert(self.db, "networking_ratings", rating)

    async def ratings(self, session_id: str) -> list[SessionRatingRecord]:
        return await fetch_records(
            self.db,
            SessionRatingRecord,
            "SELECT * FROM networking_ratings WHERE session_id = ? ORDER BY created_at",
            (session_id,),
        )

    async def connected_peers(self, user_id: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        marks = ", ".join("?" * len(user_ids))
        rows = await self.db.fetch_all(
            "SELECT answerer_id FROM networking_sessions WHERE connected_at IS NOT NULL"
            f" AND offerer_id = ? AND answerer_id IN ({marks})"
            " UNION SELECT offerer_id FROM networking_sessions WHERE connected_at IS NOT NULL"
            f" AND answerer_id = ? AND offerer_id IN ({marks})",
            (user_id, *user_ids, user_id, *user_ids),
        )
        return {row[0] for row in rows}

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
