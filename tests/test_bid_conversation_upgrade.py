"""Conversations about a bid stored before ``context_key`` existed, when a bid
could get two (one opened while shortlisting, one on accept): after the upgrade
each bid keeps exactly one, the conversation the bid names, else the oldest.

The data is written as the previous version left it: raw rows in a database at
the schema before the context_key migration (SQLite), raw documents without the
field (MongoDB, the mongomock double).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from mongo_double import AsyncMongomockDatabase
from storage.mongo import MongoStore
from storage.records import ConversationRecord, MembershipRecord
from storage.sqlite import SqliteStore
from storage.sqlite.migrations import MIGRATIONS

T0 = "2024-05-01T10:00:00+00:00"
T1 = "2024-05-01T11:00:00+00:00"

# (id, bid id, created_at); bid b1 names c-named, bid b2 names none.
LEGACY = [
    ("c-old", "b1", T0),
    ("c-named", "b1", T1),
    ("c-b2-old", "b2", T0),
    ("c-b2-new", "b2", T1),
]
NAMED = {"b1": "c-named", "b2": None}


async def check_one_per_bid(store: SqliteStore | MongoStore) -> None:
    records = [await store.conversations.get(conversation_id) for conversation_id, _, _ in LEGACY]
    keys = {record.id: record.context_key for record in records if record is not None}
    assert keys == {"c-old": None, "c-named": "bid:b1", "c-b2-old": "bid:b2", "c-b2-new": None}
    # A new conversation about b1 is the one it already has.
    record, created = await store.conversations.create(
        ConversationRecord(
            id="c-new",
            type="group",
            created_by="u1",
            created_at=T1,
            last_activity_at=T1,
            context={"type": "bid", "id": "b1"},
            context_key="bid:b1",
        ),
        [MembershipRecord("c-new", "u1", T1)],
    )
    assert (record.id, created) == ("c-named", False)


def _context_key_migration() -> int:
    return next(i for i, script in enumerate(MIGRATIONS) if "conversations_context_key" in script)


def _bid_context(bid_id: str) -> str:
    return orjson.dumps({"type": "bid", "id": bid_id}).decode()


def _legacy_sqlite(path: Path) -> None:
    """A database at the schema just before the context_key migration."""
    version = _context_key_migration()
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        for statement in (part.strip() for part in script.split(";\n")):
            if statement:
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version={version}")
    for user_id in ("u1", "u2"):
        conn.execute(
            "INSERT INTO users (id, email, password_hash, display_name, role, created_at,"
            " updated_at) VALUES (?, ?, 'h', ?, 'client', ?, ?)",
            (user_id, f"{user_id}@example.com", user_id, T0, T0),
        )
    conn.execute(
        "INSERT INTO jobs (id, owner_id, title, description, budget_min, budget_max,"
        " currency, type, status, created_at, updated_at) VALUES"
        " ('j1', 'u1', 'Job', 'D', 1, 2, 'USD', 'fixed', 'in_progress', ?, ?)",
        (T0, T0),
    )
    for bid_id, named in NAMED.items():
        conn.execute(
            "INSERT INTO bids (id, job_id, owner_id, freelancer_id, amount, currency,"
            " period_days, proposal, status, created_at, updated_at, conversation_id)"
            " VALUES (?, 'j1', 'u1', 'u2', 1, 'USD', 1, 'P', 'accepted', ?, ?, ?)",
            (bid_id, T0, T0, named),
        )
    for conversation_id, bid_id, at in LEGACY:
        conn.execute(
            "INSERT INTO conversations (id, type, context, created_by, created_at,"
            " last_activity_at) VALUES (?, 'group', ?, 'u1', ?, ?)",
            (conversation_id, _bid_context(bid_id), at, at),
        )
    conn.commit()
    conn.close()


async def test_sqlite_upgrade_keeps_one_conversation_per_bid(tmp_path: Path) -> None:
    _legacy_sqlite(tmp_path / "hub.db")
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    try:
        await check_one_per_bid(store)
    finally:
        await store.close()


def _legacy_document(conversation_id: str, bid_id: str, at: str) -> dict[str, Any]:
    return {
        "_id": conversation_id,
        "type": "group",
        "created_by": "u1",
        "created_at": at,
        "last_activity_at": at,
        "title": None,
        "context": {"type": "bid", "id": bid_id},
        "direct_key": None,
        "last_seq": 0,
        "last_message": None,
        "members_version": 0,
    }


async def test_mongo_start_keeps_one_conversation_per_bid() -> None:
    database = AsyncMongomockDatabase("hub_upgrade")
    store = MongoStore(database)
    await store.open()
    for bid_id, named in NAMED.items():
        await database["bids"].insert_one({"_id": bid_id, "conversation_id": named})
    for conversation_id, bid_id, at in LEGACY:
        await database["conversations"].insert_one(_legacy_document(conversation_id, bid_id, at))

    # What opening the store does before creating the context_key index. The
    # double cannot reopen here: it checks a new partial unique index against
    # the documents the index leaves out (these groups' null keys).
    await store.conversations.key_bid_conversations()
    await check_one_per_bid(store)
    await store.conversations.key_bid_conversations()  # a later start
    await check_one_per_bid(store)
    await store.close()
