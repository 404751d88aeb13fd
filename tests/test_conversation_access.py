"""Who may open a conversation about what, and add whom (issue 17): a context
names something the creator is a party to, only participants add participants,
and nobody adds a user who blocked them. Each refusal writes nothing.

Real clients over real sockets and REST on SQLite. (Job and bid contexts:
tests/test_bid_conversation.py; outsiders over REST:
tests/test_conversations_rest.py.)
"""

from __future__ import annotations

from hub.clock import new_id, now_iso
from hub.context import HUB
from storage.records import NetworkingSessionRecord
from users import User, Users
from waits import quiet


async def group_of(owner: User, *others: User) -> str:
    group = await owner.ok(
        "POST",
        "/conversations",
        {"participant_ids": [o.id for o in others], "type": "group"},
        status=201,
    )
    return str(group["id"])


async def participants(user: User, cid: str) -> list[str]:
    return sorted((await user.ok("GET", f"/conversations/{cid}"))["participant_ids"])


async def conversation_count(user: User) -> int:
    return len((await user.ok("GET", "/conversations"))["items"])


async def test_a_non_participant_cannot_add_participants(users: Users) -> None:
    ann, bob, eve, cat = await users("ann", "bob", "eve", "cat")
    cid = await group_of(ann, bob)
    eve_socket = await eve.socket()

    await eve_socket.error(
        "conversation:add_participants", {"conversation_id": cid, "user_ids": [cat.id]}, "forbidden"
    )
    await eve.fails(
        "POST",
        f"/conversations/{cid}/participants",
        {"user_ids": [eve.id, cat.id]},
        status=403,
        code="forbidden",
    )
    assert await participants(ann, cid) == sorted([ann.id, bob.id])
    assert await conversation_count(cat) == 0


async def test_nobody_adds_a_user_who_blocked_them(users: Users) -> None:
    ann, bob, cat, dan = await users("ann", "bob", "cat", "dan")
    cid = await group_of(ann, bob)
    ann_socket, cat_socket = await ann.socket(), await cat.socket()
    await cat.ok("POST", f"/users/{ann.id}/block")

    # One blocker among those named refuses the whole call: dan is not added either.
    await ann_socket.error(
        "conversation:add_participants",
        {"conversation_id": cid, "user_ids": [dan.id, cat.id]},
        "forbidden",
    )
    await ann.fails(
        "POST",
        f"/conversations/{cid}/participants",
        {"user_ids": [cat.id]},
        status=403,
        code="forbidden",
    )
    assert await participants(bob, cid) == sorted([ann.id, bob.id])
    await quiet()
    assert "conversation:created" not in cat_socket.events
    assert await conversation_count(cat) == 0 and await conversation_count(dan) == 0

    # bob was not blocked by cat: he may add cat, and ann's own block is hers to keep.
    await ann.ok("POST", f"/users/{dan.id}/block")
    added = await bob.ok(
        "POST", f"/conversations/{cid}/participants", {"user_ids": [cat.id, dan.id]}
    )
    assert sorted(added["participant_ids"]) == sorted([ann.id, bob.id, cat.id, dan.id])
    # Someone already in the conversation is skipped, not checked.
    again = await ann.ok("POST", f"/conversations/{cid}/participants", {"user_ids": [cat.id]})
    assert sorted(again["participant_ids"]) == sorted(added["participant_ids"])


async def test_nobody_opens_a_group_with_a_user_who_blocked_them(users: Users) -> None:
    ann, bob, cat = await users("ann", "bob", "cat")
    ann_socket = await ann.socket()
    await cat.ok("POST", f"/users/{ann.id}/block")

    await ann_socket.error(
        "conversation:create", {"participant_ids": [bob.id, cat.id]}, "forbidden"
    )
    await ann.fails(
        "POST",
        "/conversations",
        {"participant_ids": [cat.id], "type": "group"},
        status=403,
        code="forbidden",
    )
    assert [await conversation_count(u) for u in (ann, bob, cat)] == [0, 0, 0]

    # The blocker may still open a group with the user they blocked.
    await cat.ok("POST", "/conversations", {"participant_ids": [ann.id, bob.id]}, status=201)
    await cat.ok("DELETE", f"/users/{ann.id}/block", status=204)
    await ann.ok("POST", "/conversations", {"participant_ids": [bob.id, cat.id]}, status=201)


async def test_a_networking_session_context_is_one_of_the_sessions_users(users: Users) -> None:
    admin = await users.admin()
    one, two, eve = await users("one", "two", "eve")
    lobby = await admin.ok(
        "POST",
        "/networking/lobbies",
        {"title": "meet", "topic": "t", "duration_minutes": 2},
        status=201,
    )
    session_id = new_id()
    await users.app[HUB].store.networking.create_session(
        NetworkingSessionRecord(
            id=session_id,
            lobby_id=lobby["id"],
            offerer_id=one.id,
            answerer_id=two.id,
            offerer_conn="c1",
            answerer_conn="c2",
            started_at=now_iso(),
            ends_at="2999-01-01T00:00:00.000Z",
        )
    )
    context = {"type": "networking_session", "id": session_id}
    eve_socket = await eve.socket()

    await eve_socket.error(
        "conversation:create", {"participant_ids": [one.id], "context": context}, "forbidden"
    )
    await eve.fails(
        "POST",
        "/conversations",
        {"participant_ids": [one.id, two.id], "context": context},
        status=403,
        code="forbidden",
    )
    missing = {"type": "networking_session", "id": "no-such-session"}
    await eve_socket.error(
        "conversation:create", {"participant_ids": [one.id], "context": missing}, "not_found"
    )
    await one.fails(
        "POST",
        "/conversations",
        {"participant_ids": [two.id], "context": missing},
        status=404,
        code="not_found",
    )
    assert [await conversation_count(u) for u in (one, two, eve)] == [0, 0, 0]

    # Either of the session's users may.
    made = await two.ok(
        "POST", "/conversations", {"participant_ids": [one.id], "context": context}, status=201
    )
    assert made["context"] == context
