"""MessageStore.react, thread and changed (issue 17): one behaviour, every engine."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from engines import add_users
from storage.interfaces import Store
from test_conversation_store_contract import T2, USERS, new_group, send

MAX = 20


async def test_react_adds_and_removes_and_repeats_change_nothing(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2", "u3")
    message = await send(store, "g1", "u1")

    first = await store.messages.react(message.id, "u2", "👍", add=True, max_distinct=MAX)
    second = await store.messages.react(message.id, "u3", "👍", add=True, max_distinct=MAX)
    third = await store.messages.react(message.id, "u3", "🎉", add=True, max_distinct=MAX)

    assert first is not None and first.changed
    assert second is not None and third is not None
    assert third.message.reactions == [
        {"emoji": "👍", "user_ids": ["u2", "u3"]},
        {"emoji": "🎉", "user_ids": ["u3"]},
    ]
    assert (first.message.rev, second.message.rev, third.message.rev) == (1, 2, 3)
    assert await store.messages.get(message.id) == third.message
    # The latest message is the conversation's snapshot: it follows.
    assert (await store.conversations.get("g1")).last_message == asdict(third.message)  # type: ignore[union-attr]

    again = await store.messages.react(message.id, "u2", "👍", add=True, max_distinct=MAX)
    assert again is not None and not again.changed and again.message == third.message
    absent = await store.messages.react(message.id, "u1", "👍", add=False, max_distinct=MAX)
    assert absent is not None and not absent.changed

    removed = await store.messages.react(message.id, "u3", "🎉", add=False, max_distinct=MAX)
    assert removed is not None and removed.changed
    assert removed.message.reactions == [{"emoji": "👍", "user_ids": ["u2", "u3"]}]
    assert await store.messages.react("missing", "u1", "👍", add=True, max_distinct=MAX) is None
    assert await store.messages.react("missing", "u1", "👍", add=False, max_distinct=MAX) is None


async def test_react_refuses_a_new_emoji_past_the_limit_and_deleted_messages(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    message = await send(store, "g1", "u1")
    for n in range(3):
        await store.messages.react(message.id, "u1", f"e{n}", add=True, max_distinct=3)

    assert await store.messages.react(message.id, "u2", "e3", add=True, max_distinct=3) is None
    joined = await store.messages.react(message.id, "u2", "e0", add=True, max_distinct=3)
    assert joined is not None and joined.message.reactions[0]["user_ids"] == ["u1", "u2"]

    await store.messages.update(message.id, {"deleted": True, "reactions": []})
    assert await store.messages.react(message.id, "u2", "e1", add=True, max_distinct=3) is None
    assert (await store.messages.get(message.id)).reactions == []  # type: ignore[union-attr]


async def test_concurrent_reactions_are_all_kept_and_the_limit_holds(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2", "u3", "u4")
    message = await send(store, "g1", "u1")

    await asyncio.gather(
        *(
            store.messages.react(message.id, user, f"e{n}", add=True, max_distinct=MAX)
            for user in USERS
            for n in range(30)
        )
    )

    stored = await store.messages.get(message.id)
    assert stored is not None
    assert len(stored.reactions) == MAX
    assert all(sorted(r["user_ids"]) == sorted(USERS) for r in stored.reactions)


async def test_thread_replies_count_on_their_root_and_page_in_seq_order(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    root = await send(store, "g1", "u1", "root")
    other = await send(store, "g1", "u2", "not in the thread")
    replies = [
        await send(store, "g1", user, f"r{n}", thread_root_id=root.id, at=at)
        for n, (user, at) in enumerate([("u2", "2024-05-01T12:01:00+00:00"), ("u1", T2)])
    ]

    stored_root = await store.messages.get(root.id)
    assert stored_root is not None
    # last_reply_at is the latest reply's (by seq), whatever the clocks said.
    assert (stored_root.reply_count, stored_root.last_reply_at) == (2, T2)
    assert stored_root.rev > 0  # a reply is a change of its root: sync brings it
    assert await store.messages.thread(root.id, after_seq=0, limit=10) == replies
    assert await store.messages.thread(root.id, after_seq=replies[0].seq, limit=10) == replies[1:]
    assert await store.messages.thread(root.id, after_seq=0, limit=1) == replies[:1]
    assert await store.messages.thread(other.id, after_seq=0, limit=10) == []


async def test_changed_lists_each_changed_message_once_by_its_latest_rev(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    await new_group(store, "g2", "u1", "u2")
    a, b, c = [await send(store, "g1", "u1", text) for text in "abc"]
    elsewhere = await send(store, "g2", "u1")
    await store.messages.update(a.id, {"text": "a!"})
    await store.messages.react(b.id, "u2", "👍", add=True, max_distinct=MAX)
    await store.messages.pin(a.id, "u2", T2, 50)
    await store.messages.react(elsewhere.id, "u2", "👍", add=True, max_distinct=MAX)

    changed = await store.messages.changed("g1", after_rev=0, limit=10)

    assert [(m.id, m.rev) for m in changed] == [(b.id, 2), (a.id, 3)]
    assert changed[1].text == "a!" and changed[1].pinned
    assert [m.id for m in await store.messages.changed("g1", after_rev=2, limit=10)] == [a.id]
    assert await store.messages.changed("g1", after_rev=3, limit=10) == []
    assert [m.id for m in await store.messages.changed("g1", after_rev=0, limit=1)] == [b.id]
    assert (await store.conversations.get("g1")).last_rev == 3  # type: ignore[union-attr]
    assert c.rev == 0
