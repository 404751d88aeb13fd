"""Pins made before ``pinned_at`` existed (issue 17): after the upgrade each
takes its conversation's last activity, so the pinned conversations list first
in the order they listed in before, and unpinned ones stay undated.

The data is written as the previous version left it: raw rows in a database at
the schema before the migration (SQLite), raw documents without the field
(MongoDB, the mongomock double).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mongo_double import AsyncMongomockDatabase
from storage.mongo import MongoStore
from storage.sqlite import SqliteStore
from storage.sqlite.migrations import MIGRATIONS

T0 = "2024-05-01T10:00:00+00:00"
T1 = "2024-05-01T11:00:00+00:00"
T2 = "2024-05-01T12:00:00+00:00"

# (conversation id, last activity, pinned by u1)
LEGACY = [("c-old-pin", T0, True), ("c-new-pin", T1, True), ("c-latest", T2, False)]


async def check_pins_dated(store: SqliteStore | MongoStore) -> None:
    rows = await store.conversations.list_for_user("u1", archived=None, before=None, limit=10)
    assert [(c.id, m.pinned, m.pinned_at) for c, m in rows] == [
        ("c-new-pin", True, T1),
        ("c-old-pin", True, T0),
        ("c-latest", False, None),
    ]


def _pinned_at_migration() -> int:
    return next(i for i, script in enumerate(MIGRATIONS) if "pinned_at" in script)


def _legacy_sqlite(path: Path) -> None:
    version = _pinned_at_migration()
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        for statement in (part.strip() for part in script.split(";\n")):
            if statement:
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version={version}")
    conn.execute(
        "INSERT INTO users (id, email, password_hash, display_name, role, created_at,"
        " updated_at) VALUES ('u1', 'u1@example.com', 'h', 'u1', 'client', ?, ?)",
        (T0, T0),
    )
    for conversation_id, at, pinned in LEGACY:
        conn.execute(
            "INSERT INTO conversations (id, type, created_by, created_at, last_activity_at)"
            " VALUES (?, 'group', 'u1', ?, ?)",
            (conversation_id, T0, at),
        )
        conn.execute(
            "INSERT INTO memberships (conversation_id, user_id, joined_at, pinned)"
            " VALUES (?, 'u1', ?, ?)",
            (conversation_id, T0, int(pinned)),
        )
    conn.commit()
    conn.close()


async def test_sqlite_upgrade_dates_old_pins(tmp_path: Path) -> None:
    _legacy_sqlite(tmp_path / "hub.db")
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    try:
        await check_pins_dated(store)
    finally:
        await store.close()


async def test_mongo_start_dates_old_pins() -> None:
    database = AsyncMongomockDatabase("hub_pins_upgrade")
    store = MongoStore(database)
    await store.open()
    for conversation_id, at, pinned in LEGACY:
        await database["conversations"].insert_one(
            {
                "_id": conversation_id,
                "type": "group",
                "created_by": "u1",
                "created_at": T0,
                "last_activity_at": at,
                "last_seq": 0,
                "members_version": 0,
            }
        )
        await database["memberships"].insert_one(
            {
                "conversation_id": conversation_id,
                "user_id": "u1",
                "joined_at": T0,
                "read_seq": 0,
                "pinned": pinned,
                "archived": False,
                "muted": False,
            }
        )

    await store.conversations.date_old_pins()  # what opening the store does
    await check_pins_dated(store)
    await store.conversations.date_old_pins()  # a later start changes nothing
    await check_pins_dated(store)
    await store.close()
