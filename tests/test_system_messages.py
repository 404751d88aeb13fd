"""System messages (issue 17): participant and title changes and calls leave a
message in the conversation, with real clients over real sockets.

Each is ``message:new`` in ``seq`` order with the texts, ``sender_id`` null and
``actor_id`` the user whose action caused it, a ``card`` saying what happened,
and counts as unread for everyone but that user.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engines import ON_BOTH_ENGINES
from hub.clock import parse_iso
from recorder import Recorder
from users import User, Users
from waits import quiet

SIGNALING = "/signaling"
RING_TIMEOUT_S = 0.5

pytestmark = [ON_BOTH_ENGINES, pytest.mark.hub_settings(call_ring_timeout_s=RING_TIMEOUT_S)]


def send(cid: str, client_msg_id: str, text: str) -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text}


async def unread(user: User, cid: str) -> int:
    counts = await user.ok("GET", "/messages/unread-count")
    return int(counts["conversations"].get(cid, 0))


async def test_participant_and_title_changes_are_system_messages_in_seq_order(
    users: Users,
) -> None:
    ann, bob, cat = await users("ann", "bob", "cat")
    ann1, bob1, cat1 = await ann.socket(), await bob.socket(), await cat.socket()
    group = await ann1.ok("conversation:create", {"participant_ids": [bob.id], "type": "group"})
    cid = group["id"]

    hello = await ann1.ok("message:send", send(cid, "m1", "hello"))
    await ann1.ok("conversation:add_participants", {"conversation_id": cid, "user_ids": [cat.id]})
    await ann.ok("PATCH", f"/conversations/{cid}", {"title": "Launch"})
    await cat1.ok("message:send", send(cid, "m2", "hi all"))
    await ann1.ok("conversation:remove_participant", {"conversation_id": cid, "user_id": cat.id})

    heard = await bob1.wait_for("message:new", 5)
    assert [m["seq"] for m in heard] == [1, 2, 3, 4, 5]
    assert [(m["kind"], m["text"]) for m in heard] == [
        ("text", "hello"),
        ("system", "ann added cat"),
        ("system", "ann changed the title to “Launch”"),
        ("text", "hi all"),
        ("system", "ann removed cat"),
    ]
    added, titled, removed = heard[1], heard[2], heard[4]
    assert added["card"] == {
        "type": "participants",
        "ref": None,
        "state": "added",
        "user_ids": [cat.id],
    }
    assert titled["card"] == {"type": "title", "ref": None, "state": "changed", "title": "Launch"}
    assert removed["card"] == {**added["card"], "state": "removed"}
    for system in (added, titled, removed):
        assert (system["sender_id"], system["actor_id"]) == (None, ann.id)
    assert (heard[0]["sender_id"], heard[0]["actor_id"], heard[0]["card"]) == (ann.id, None, None)
    # The actor's own socket hears them too (its ack was the conversation, not them).
    assert await ann1.wait_for("message:new", 4) == [added, titled, heard[3], removed]
    # cat heard from the join until the removal, not the removal itself (nor
    # her own message: its ack was hers).
    assert [m["seq"] for m in await cat1.wait_for("message:new", 2)] == [2, 3]
    history = await bob.ok("GET", f"/conversations/{cid}/messages")
    assert history["items"] == [hello, *heard[1:]]

    # Unread for everyone but the actor, whose read marker stays where her
    # own text left it: she has not necessarily read cat's message.
    assert await unread(bob, cid) == 5
    assert await unread(ann, cid) == 1  # cat's message
    conversation = await ann.ok("GET", f"/conversations/{cid}")
    assert conversation["read_seq"] == 1 and conversation["last_message"] == removed

    # bob leaves: he is its actor, and no longer there to hear it.
    await bob1.ok("conversation:remove_participant", {"conversation_id": cid, "user_id": bob.id})
    (left,) = (await ann1.wait_for("message:new", 5))[4:]
    assert (left["seq"], left["text"], left["actor_id"]) == (6, "bob left", bob.id)
    assert left["card"] == {**added["card"], "state": "left", "user_ids": [bob.id]}
    assert await unread(ann, cid) == 2
    await quiet()
    assert len(bob1.events["message:new"]) == 5
    assert len(cat1.events["message:new"]) == 2


async def test_a_system_message_cannot_be_edited_or_deleted_by_its_actor(users: Users) -> None:
    ann, bob, cat = await users("ann", "bob", "cat")
    ann1 = await ann.socket()
    group = await ann1.ok("conversation:create", {"participant_ids": [bob.id], "type": "group"})
    await ann1.ok(
        "conversation:add_participants", {"conversation_id": group["id"], "user_ids": [cat.id]}
    )
    (added,) = await ann1.wait_for("message:new")

    await ann.fails(
        "PATCH", f"/messages/{added['id']}", {"text": "ann is great"}, status=403, code="forbidden"
    )
    await ann.fails("DELETE", f"/messages/{added['id']}", status=403, code="forbidden")
    assert (await ann.ok("GET", f"/conversations/{group['id']}/messages"))["items"] == [added]


async def test_adding_someone_already_there_or_an_unchanged_title_writes_nothing(
    users: Users,
) -> None:
    ann, bob = await users("ann", "bob")
    bob1 = await bob.socket()
    cid = (
        await ann.ok(
            "POST",
            "/conversations",
            {"participant_ids": [bob.id], "type": "group", "title": "Launch"},
            status=201,
        )
    )["id"]

    await ann.ok("POST", f"/conversations/{cid}/participants", {"user_ids": [bob.id]})
    await ann.ok("PATCH", f"/conversations/{cid}", {"title": "Launch", "muted": True})

    await quiet()
    assert bob1.events["message:new"] == []
    assert (await ann.ok("GET", f"/conversations/{cid}"))["last_seq"] == 0


# Calls


async def calling(users: Users) -> tuple[User, User, Recorder, Recorder, Recorder, Recorder, str]:
    """ann and bob in a direct conversation: a /signaling and a /conversations socket each."""
    ann, bob = await users("ann", "bob")
    cid = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    ann_sig, bob_sig = await ann.socket(SIGNALING), await bob.socket(SIGNALING)
    ann_chat, bob_chat = await ann.socket(), await bob.socket()
    return ann, bob, ann_sig, bob_sig, ann_chat, bob_chat, cid


async def test_a_call_nobody_answers_leaves_a_missed_call_message(users: Users) -> None:
    ann, bob, ann_sig, bob_sig, ann_chat, bob_chat, cid = await calling(users)
    await ann_chat.ok("message:send", send(cid, "m1", "can we talk?"))

    call = await ann_sig.ok("call:invite", {"conversation_id": cid, "media": "video"})
    await bob_sig.wait_for("call:incoming")
    await bob_sig.wait_for("call:missed", timeout=RING_TIMEOUT_S + 5)

    missed = (await bob_chat.wait_for("message:new", 2))[1]
    assert (missed["seq"], missed["kind"], missed["text"]) == (2, "system", "Missed video call")
    assert (missed["sender_id"], missed["actor_id"]) == (None, ann.id)
    assert missed["card"] == {
        "type": "call",
        "ref": {"type": "call", "id": call["id"]},
        "state": "missed",
    }
    assert await ann_chat.wait_for("message:new") == [missed]
    # Unread for the callee who missed it, not for the caller.
    assert (await unread(bob, cid), await unread(ann, cid)) == (2, 0)


async def test_a_call_the_caller_cancels_is_missed_and_a_declined_one_leaves_nothing(
    users: Users,
) -> None:
    ann, _, ann_sig, bob_sig, _, bob_chat, cid = await calling(users)

    call = await ann_sig.ok("call:invite", {"conversation_id": cid, "media": "audio"})
    await bob_sig.wait_for("call:incoming")
    await ann_sig.ok("call:cancel", {"call_id": call["id"]})
    (missed,) = await bob_chat.wait_for("message:new")
    assert (missed["text"], missed["card"]["state"], missed["actor_id"]) == (
        "Missed audio call",
        "missed",
        ann.id,
    )

    declined = await ann_sig.ok("call:invite", {"conversation_id": cid, "media": "audio"})
    await bob_sig.wait_for("call:incoming", 2)
    await bob_sig.ok("call:decline", {"call_id": declined["id"]})
    await ann_sig.wait_for("call:declined")
    await asyncio.sleep(RING_TIMEOUT_S + 0.2)  # nor does its ring timer write one later
    await quiet()
    assert bob_chat.events["message:new"] == [missed]
    assert (await ann.ok("GET", f"/conversations/{cid}"))["last_seq"] == 1


async def test_an_answered_call_leaves_an_ended_message_with_its_duration(users: Users) -> None:
    ann, bob, ann_sig, bob_sig, ann_chat, bob_chat, cid = await calling(users)

    call = await ann_sig.ok("call:invite", {"conversation_id": cid, "media": "video"})
    await bob_sig.wait_for("call:incoming")
    await bob_sig.ok("call:accept", {"call_id": call["id"]})
    await ann_sig.wait_for("call:accepted")
    await asyncio.sleep(1.2)
    ended = await bob_sig.ok("call:end", {"call_id": call["id"]})

    (message,) = await ann_chat.wait_for("message:new")
    duration = round(
        (parse_iso(ended["ended_at"]) - parse_iso(ended["answered_at"])).total_seconds()
    )
    assert duration >= 1
    assert message["card"] == {
        "type": "call",
        "ref": {"type": "call", "id": call["id"]},
        "state": "ended",
        "duration_s": duration,
    }
    assert message["text"] == f"Video call ended · 0:{duration:02d}"
    assert (message["seq"], message["sender_id"], message["actor_id"]) == (1, None, bob.id)
    assert await bob_chat.wait_for("message:new") == [message]
    # bob hung up: unread for ann only. The ring timer, long gone, adds nothing.
    await asyncio.sleep(RING_TIMEOUT_S)
    assert (await unread(ann, cid), await unread(bob, cid)) == (1, 0)
    assert (await ann.ok("GET", f"/conversations/{cid}"))["last_seq"] == 1
