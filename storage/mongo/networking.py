"""Speed-networking lobbies, sessions and ratings on MongoDB."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from ..records import LobbyRecord, NetworkingSessionRecord, SessionRatingRecord
from .codec import Document, from_doc, to_doc
from .ops import insert, newest_first, set_once


class MongoNetworkingStore:
    """Lobbies and sessions keyed by ``_id`` = id; ratings by (session, rater)."""

    def __init__(
        self,
        lobbies: AsyncCollection[Document],
        sessions: AsyncCollection[Document],
        ratings: AsyncCollection[Document],
    ) -> None:
        self.lobbies = lobbies
        self.sessions = sessions
        self.rating_docs = ratings

    async def create_indexes(self) -> None:
        await self.lobbies.create_index([("duration_minutes", ASCENDING), ("_id", DESCENDING)])
        await self.sessions.create_index([("lobby_id", ASCENDING), ("status", ASCENDING)])
        await self.sessions.create_index([("status", ASCENDING), ("ends_at", ASCENDING)])
        await self.sessions.create_index([("offerer_id", ASCENDING), ("answerer_id", ASCENDING)])
        await self.sessions.create_index([("answerer_id", ASCENDING), ("offerer_id", ASCENDING)])
        await self.rating_docs.create_index(
            [("session_id", ASCENDING), ("rater_id", ASCENDING)], unique=True
        )

    async def create_lobby(self, lobby: LobbyRecord) -> None:
        await insert(self.lobbies, to_doc(lobby))

    async def get_lobby(self, lobby_id: str) -> LobbyRecord | None:
        return from_doc(LobbyRecord, await self.lobbies.find_one({"_id": lobby_id}))

    async def list_lobbies(
        self, *, duration: int | None, topic: str | None, before: str | None, limit: int
    ) -> list[LobbyRecord]:
        query: dict[str, Any] = {}
        if duration is not None:
            query["duration_minutes"] = duration
        if topic is not None:
            query["topic"] = topic
        return await newest_first(self.lobbies, LobbyRecord, query, before=before, limit=limit)

    async def lobbies_to_close(self, now: str) -> list[LobbyRecord]:
        cursor = self.lobbies.find({"closed_at": None, "ends_at": {"$ne": None, "$lte": now}})
        return [from_doc(LobbyRecord, doc) async for doc in cursor]

    async def close_lobby(self, lobby_id: str, closed_at: str) -> bool:
        return await set_once(self.lobbies, lobby_id, "closed_at", closed_at)

    async def create_session(self, session: NetworkingSessionRecord) -> None:
        await insert(self.sessions, to_doc(session))

    async def get_session(self, session_id: str) -> NetworkingSessionRecord | None:
        return from_doc(NetworkingSessionRecord, await self.sessions.find_one({"_id": session_id}))

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
        return await set_once(self.sessions, session_id, "connected_at", at)

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
        return [from_doc(NetworkingSessionRecord, doc) async for doc in cursor]

    async def active_sessions(self, lobby_id: str) -> list[NetworkingSessionRecord]:
        cursor = self.sessions.find({"status": "active", "lobby_id": lobby_id})
        return [from_doc(NetworkingSessionRecord, doc) async for doc in cursor]

    async def add_rating(self, rating: SessionRatingRecord) -> None:
        await insert(self.rating_docs, to_doc(rating))

    async def ratings(self, session_id: str) -> list[SessionRatingRecord]:
        cursor = self.rating_docs.find({"session_id": session_id}).sort("created_at", ASCENDING)
        return [from_doc(SessionRatingRecord, doc) async for doc in cursor]

    async def connected_peers(self, user_id: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        others = list(user_ids)
        cursor = self.sessions.find(
            {
                "connected_at": {"$type": "string"},
                "$or": [
                    {"offerer_id": user_id, "answerer_id": {"$in": others}},
                    {"answerer_id": user_id, "offerer_id": {"$in": others}},
                ],
            }
        )
        return {
            doc["answerer_id"] if doc["offerer_id"] == user_id else doc["offerer_id"]
            async for doc in cursor
        }

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
