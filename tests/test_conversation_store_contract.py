"""Conversations, messages and idempotency keys: one behaviour, every engine.

Each test runs on SQLite and on MongoDB (the mongomock double unless
HUB_TEST_MONGODB_URL is set). The Mongo search tests run the engine's ``$text``
query either way; on the double, ``$text`` is an emulation of a version-3 text
index (tests/mongo_double.py says how close), so the server's own tokenizer
and scores are checked only against a real server.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace

import pytest

from engines import add_users
from storage.interfaces import Store
from storage.records import (
    BlockRecord,
    ConversationRecord,
    ListPosition,
    MembershipRecord,
    MessageRecord,
)

T0 = "2024-05-01T10:00:00+00:00"
T1 = "2024-05-01T11:00:00+00:00"
T2 = "2024-05-01T12:00:00+00:00"
T3 = "2024-05-01T13:00:00+00:00"

USERS = ["u1", "u2", "u3", "u4"]


def direct(conv_id: str, a: str, b: str, at: str = T0) -> ConversationRecord:
    return ConversationRecord(
        id=conv_id,
        type="direct",
        created_by=a,
        created_at=at,
        last_activity_at=at,
        direct_key=":".join(sorted([a, b])),
    )


def group(conv_id: str, by: str = "u1", at: str = T0, **extra: object) -> ConversationRecord:
    return ConversationRecord(
        id=conv_id,
        type="group",
        created_by=by,
        created_at=at,
        last_activity_at=at,
        **extra,  # type: ignore[arg-type]
    )


def members(conv_id: str, *user_ids: str, at: str = T0) -> list[MembershipRecord]:
    return [
        MembershipRecord(conversation_id=conv_id, user_id=uid, joined_at=at) for uid in user_ids
    ]


async def new_group(store: Store, conv_id: str, *user_ids: str, at: str = T0) -> ConversationRecord:
    record, created = await store.conversations.create(
        group(conv_id, by=user_ids[0], at=at), members(conv_id, *user_ids, at=at)
    )
    assert created
    return record


_counter = 0


def message(
    conv_id: str,
    sender: str,
    text: str = "hi",
    client_msg_id: str | None = None,
    at: str = T1,
    **extra: object,
) -> MessageRecord:
    global _counter
    _counter += 1
    return MessageRecord(
        id=f"m{_counter}",
        conversation_id=conv_id,
        sender_id=sender,
        client_msg_id=client_msg_id or f"c{_counter}",
        text=text,
        created_at=at,
        **extra,  # type: ignore[arg-type]
    )


async def send(
    store: Store, conv_id: str, sender: str, text: str = "hi", **extra: object
) -> MessageRecord:
    result = await store.messages.append(message(conv_id, sender, text, **extra))  # type: ignore[arg-type]
    assert result is not None and result.created
    return result.message


# Conversations


async def test_create_direct_twice_returns_the_existing_one_untouched(store: Store) -> None:
    await add_users(store, *USERS)
    first = direct("c1", "u1", "u2")
    record, created = await store.conversations.create(first, members("c1", "u1", "u2"))
    assert (record, created) == (first, True)
    await store.conversations.update_membership("c1", "u1", {"pinned": True, "read_seq": 2})

    again, created = await store.conversations.create(
        direct("c2", "u2", "u1", at=T1), members("c2", "u2", "u1", at=T1)
    )

    assert (again, created) == (first, False)
    assert await store.conversations.get("c2") is None
    assert await store.conversations.member_ids("c1") == ["u1", "u2"]
    assert await store.conversations.membership("c2", "u1") is None
    kept = await store.conversations.membership("c1", "u1")
    assert kept is not None and (kept.pinned, kept.read_seq, kept.joined_at) == (True, 2, T0)
    assert [m.conversation_id for m in await store.conversations.memberships_of("u2")] == ["c1"]


async def test_create_group_round_trips_every_field(store: Store) -> None:
    await add_users(store, *USERS)
    record = group("g1", title="Launch", context={"kind": "job", "id": "j7"})

    created = await store.conversations.create(record, members("g1", "u1", "u2", "u3"))

    assert created == (record, True)
    assert await store.conversations.get("g1") == record
    # Several groups (direct_key None) do not collide on the direct_key index.
    assert (await store.conversations.create(group("g2"), members("g2", "u1")))[1] is True
    assert (await store.conversations.create(group("g3"), members("g3", "u2")))[1] is True
    assert await store.conversations.member_ids("g1") == ["u1", "u2", "u3"]


async def test_create_with_a_taken_context_key_returns_its_holder_untouched(store: Store) -> None:
    await add_users(store, *USERS)
    about_bid = group("g1", title="Bid", context={"type": "bid", "id": "b1"}, context_key="bid:b1")
    assert await store.conversations.create(about_bid, members("g1", "u1", "u3")) == (
        about_bid,
        True,
    )

    again, created = await store.conversations.create(
        group("g2", by="u2", at=T1, context={"type": "bid", "id": "b1"}, context_key="bid:b1"),
        members("g2", "u2", "u1", at=T1),
    )

    assert (again, created) == (about_bid, False)
    assert await store.conversations.get("g2") is None
    assert await store.conversations.member_ids("g1") == ["u1", "u3"]
    assert [m.conversation_id for m in await store.conversations.memberships_of("u2")] == []
    # Other keys, and no key, are other conversations.
    assert (
        await store.conversations.create(
            group("g3", context_key="bid:b2"), members("g3", "u1", "u2")
        )
    )[1] is True
    with pytest.raises(ValueError):
        await store.conversations.update("g1", {"context_key": "bid:b9"})


async def test_create_with_both_keys_taken_returns_the_context_key_holder(store: Store) -> None:
    await add_users(store, *USERS)
    await store.conversations.create(direct("d1", "u1", "u2"), members("d1", "u1", "u2"))
    about_bid = group("g1", context_key="bid:b1")
    await store.conversations.create(about_bid, members("g1", "u1", "u2"))

    record, created = await store.conversations.create(
        replace(direct("d2", "u2", "u1", at=T1), context_key="bid:b1"),
        members("d2", "u2", "u1", at=T1),
    )

    assert (record, created) == (about_bid, False)
    assert await store.conversations.get("d2") is None


async def test_concurrent_creates_with_one_context_key_make_one_conversation(store: Store) -> None:
    await add_users(store, *USERS)
    attempts = [
        (group(f"g{i}", by="u1", context_key="bid:b1"), members(f"g{i}", "u1", "u2"))
        for i in range(20)
    ]
    # A direct one of the pair races for the same key too.
    attempts.append(
        (replace(direct("d1", "u2", "u1"), context_key="bid:b1"), members("d1", "u2", "u1"))
    )

    results = await asyncio.gather(*(store.conversations.create(c, m) for c, m in attempts))

    assert sum(created for _, created in results) == 1
    assert len({record.id for record, _ in results}) == 1
    winner = results[0][0].id
    for user_id in ("u1", "u2"):
        assert [m.conversation_id for m in await store.conversations.memberships_of(user_id)] == [
            winner
        ]


async def test_get_and_update(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")

    updated = await store.conversations.update("g1", {"title": "Renamed", "last_activity_at": T2})

    assert updated is not None and (updated.title, updated.last_activity_at) == ("Renamed", T2)
    assert await store.conversations.get("g1") == updated
    assert await store.conversations.get("missing") is None
    assert await store.conversations.update("missing", {"title": "x"}) is None
    with pytest.raises(ValueError):
        await store.conversations.update("g1", {"last_seq": 9})
    with pytest.raises(ValueError):
        await store.conversations.update("g1", {"nonsense": 1})


async def test_member_ids_in_join_order(store: Store) -> None:
    await add_users(store, *USERS)
    await store.conversations.create(
        group("g1", by="u3"),
        [
            MembershipRecord("g1", "u3", T1),
            MembershipRecord("g1", "u1", T2),
            MembershipRecord("g1", "u2", T1),
        ],
    )

    assert await store.conversations.member_ids("g1") == ["u2", "u3", "u1"]
    assert await store.conversations.member_ids("missing") == []


async def test_members_are_the_memberships_in_join_order_with_read_markers(store: Store) -> None:
    await add_users(store, *USERS)
    await store.conversations.create(
        group("g1", by="u3"),
        [
            MembershipRecord("g1", "u3", T1),
            MembershipRecord("g1", "u1", T2),
            MembershipRecord("g1", "u2", T1),
        ],
    )
    await store.conversations.advance_read("g1", "u1", 4)
    await store.conversations.advance_read("g1", "u2", 2)
    await store.conversations.update_membership("g1", "u3", {"muted": True})

    assert await store.conversations.members("g1") == [
        MembershipRecord("g1", "u2", T1, read_seq=2),
        MembershipRecord("g1", "u3", T1, muted=True),
        MembershipRecord("g1", "u1", T2, read_seq=4),
    ]
    assert [
        m.user_id for m in await store.conversations.members("g1")
    ] == await store.conversations.member_ids("g1")
    await store.conversations.remove_member("g1", "u3")
    assert [m.user_id for m in await store.conversations.members("g1")] == ["u2", "u1"]
    assert await store.conversations.members("missing") == []


async def test_membership_and_update_membership(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")

    assert await store.conversations.membership("g1", "u1") == MembershipRecord("g1", "u1", T0)
    changed = await store.conversations.update_membership(
        "g1", "u1", {"pinned": True, "archived": True, "muted": True}
    )

    assert changed == MembershipRecord("g1", "u1", T0, pinned=True, archived=True, muted=True)
    assert await store.conversations.membership("g1", "u1") == changed
    assert await store.conversations.membership("g1", "u2") == MembershipRecord("g1", "u2", T0)
    assert await store.conversations.membership("g1", "u3") is None
    assert await store.conversations.update_membership("g1", "u3", {"pinned": True}) is None
    with pytest.raises(ValueError):
        await store.conversations.update_membership("g1", "u1", {"user_id": "u3"})


async def test_get_for_member_reads_conversation_and_membership_together(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    conversation, membership = await store.conversations.get_for_member("g1", "u2")
    assert conversation is not None and conversation.id == "g1"
    assert membership is not None and (membership.user_id, membership.read_seq) == ("u2", 0)
    outsider_view = await store.conversations.get_for_member("g1", "u3")
    assert outsider_view[0] is not None and outsider_view[0].id == "g1"
    assert outsider_view[1] is None
    assert await store.conversations.get_for_member("nope", "u1") == (None, None)


async def test_add_members_leaves_existing_members_as_they_are(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    await store.conversations.advance_read("g1", "u1", 3)

    added = await store.conversations.add_members(
        [MembershipRecord("g1", "u1", T2), MembershipRecord("g1", "u3", T2)]
    )

    assert added == ["u3"]
    assert await store.conversations.member_ids("g1") == ["u1", "u2", "u3"]
    assert await store.conversations.membership("g1", "u1") == MembershipRecord(
        "g1", "u1", T0, read_seq=3
    )
    assert await store.conversations.membership("g1", "u3") == MembershipRecord("g1", "u3", T2)


async def test_concurrent_adds_of_one_user_add_them_once(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")

    results = await asyncio.gather(
        *(store.conversations.add_members(members("g1", "u3", "u4")) for _ in range(10))
    )

    assert sorted(uid for added in results for uid in added) == ["u3", "u4"]
    assert await store.conversations.member_ids("g1") == ["u1", "u2", "u3", "u4"]


async def test_remove_member(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")

    assert await store.conversations.remove_member("g1", "u2") is True
    assert await store.conversations.remove_member("g1", "u2") is False
    assert await store.conversations.member_ids("g1") == ["u1"]
    assert await store.conversations.membership("g1", "u2") is None


async def test_members_version_moves_with_every_join_and_leave(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    versions = [(await store.messages.append(message("g1", "u1"))).members_version]  # type: ignore[union-attr]
    await store.conversations.add_members(members("g1", "u3"))
    versions.append((await store.messages.append(message("g1", "u1"))).members_version)  # type: ignore[union-attr]
    await store.conversations.add_members(members("g1", "u3"))  # already in: no change
    versions.append((await store.messages.append(message("g1", "u1"))).members_version)  # type: ignore[union-attr]
    await store.conversations.remove_member("g1", "u2")
    versions.append((await store.messages.append(message("g1", "u1"))).members_version)  # type: ignore[union-attr]

    assert versions[0] != versions[1] == versions[2] != versions[3] != versions[0]


async def test_append_refuses_outsiders_unknown_conversations_and_blocked_pairs(
    store: Store,
) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    await store.conversations.create(direct("d1", "u1", "u3"), members("d1", "u1", "u3"))
    await store.blocks.add(BlockRecord(blocker_id="u3", blocked_id="u1", created_at=T0))

    assert await store.messages.append(message("g1", "u3")) is None  # not a participant
    assert await store.messages.append(message("nope", "u1")) is None
    assert await store.messages.append(message("d1", "u1")) is None  # blocked by the other
    assert await store.messages.append(message("d1", "u3")) is None  # blocks the other
    await store.blocks.add(BlockRecord(blocker_id="u2", blocked_id="u1", created_at=T0))
    assert (await send(store, "g1", "u1")).seq == 1  # blocks do not apply to groups
    await store.conversations.remove_member("g1", "u1")
    assert await store.messages.append(message("g1", "u1")) is None  # removed
    assert (await store.conversations.get("g1")).last_seq == 1  # type: ignore[union-attr]
    assert await store.blocks.remove("u3", "u1")
    assert (await send(store, "d1", "u1")).seq == 1


async def test_advance_read_only_moves_forward_and_returns_the_marker(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")

    assert await store.conversations.advance_read("g1", "u1", 5) == 5
    assert await store.conversations.advance_read("g1", "u1", 3) == 5
    assert await store.conversations.advance_read("g1", "u1", 5) == 5
    assert await store.conversations.advance_read("g1", "u1", 7) == 7
    assert (await store.conversations.membership("g1", "u1")).read_seq == 7  # type: ignore[union-attr]
    assert (await store.conversations.membership("g1", "u2")).read_seq == 0  # type: ignore[union-attr]
    assert await store.conversations.advance_read("g1", "u3", 4) == 0
    assert await store.conversations.membership("g1", "u3") is None


async def test_advance_delivered_only_moves_forward_and_returns_the_marker(
    store: Store,
) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")

    assert await store.conversations.advance_delivered("g1", "u2", 4) == 4
    assert await store.conversations.advance_delivered("g1", "u2", 2) == 4
    assert await store.conversations.advance_delivered("g1", "u2", 4) == 4
    assert await store.conversations.advance_delivered("g1", "u2", 6) == 6
    u2 = await store.conversations.membership("g1", "u2")
    assert u2 is not None and (u2.delivered_seq, u2.read_seq) == (6, 0)
    u1 = await store.conversations.membership("g1", "u1")
    assert u1 is not None and u1.delivered_seq == 0
    assert await store.conversations.advance_delivered("g1", "u3", 4) == 0
    assert await store.conversations.membership("g1", "u3") is None
    assert [m.delivered_seq for m in await store.conversations.members("g1")] == [0, 6]


async def test_rewind_read_only_moves_back_and_keeps_what_was_read_delivered(
    store: Store,
) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    await store.conversations.advance_delivered("g1", "u2", 3)
    await store.conversations.advance_read("g1", "u2", 7)

    assert await store.conversations.rewind_read("g1", "u2", 4) == 4
    u2 = await store.conversations.membership("g1", "u2")
    assert u2 is not None and (u2.read_seq, u2.delivered_seq) == (4, 7)
    assert await store.conversations.rewind_read("g1", "u2", 6) == 4  # never forward
    assert await store.conversations.rewind_read("g1", "u2", 4) == 4
    assert await store.conversations.rewind_read("g1", "u2", 0) == 0
    u2 = await store.conversations.membership("g1", "u2")
    assert u2 is not None and (u2.read_seq, u2.delivered_seq) == (0, 7)
    # A delivered marker above the read marker stays where it is.
    await store.conversations.advance_delivered("g1", "u2", 9)
    await store.conversations.advance_read("g1", "u2", 5)
    assert await store.conversations.rewind_read("g1", "u2", 2) == 2
    u2 = await store.conversations.membership("g1", "u2")
    assert u2 is not None and (u2.read_seq, u2.delivered_seq) == (2, 9)
    assert await store.conversations.advance_read("g1", "u2", 3) == 3
    u1 = await store.conversations.membership("g1", "u1")
    assert u1 is not None and (u1.read_seq, u1.delivered_seq) == (0, 0)
    assert await store.conversations.rewind_read("g1", "u3", 0) == 0


async def test_concurrent_rewinds_and_reads_leave_one_consistent_marker(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    await store.conversations.advance_read("g1", "u2", 10)

    results = await asyncio.gather(
        *(store.conversations.rewind_read("g1", "u2", seq) for seq in (8, 3, 6, 1)),
        store.conversations.advance_read("g1", "u2", 12),
    )
    u2 = await store.conversations.membership("g1", "u2")
    assert u2 is not None and u2.read_seq in {1, 12} | set(results)
    assert u2.delivered_seq >= 10


async def test_list_for_user_latest_activity_first_with_archived_filter(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "old", "u1", "u2", at=T0)
    await new_group(store, "new", "u1", "u3", at=T2)
    await new_group(store, "mid", "u2", "u1", at=T1)
    await new_group(store, "other", "u2", "u3", at=T3)
    await store.conversations.update_membership("mid", "u1", {"archived": True})

    rows = await store.conversations.list_for_user("u1", archived=None, before=None, limit=10)

    assert [c.id for c, _ in rows] == ["new", "mid", "old"]
    for conversation, membership in rows:
        assert conversation == await store.conversations.get(conversation.id)
        assert membership == await store.conversations.membership(conversation.id, "u1")
    archived = await store.conversations.list_for_user("u1", archived=True, before=None, limit=10)
    assert [c.id for c, _ in archived] == ["mid"]
    assert archived[0][1].archived is True
    active = await store.conversations.list_for_user("u1", archived=False, before=None, limit=10)
    assert [c.id for c, _ in active] == ["new", "old"]
    limited = await store.conversations.list_for_user("u1", archived=None, before=None, limit=2)
    assert [c.id for c, _ in limited] == ["new", "mid"]
    assert await store.conversations.list_for_user("u4", archived=None, before=None, limit=10) == []


async def test_list_for_user_pages_through_ties_on_last_activity(store: Store) -> None:
    await add_users(store, *USERS)
    for conv_id, at in [("c1", T1), ("c2", T1), ("c3", T1), ("c4", T2), ("c5", T0)]:
        await new_group(store, conv_id, "u1", at=at)

    pages, before = [], None
    while True:
        rows = await store.conversations.list_for_user("u1", archived=None, before=before, limit=2)
        if not rows:
            break
        pages.append([c.id for c, _ in rows])
        before = ListPosition.of(*rows[-1])

    assert pages == [["c4", "c3"], ["c2", "c1"], ["c5"]]


async def pin(store: Store, conv_id: str, user_id: str, at: str | None) -> None:
    await store.conversations.update_membership(
        conv_id, user_id, {"pinned": at is not None, "pinned_at": at}
    )


async def pages_of(store: Store, user_id: str, limit: int, **filters: bool) -> list[list[str]]:
    """Every page of the user's list, each as ids, following the positions."""
    pages: list[list[str]] = []
    before: ListPosition | None = None
    while True:
        rows = await store.conversations.list_for_user(
            user_id, archived=filters.get("archived"), before=before, limit=limit
        )
        if not rows:
            return pages
        pages.append([c.id for c, _ in rows])
        before = ListPosition.of(*rows[-1])


async def test_list_for_user_pinned_first_most_recently_pinned_first(store: Store) -> None:
    await add_users(store, *USERS)
    for conv_id, at in [("a", T0), ("b", T1), ("c", T2), ("d", T3), ("e", T1)]:
        await new_group(store, conv_id, "u1", "u2", at=at)
    await pin(store, "a", "u1", T2)  # pinned last: first
    await pin(store, "c", "u1", T1)
    await pin(store, "e", "u1", T1)  # pinned together with c: by activity, then id
    await pin(store, "d", "u2", T3)  # someone else's pin changes nothing for u1

    rows = await store.conversations.list_for_user("u1", archived=None, before=None, limit=10)

    assert [c.id for c, _ in rows] == ["a", "c", "e", "d", "b"]
    assert [m.pinned_at for _, m in rows] == [T2, T1, T1, None, None]
    assert [
        c.id
        for c, _ in await store.conversations.list_for_user(
            "u2", archived=None, before=None, limit=10
        )
    ] == ["d", "c", "e", "b", "a"]
    # Unpinned, a conversation goes back to its place by activity.
    await pin(store, "a", "u1", None)
    assert (await store.conversations.membership("a", "u1")).pinned_at is None  # type: ignore[union-attr]
    assert await pages_of(store, "u1", 10) == [["c", "e", "d", "b", "a"]]


async def test_list_for_user_pages_across_the_pinned_and_unpinned(store: Store) -> None:
    await add_users(store, *USERS)
    activity = [("a", T0), ("b", T1), ("c", T2), ("d", T3), ("e", T1), ("f", T1), ("g", T0)]
    for conv_id, at in activity:
        await new_group(store, conv_id, "u1", "u2", at=at)
    for conv_id, at in [("b", T1), ("g", T3), ("f", T1)]:
        await pin(store, conv_id, "u1", at)
    await store.conversations.update_membership("f", "u1", {"archived": True})
    await store.conversations.update_membership("c", "u1", {"archived": True})
    order = ["g", "f", "b", "d", "c", "e", "a"]

    for limit in (1, 2, 3, 7, 8):
        pages = await pages_of(store, "u1", limit)
        assert [i for page in pages for i in page] == order, limit
        assert all(len(page) == limit for page in pages[:-1])
    assert await pages_of(store, "u1", 2, archived=False) == [["g", "b"], ["d", "e"], ["a"]]
    assert await pages_of(store, "u1", 1, archived=True) == [["f"], ["c"]]
    # A position among the pinned of a conversation unpinned since still pages on.
    gone = ListPosition(T2, T0, "zz")
    rows = await store.conversations.list_for_user("u1", archived=None, before=gone, limit=10)
    assert [c.id for c, _ in rows] == ["f", "b", "d", "c", "e", "a"]


async def test_memberships_of(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    await new_group(store, "g2", "u2", "u3")

    found = await store.conversations.memberships_of("u2")

    assert sorted(m.conversation_id for m in found) == ["g1", "g2"]
    assert all(isinstance(m, MembershipRecord) and m.user_id == "u2" for m in found)
    assert await store.conversations.memberships_of("u4") == []


# Messages: append


async def test_append_numbers_gaplessly_and_moves_conversation_and_sender_marker(
    store: Store,
) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    times = [T1, T2, T3]

    sent = []
    for i, at in enumerate(times):
        sender = "u1" if i % 2 == 0 else "u2"
        result = await store.messages.append(
            message("g1", sender, f"text {i}", at=at, attachments=[{"name": "a.png", "size": 3}])
        )
        assert result is not None and result.created
        stored = result.message
        sent.append(stored)
        assert await store.messages.get(stored.id) == stored
        conversation = await store.conversations.get("g1")
        assert conversation is not None
        assert conversation.last_seq == stored.seq
        assert conversation.last_activity_at == at
        assert conversation.last_message == asdict(stored)
        assert (await store.conversations.membership("g1", sender)).read_seq == stored.seq  # type: ignore[union-attr]

    assert [m.seq for m in sent] == [1, 2, 3]
    assert (await store.conversations.membership("g1", "u1")).read_seq == 3  # type: ignore[union-attr]
    assert (await store.conversations.membership("g1", "u2")).read_seq == 2  # type: ignore[union-attr]
    assert await store.messages.get("missing") is None


async def test_append_unarchives_for_those_who_archived_and_did_not_mute(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2", "u3", "u4")
    await new_group(store, "g2", "u1", "u2")
    flags = {"u1": {"archived": True}, "u2": {"archived": True}, "u3": {"muted": True}}
    flags["u4"] = {"archived": True, "muted": True}
    for user_id, changes in flags.items():
        await store.conversations.update_membership("g1", user_id, changes)
    await store.conversations.update_membership("g2", "u2", {"archived": True})

    async def archived(conv_id: str) -> dict[str, bool]:
        return {m.user_id: m.archived for m in await store.conversations.members(conv_id)}

    first = await send(store, "g1", "u1", client_msg_id="once")

    # The sender too: writing in a conversation brings it back.
    assert await archived("g1") == {"u1": False, "u2": False, "u3": False, "u4": True}
    assert await archived("g2") == {"u1": False, "u2": True}  # another conversation
    # A resend is no new message; nor is a refused one.
    await store.conversations.update_membership("g1", "u2", {"archived": True})
    again = await store.messages.append(message("g1", "u1", client_msg_id="once"))
    assert again is not None and (again.created, again.message.id) == (False, first.id)
    await store.conversations.remove_member("g2", "u1")
    assert await store.messages.append(message("g2", "u1")) is None
    assert await archived("g1") == {"u1": False, "u2": True, "u3": False, "u4": True}
    assert await archived("g2") == {"u2": True}
    # Muted and archived stays archived until unmuted; then the next message counts.
    await store.conversations.update_membership("g1", "u4", {"muted": False})
    await send(store, "g1", "u3")
    assert await archived("g1") == {"u1": False, "u2": False, "u3": False, "u4": False}
    u4 = await store.conversations.membership("g1", "u4")
    assert u4 is not None and (u4.muted, u4.read_seq) == (False, 0)


async def test_seq_is_per_conversation(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1")
    await new_group(store, "g2", "u1")

    seqs = [(await send(store, conv, "u1")).seq for conv in ["g1", "g2", "g1", "g2", "g2"]]

    assert seqs == [1, 1, 2, 2, 3]


async def test_resend_returns_the_original_and_consumes_no_seq(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    original = await send(store, "g1", "u1", "first", client_msg_id="dup")

    again = await store.messages.append(
        message("g1", "u1", "changed text", client_msg_id="dup", at=T2)
    )

    assert again is not None and (again.message, again.created) == (original, False)
    conversation = await store.conversations.get("g1")
    assert conversation is not None and conversation.last_seq == 1
    assert conversation.last_activity_at == T1
    assert (await store.messages.range("g1")) == [original]
    # The same client_msg_id from another sender is a different message.
    other = await send(store, "g1", "u2", "mine", client_msg_id="dup")
    assert other.seq == 2
    following = await send(store, "g1", "u1", "next")
    assert following.seq == 3


async def test_fifty_concurrent_appends_get_seq_1_to_50(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2", "u3")
    records = [message("g1", USERS[i % 3], f"n{i}") for i in range(50)]

    results = await asyncio.gather(*(store.messages.append(r) for r in records))

    assert all(r is not None and r.created for r in results)
    assert sorted(r.message.seq for r in results) == list(range(1, 51))  # type: ignore[union-attr]
    stored = await store.messages.range("g1", limit=100)
    assert [m.seq for m in stored] == list(range(1, 51))
    conversation = await store.conversations.get("g1")
    assert conversation is not None and conversation.last_seq == 50
    assert conversation.last_message is not None and conversation.last_message["seq"] == 50


async def test_concurrent_resends_store_one_message(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    records = [message("g1", "u1", f"try {i}", client_msg_id="same") for i in range(5)]

    results = await asyncio.gather(*(store.messages.append(r) for r in records))

    assert sum(r.created for r in results) == 1  # type: ignore[union-attr]
    assert len({r.message.id for r in results}) == 1  # type: ignore[union-attr]
    assert [r.message.seq for r in results] == [1] * 5  # type: ignore[union-attr]
    assert (await store.conversations.get("g1")).last_seq == 1  # type: ignore[union-attr]
    assert (await send(store, "g1", "u2")).seq == 2


# Messages: update, range, unread


async def test_update_edits_and_refreshes_last_message_only_for_the_latest(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    older = await send(store, "g1", "u1", "older")
    latest = await send(store, "g1", "u2", "latest")

    edited_older = await store.messages.update(older.id, {"text": "older!", "edited_at": T2})

    # Each change takes the conversation's next rev.
    assert edited_older == replace(older, text="older!", edited_at=T2, rev=1)
    assert await store.messages.get(older.id) == edited_older
    assert (await store.conversations.get("g1")).last_message == asdict(latest)  # type: ignore[union-attr]

    edited = await store.messages.update(latest.id, {"text": "latest!", "edited_at": T2})
    assert edited == replace(latest, text="latest!", edited_at=T2, rev=2)
    assert (await store.conversations.get("g1")).last_message == asdict(edited)  # type: ignore[union-attr]

    deleted = await store.messages.update(
        latest.id, {"text": "", "attachments": [], "deleted": True, "edited_at": T3}
    )
    assert deleted is not None and deleted.deleted is True and deleted.text == ""
    assert deleted.rev == 3 and (await store.conversations.get("g1")).last_rev == 3  # type: ignore[union-attr]
    last = (await store.conversations.get("g1")).last_message  # type: ignore[union-attr]
    assert last == asdict(deleted) and last["deleted"] is True
    assert (await store.conversations.get("g1")).last_seq == 2  # type: ignore[union-attr]

    assert await store.messages.update("missing", {"text": "x"}) is None
    with pytest.raises(ValueError):
        await store.messages.update(latest.id, {"seq": 9})


async def test_range(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    await new_group(store, "g2", "u1")
    for i in range(10):
        await send(store, "g1", "u1", f"m{i}")
    await send(store, "g2", "u1", "elsewhere")

    async def seqs(**kwargs: object) -> list[int]:
        found = await store.messages.range("g1", **kwargs)  # type: ignore[arg-type]
        assert all(m.conversation_id == "g1" for m in found)
        return [m.seq for m in found]

    assert await seqs() == list(range(1, 11))
    assert await seqs(limit=3) == [8, 9, 10]
    assert await seqs(after_seq=3, limit=3) == [4, 5, 6]
    assert await seqs(after_seq=8) == [9, 10]
    assert await seqs(after_seq=10) == []
    assert await seqs(before_seq=5, limit=3) == [2, 3, 4]
    assert await seqs(before_seq=3) == [1, 2]
    assert await seqs(before_seq=1) == []
    assert await seqs(after_seq=2, before_seq=6) == [3, 4, 5]
    assert await seqs(after_seq=2, before_seq=6, limit=2) == [3, 4]
    assert await seqs(after_seq=0, limit=2) == [1, 2]
    assert await store.messages.range("missing") == []


async def test_count_unread_excludes_own_and_deleted_messages(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2", "u3")
    await send(store, "g1", "u1")  # 1
    from_u2 = await send(store, "g1", "u2")  # 2
    await send(store, "g1", "u1")  # 3
    await send(store, "g1", "u3")  # 4
    await send(store, "g1", "u2")  # 5
    await store.messages.update(from_u2.id, {"deleted": True, "text": ""})

    assert await store.messages.count_unread("g1", "u1", 0) == 2  # 4, 5
    assert await store.messages.count_unread("g1", "u1", 4) == 1  # 5
    assert await store.messages.count_unread("g1", "u1", 5) == 0
    assert await store.messages.count_unread("g1", "u2", 0) == 3  # 1, 3, 4
    assert await store.messages.count_unread("g1", "u4", 0) == 4  # all but the deleted one
    assert await store.messages.count_unread("missing", "u1", 0) == 0


async def test_mentions_are_stored_and_unread_ones_counted(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2", "u3")
    both = await send(store, "g1", "u1", mentions=["u2", "u3"])  # 1
    await send(store, "g1", "u1")  # 2
    gone = await send(store, "g1", "u3", mentions=["u2"])  # 3
    await send(store, "g1", "u3", mentions=["u2"])  # 4
    own = await send(store, "g1", "u2", mentions=["u2"])  # 5: from u2, never counted for u2
    await store.messages.update(gone.id, {"deleted": True, "text": ""})

    assert (await store.messages.get(both.id)).mentions == ["u2", "u3"]  # type: ignore[union-attr]
    assert [m.mentions for m in await store.messages.range("g1")] == [
        ["u2", "u3"],
        [],
        ["u2"],
        ["u2"],
        ["u2"],
    ]
    conversation = await store.conversations.get("g1")
    assert conversation is not None and conversation.last_message is not None
    assert conversation.last_message["mentions"] == own.mentions == ["u2"]
    assert await store.messages.count_unread_mentions("g1", "u2", 0) == 2  # 1, 4
    assert await store.messages.count_unread_mentions("g1", "u2", 1) == 1  # 4
    assert await store.messages.count_unread_mentions("g1", "u2", 4) == 0
    assert await store.messages.count_unread_mentions("g1", "u3", 0) == 1  # 1
    assert await store.messages.count_unread_mentions("g1", "u1", 0) == 0
    assert await store.messages.count_unread_mentions("missing", "u2", 0) == 0


# Messages: search


async def test_search_only_in_own_conversations_and_not_deleted(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "a", "u1", "u2")
    await new_group(store, "b", "u2", "u3")
    await new_group(store, "c", "u1", "u3")
    hello_a = await send(store, "a", "u2", "Hello world from Ada")
    twice = await send(store, "a", "u1", "say hello, twice: HELLO")
    await send(store, "a", "u1", "hellothere is one word")
    gone = await send(store, "a", "u1", "hello again")
    await store.messages.update(gone.id, {"deleted": True})
    await send(store, "b", "u2", "hello from b")
    hello_c = await send(store, "c", "u3", "hello in c")
    await send(store, "c", "u3", "nothing to see")

    hits = await store.messages.search("u1", "hello", conversation_id=None, offset=0, limit=10)

    assert sorted(m.id for m, _ in hits) == sorted([hello_a.id, twice.id, hello_c.id])
    highlights = {m.id: h for m, h in hits}
    assert highlights[hello_a.id] == "<mark>Hello</mark> world from Ada"
    assert highlights[twice.id] == "say <mark>hello</mark>, twice: <mark>HELLO</mark>"
    for found, _ in hits:
        assert found == await store.messages.get(found.id)

    in_c = await store.messages.search("u1", "HELLO", conversation_id="c", offset=0, limit=10)
    assert [m.id for m, _ in in_c] == [hello_c.id]
    assert await store.messages.search("u1", "hello", conversation_id="b", offset=0, limit=10) == []
    assert (
        await store.messages.search("u4", "hello", conversation_id=None, offset=0, limit=10) == []
    )


async def test_search_finds_an_edited_message_by_its_new_text_only(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "a", "u1", "u2")
    early = await send(store, "a", "u1", "draft pineapple")  # edited before any search
    await store.messages.update(early.id, {"text": "final mango"})
    late = await send(store, "a", "u1", "draft kiwi")
    assert [m.id for m, _ in await _search(store, "kiwi")] == [late.id]  # now indexed
    await store.messages.update(late.id, {"text": "final papaya"})

    assert await _search(store, "pineapple") == []
    assert await _search(store, "kiwi") == []
    assert [m.id for m, _ in await _search(store, "mango")] == [early.id]
    assert [m.id for m, _ in await _search(store, "papaya")] == [late.id]
    assert sorted(m.id for m, _ in await _search(store, "final")) == sorted([early.id, late.id])


async def _search(store: Store, query: str) -> list[tuple[MessageRecord, str]]:
    return await store.messages.search("u1", query, conversation_id=None, offset=0, limit=10)


async def test_search_needs_every_word_and_ignores_query_syntax(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "a", "u1", "u2")
    invoice = await send(store, "a", "u1", "The invoice is ready for review")
    await send(store, "a", "u2", "Is the report ready?")

    both = await store.messages.search(
        "u1", "ready invoice", conversation_id=None, offset=0, limit=10
    )
    assert [m.id for m, _ in both] == [invoice.id]
    assert "<mark>invoice</mark>" in both[0][1] and "<mark>ready</mark>" in both[0][1]
    none = await store.messages.search(
        "u1", "invoice report", conversation_id=None, offset=0, limit=10
    )
    assert none == []
    syntax = await store.messages.search(
        "u1", 'invoice" OR (NEAR* ^', conversation_id=None, offset=0, limit=10
    )
    assert [m.id for m, _ in syntax] == []  # every word, including OR/NEAR, must occur
    assert (
        await store.messages.search("u1", "  ?! ", conversation_id=None, offset=0, limit=10) == []
    )


async def test_search_highlight_of_long_text_is_an_excerpt(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "a", "u1")
    text = "lorem " * 60 + "needle " + "ipsum " * 60
    await send(store, "a", "u1", text.strip())

    [(_, highlight)] = await store.messages.search(
        "u1", "needle", conversation_id=None, offset=0, limit=10
    )

    assert "<mark>needle</mark>" in highlight
    assert highlight.startswith("…") and highlight.endswith("…")
    assert len(highlight) < len(text) // 2


async def test_search_pages_by_offset(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "a", "u1", "u2")
    sent = [await send(store, "a", "u1", f"status update number {i}") for i in range(5)]

    pages = [
        await store.messages.search("u1", "update", conversation_id=None, offset=offset, limit=2)
        for offset in (0, 2, 4, 6)
    ]

    assert [len(page) for page in pages] == [2, 2, 1, 0]
    ids = [m.id for page in pages for m, _ in page]
    assert sorted(ids) == sorted(m.id for m in sent)
    everything = await store.messages.search(
        "u1", "update", conversation_id=None, offset=0, limit=10
    )
    assert [m.id for m, _ in everything] == ids
