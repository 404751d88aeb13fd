"""Message pins (issue 17): one behaviour, every engine.

Each test runs on SQLite and on MongoDB (the mongomock double unless
HUB_TEST_MONGODB_URL is set).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace

from engines import add_users
from storage.interfaces import Store
from storage.records import MessageChange, MessageRecord
from test_conversation_store_contract import T2, T3, USERS, new_group, send

LIMIT = 50


async def test_pin_marks_the_message_and_pinning_again_changes_nothing(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    older = await send(store, "g1", "u1", "older")
    latest = await send(store, "g1", "u2", "latest")

    change = await store.messages.pin(older.id, "u2", T2, LIMIT)

    pinned = replace(older, pinned=True, pinned_at=T2, pinned_by="u2", rev=1)
    assert change == MessageChange(pinned, changed=True)
    assert await store.messages.get(older.id) == pinned
    again = await store.messages.pin(older.id, "u1", T3, LIMIT)
    assert again == MessageChange(pinned, changed=False)  # the first pin's date and author stay
    # Only the latest message is the conversation's snapshot.
    assert (await store.conversations.get("g1")).last_message == asdict(latest)  # type: ignore[union-attr]
    latest_change = await store.messages.pin(latest.id, "u1", T3, LIMIT)
    assert latest_change is not None
    assert (await store.conversations.get("g1")).last_message == asdict(latest_change.message)  # type: ignore[union-attr]


async def test_unpin_clears_the_pin_and_is_idempotent(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    message = await send(store, "g1", "u1")
    await store.messages.pin(message.id, "u1", T2, LIMIT)

    unpinned = replace(message, rev=2)  # the pin was the conversation's change 1
    assert await store.messages.unpin(message.id) == MessageChange(unpinned, changed=True)
    assert await store.messages.get(message.id) == unpinned
    assert await store.messages.unpin(message.id) == MessageChange(unpinned, changed=False)
    assert await store.messages.unpin("missing") is None
    assert await store.messages.pin("missing", "u1", T2, LIMIT) is None


async def test_a_deleted_message_is_not_pinned(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    message = await send(store, "g1", "u1")
    await store.messages.update(message.id, {"text": "", "deleted": True, "edited_at": T2})

    assert await store.messages.pin(message.id, "u1", T3, LIMIT) is None
    stored = await store.messages.get(message.id)
    assert stored is not None and stored.pinned is False
    assert await store.messages.pinned("g1", LIMIT) == []


async def test_pinned_lists_most_recently_pinned_first_per_conversation(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    await new_group(store, "g2", "u1", "u2")
    a, b, c = [await send(store, "g1", "u1", text) for text in "abc"]
    elsewhere = await send(store, "g2", "u1")
    await store.messages.pin(b.id, "u1", "2024-05-01T12:00:01+00:00", LIMIT)
    await store.messages.pin(a.id, "u2", "2024-05-01T12:00:02+00:00", LIMIT)
    await store.messages.pin(c.id, "u1", "2024-05-01T12:00:02+00:00", LIMIT)  # a tie: seq decides
    await store.messages.pin(elsewhere.id, "u1", T3, LIMIT)

    assert [m.id for m in await store.messages.pinned("g1", LIMIT)] == [c.id, a.id, b.id]
    assert [m.id for m in await store.messages.pinned("g1", 2)] == [c.id, a.id]
    await store.messages.unpin(a.id)
    listed = await store.messages.pinned("g1", LIMIT)
    assert [m.id for m in listed] == [c.id, b.id]
    assert all(isinstance(m, MessageRecord) and m.pinned for m in listed)
    assert [m.id for m in await store.messages.pinned("g2", LIMIT)] == [elsewhere.id]


async def test_the_limit_is_per_conversation_and_an_unpin_makes_room(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    await new_group(store, "g2", "u1", "u2")
    messages = [await send(store, "g1", "u1", f"n{i}") for i in range(4)]
    other = await send(store, "g2", "u1")

    for message in messages[:3]:
        assert await store.messages.pin(message.id, "u1", T2, 3) is not None
    assert await store.messages.pin(messages[3].id, "u1", T2, 3) is None
    assert (await store.messages.get(messages[3].id)).pinned is False  # type: ignore[union-attr]
    assert await store.messages.pin(other.id, "u1", T2, 3) is not None  # another conversation
    # At the limit, a pinned message pins again (unchanged) and an unpin makes room.
    assert await store.messages.pin(messages[0].id, "u1", T3, 3) is not None
    await store.messages.unpin(messages[0].id)
    change = await store.messages.pin(messages[3].id, "u1", T3, 3)
    assert change is not None and change.changed
    assert len(await store.messages.pinned("g1", LIMIT)) == 3


async def test_concurrent_pins_never_pass_the_limit(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    messages = [await send(store, "g1", USERS[i % 2], f"n{i}") for i in range(LIMIT + 10)]

    results = await asyncio.gather(*(store.messages.pin(m.id, "u1", T2, LIMIT) for m in messages))

    assert sum(r is not None for r in results) == LIMIT
    assert len(await store.messages.pinned("g1", LIMIT + 10)) == LIMIT
