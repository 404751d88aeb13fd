"""Speed-networking lobbies, sessions and ratings on MongoDB."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from ..errors import DuplicateError
from ..records import LobbyRecord, NetworkingSessionRecord, SessionRatingRecord


def _doc(record: Any) -> dict[str, Any]:
    doc = asdict(record)
    doc["_id"] = doc.pop("id")
    return doc


def _lobby(doc: dict[str, Any] | None) -> LobbyRecord | None:
    if doc is None:
        return None
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return LobbyRecord(**doc)


def _session(doc: dict[str, Any] | None) -> NetworkingSessionRecord | None:
    if doc is None:
        return None
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return NetworkingSessionRecord(**doc)


def _rating(doc: dict[str, Any]) -> SessionRatingRecord:
    return SessionRatingRecord(
        session_id=doc["session_id"],
        rater_id=doc["rater_id"],
        stars=doc["stars"],
        connect=doc["connect"],
        created_at=doc["created_at"],
        note=doc.get("note"),
    )


class MongoNetworkingStore:
    """Lobbies and sessions keyed by ``_id`` = id; ratings by (session, rater)."""

    def __init__(self, lobbies: Any, sessions: Any, ratings: Any) -> None:
        self.lobbies = lobbies
        self.sessions = sessions
        self.rating_docs = ratings

    async def create_indexes(self) -> None:
        await self.lobbies.create_index([("duration_minutes", ASCENDING), ("_id", DESCENDING)])
        await self.sessions.create_index([("lobby_id", ASCENDING), ("status", ASCENDING)])
        await self.sessions.create_index([("status", ASCENDING), ("ends_at", ASCENDING)])
        await self.rating_docs.create_index(
            [("session_id", ASCENDING), ("rater_id", ASCENDING)], unique=True
        )

    async def create_lobby(self, lobby: LobbyRecord) -> None:
        await self.lobbies.insert_one(_doc(lobby))

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None:
        return _lobby(await self.lobbies.find_one({"_id": lobby_id}))

    async def list_lobbies(
        self, *, duration: int | None, topic: str | None, before: str | None, limit: int
    ) -> list[LobbyRecord]:
        query: dict[str, Any] = {}
        if duration is not None:
            query["duration_minutes"] = duration
        if topic is not None:
            query["topic"] = topic
        if before is not None:
            query["_id"] = {"$lt": before}
        cursor = self.lobbies.find(query).sort("_id", DESCENDING).limit(limit)
        return [_lobby(doc) async for doc in cursor]  # type: ignore[misc]

    async def lobbies_to_close(self, now: str) -> list[LobbyRecord]:
        cursor = self.lobbies.find({"closed_at": None, "ends_at": {"$ne": None, "$lte": now}})
        return [_lobby(doc) async for doc in cursor]  # type: ignore[misc]

    async def close_lobby(self, lobby_id: str, closed_at: str) -> bool:
        result = await self.lobbies.update_one(
            {"_id": lobby_id, "closed_at": None}, {"$set": {"closed_at": closed_at}}
        )
        return result.modified_count == 1

    async def create_session(self, session: NetworkingSessionRecord) -> None:
        await self.sessions.insert_one(_doc(session))

    async def get_session(self, session_id: str) -> NetworkingSessionRecord | None:
        return _session(await self.sessions.find_one({"_id": session_id}))

    async def end_session(self, session_id: str, reason: str, ended_at: str) -> bool:
        result = await self.sessions.update_one(
            {"_id": session_id, "status": "active"},
            {"$set": {"status": "ended", "end_reason": reason, "ended_at": ended_at}},
        )
        return result.modified_count == 1

    async def mark_signaled(self, session_id: str, user_id: str, at: str) -> None:
        for side in ("offerer", "answerer"):
            await self.sessions.update_one(
                {"_id": session_id, f"{side}_id": user_id, f"{side}_signaled_at": None},
                {"$set": {f"{side}_signaled_at": at}},
            )

    async def mark_connected(self, session_id: str, at: str) -> bool:
        result = await self.sessions.update_one(
            {"_id": session_id, "connected_at": None}, {"$set": {"connected_at": at}}
        )
        return result.modified_count == 1

    async def set_conversation(self, session_id: str, conversation_id: str) -> None:
        await self.sessions.update_one(
            {"_id": session_id}, {"$set": {"conversation_id": conversation_id}}
        )

    async def due_sessions(self, now: str, no_show_before: str) -> list[NetworkingSessionRecord]:
        cursor = self.sessions.find(
            {
                "status": "active",
                "$or": [
                    {"ends_at": {"$lte": now}},
                    {"started_at": {"$lte": no_show_before}, "offerer_signaled_at": None},
                    {"started_at": {"$lte": no_show_before}, "answerer_signaled_at": None},
                ],
            }
        )
        return [_session(doc) async for doc in cursor]  # type: ignore[misc]

    async def active_sessions(self, lobby_id: str) -> list[NetworkingSessionRecord]:
        cursor = self.sessions.find({"status": "active", "lobby_id": lobby_id})
        return [_session(doc) async for doc in cursor]  # type: ignore[misc]

    async def add_rating(self, rating: SessionRatingRecord) -> None:
        try:
            await self.rating_docs.insert_one(asdict(rating))
        except DuplicateKeyError as exc:
            raise DuplicateError("already rated") from exc

    async def ratings(self, session_id: str) -> list[SessionRatingRecord]:
        cursor = self.rating_docs.find({"session_id": session_id}).sort("created_at", ASCENDING)
        return [_rating(doc) async for doc in cursor]

    async def usage(self) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        async for lobby in self.lobbies.find({}).sort("_id", ASCENDING):
            rows[lobby["_id"]] = {
                "lobby_id": lobby["_id"],
                "sessions": 0,
                "connections": 0,
                "ratings": 0,
                "stars_total": 0,
                "connect_choices": 0,
            }
        lobby_of: dict[str, str] = {}
        async for session in self.sessions.find({}):
            row = rows.get(session["lobby_id"])
            if row is None:
                continue
            lobby_of[session["_id"]] = session["lobby_id"]
            row["sessions"] += 1
            row["connections"] += session.get("connected_at") is not None
        async for rating in self.rating_docs.find({}):
            lobby_id = lobby_of.get(rating["session_id"])
            if lobby_id is None:
                continue
            row = rows[lobby_id]
            row["ratings"] += 1
            row["stars_total"] += rating["stars"]
            row["connect_choices"] += bool(rating["connect"])
        return list(rows.values())
