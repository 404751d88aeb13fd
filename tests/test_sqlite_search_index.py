"""SQLite indexes search just behind the appends (storage/sqlite/search_index.py):
within a second without anyone searching, at once for a search, and after a
crash that left messages unindexed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engines import add_users
from storage.records import ConversationRecord, MembershipRecord, MessageRecord
from storage.sqlite import SqliteStore
from waits import eventually

T0 = "2024-05-01T10:00:00+00:00"


async def open_store(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.open()
    return store


async def with_conversation(store: SqliteStore) -> None:
    await add_users(store, "u1", "u2")
    group = ConversationRecord(
        id="c", type="group", created_by="u1", created_at=T0, last_activity_at=T0
    )
    joined = [MembershipRecord(conversation_id="c", user_id=u, joined_at=T0) for u in ("u1", "u2")]
    await store.conversations.create(group, joined)


async def append(store: SqliteStore, number: int, text: str) -> None:
    record = MessageRecord(
        id=f"m{number}",
        conversation_id="c",
        sender_id="u1",
        client_msg_id=f"k{number}",
        text=text,
        created_at=T0,
    )
    assert await store.messages.append(record) is not None


async def indexed(store: SqliteStore, word: str) -> int:
    """Rows the FTS index itself holds for ``word`` (no catch-up first)."""
    row = await store.db.fetch_one(
        "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?", (f'"{word}"',)
    )
    assert row is not None
    return int(row[0])


async def test_appends_are_indexed_within_a_second_without_a_search(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "hub.db")
    try:
        await with_conversation(store)
        await asyncio.gather(*(append(store, n, f"walrus number {n}") for n in range(50)))

        await eventually(lambda: indexed(store, "walrus"), lambda count: count == 50, timeout=1.0)
    finally:
        await store.close()


async def test_a_search_sees_every_append_before_the_indexer_runs(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "hub.db")
    try:
        await with_conversation(store)
        await append(store, 1, "narwhal")

        hits = await store.messages.search("u1", "narwhal", conversation_id=None, offset=0, limit=5)
        assert [m.id for m, _ in hits] == ["m1"]
    finally:
        await store.close()


async def test_messages_left_unindexed_by_a_crash_are_indexed_on_open(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "hub.db")
    await with_conversation(store)
    await store.search_indexer.stop()  # as if the process died before indexing
    await append(store, 1, "axolotl one")
    await append(store, 2, "axolotl two")
    await store.db.close()
    assert await indexed_on_disk(tmp_path / "hub.db", "axolotl") == 0

    reopened = await open_store(tmp_path / "hub.db")
    try:
        assert await indexed(reopened, "axolotl") == 2
    finally:
        await reopened.close()


async def indexed_on_disk(path: Path, word: str) -> int:
    store = SqliteStore(path)
    await store.db.open()  # the database only: no catch-up
    try:
        return await indexed(store, word)
    finally:
        await store.db.close()
