"""Reactions (issue 17): ``reaction:add``/``reaction:remove``, ``message:reaction``
and the REST twins, with real clients over real sockets, on each storage engine."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from engines import ON_BOTH_ENGINES
from recorder import Recorder
from users import User, Users
from waits import quiet

pytestmark = ON_BOTH_ENGINES

EMOJI = [
    "👍", "❤️", "😂", "🎉", "🚀", "👀", "🙏", "🔥", "💯", "✅",
    "😮", "😢", "👏", "🤔", "🙌", "💡", "⭐", "🍕", "☕", "🎯", "🐛",
]  # fmt: skip


def send(cid: str, client_msg_id: str, text: str = "hello") -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text}


async def trio(users: Users) -> tuple[User, User, User, Recorder, Recorder, Recorder, str]:
    """ann and bob in a group, cat outside it; one socket each."""
    ann, bob, cat = await users("ann", "bob", "cat")
    ann1, bob1, cat1 = await ann.socket(), await bob.socket(), await cat.socket()
    group = await ann1.ok("conversation:create", {"participant_ids": [bob.id], "type": "group"})
    return ann, bob, cat, ann1, bob1, cat1, group["id"]


def react(message: dict[str, Any], emoji: str) -> dict[str, str]:
    return {"message_id": message["id"], "emoji": emoji}


async def test_a_reaction_reaches_every_participant_with_their_own_me(users):
    ann, bob, _, ann1, bob1, _, cid = await trio(users)
    message = await ann1.ok("message:send", send(cid, "m1"))
    ann2 = await ann.socket()  # the reacting user's other device

    acked = await bob1.ok("reaction:add", react(message, "👍"))

    assert acked["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]
    event = {
        "conversation_id": cid,
        "message_id": message["id"],
        "seq": message["seq"],
        "user_id": bob.id,
        "emoji": "👍",
        "added": True,
    }
    mine = [{"emoji": "👍", "count": 1, "me": False}]
    assert await ann1.wait_for("message:reaction") == [{**event, "reactions": mine}]
    assert await ann2.wait_for("message:reaction") == [{**event, "reactions": mine}]
    await quiet()
    assert bob1.events["message:reaction"] == []  # the ack told the reacting socket

    both = await ann1.ok("reaction:add", react(message, "👍"))
    assert both["reactions"] == [{"emoji": "👍", "count": 2, "me": True}]
    (seen,) = await bob1.wait_for("message:reaction")
    assert seen["reactions"] == [{"emoji": "👍", "count": 2, "me": True}]
    history = await bob1.ok("message:history", {"conversation_id": cid})
    assert history["items"][0]["reactions"] == [{"emoji": "👍", "count": 2, "me": True}]
    conversation = await ann1.ok("conversation:get", {"conversation_id": cid})
    assert conversation["last_message"]["reactions"] == both["reactions"]

    removed = await bob1.ok("reaction:remove", react(message, "👍"))
    assert removed["reactions"] == [{"emoji": "👍", "count": 1, "me": False}]
    (gone,) = (
        await ann1.wait_for("message:reaction", 2)[1:]
        if False
        else [(await ann1.wait_for("message:reaction", 2))[1]]
    )
    assert gone["added"] is False and gone["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]


async def test_adding_twice_and_removing_what_is_not_there_change_and_emit_nothing(users):
    ann, _, _, ann1, bob1, _, cid = await trio(users)
    message = await ann1.ok("message:send", send(cid, "m1"))
    first = await bob1.ok("reaction:add", react(message, "🎉"))
    await ann1.wait_for("message:reaction")

    assert await bob1.ok("reaction:add", react(message, "🎉")) == first
    assert (await bob1.ok("reaction:remove", react(message, "🚀")))["reactions"] == first[
        "reactions"
    ]
    status, body = await ann.call("DELETE", f"/messages/{message['id']}/reactions/{quote('🚀')}")
    assert status == 200 and body["reactions"] == [{"emoji": "🎉", "count": 1, "me": False}]
    await quiet()
    assert len(ann1.events["message:reaction"]) == 1


async def test_short_names_become_their_emoji_over_socket_and_rest(users):
    ann, bob, _, ann1, bob1, _, cid = await trio(users)
    message = await ann1.ok("message:send", send(cid, "m1"))

    acked = await bob1.ok("reaction:add", react(message, ":thumbs_up:"))
    status, body = await ann.call("POST", f"/messages/{message['id']}/reactions/:+1:")

    assert acked["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]
    assert status == 200 and body["reactions"] == [{"emoji": "👍", "count": 2, "me": True}]
    status, body = await bob.call("DELETE", f"/messages/{message['id']}/reactions/{quote('👍')}")
    assert status == 200 and body["reactions"] == [{"emoji": "👍", "count": 1, "me": False}]


async def test_bad_emoji_a_21st_emoji_and_deleted_messages_are_refused(users):
    _, bob, cat, ann1, bob1, cat1, cid = await trio(users)
    message = await ann1.ok("message:send", send(cid, "m1"))

    for bad in ["a", "👍👍", ":no_such_emoji:", "", "::", "x" * 65]:
        error = await bob1.error("reaction:add", react(message, bad), "validation_failed")
        assert error["details"]["fields"][0]["field"] == "emoji", bad
    status, body = await bob.call("POST", f"/messages/{message['id']}/reactions/:nope:")
    assert status == 422 and body["code"] == "validation_failed"

    for emoji in EMOJI[:20]:
        await bob1.ok("reaction:add", react(message, emoji))
    error = await ann1.error("reaction:add", react(message, EMOJI[20]), "validation_failed")
    assert "20" in error["details"]["fields"][0]["message"]
    # One of the 20 may still gain users.
    again = await ann1.ok("reaction:add", react(message, EMOJI[0]))
    assert len(again["reactions"]) == 20 and again["reactions"][0]["count"] == 2

    await cat1.error("reaction:add", react(message, "👍"), "forbidden")
    status, _ = await cat.call("POST", f"/messages/{message['id']}/reactions/{quote('👍')}")
    assert status == 403
    await ann1.error("reaction:add", {"message_id": "nope", "emoji": "👍"}, "not_found")

    await ann1.ok("message:delete", {"message_id": message["id"]})
    error = await bob1.error("reaction:add", react(message, "🔥"), "validation_failed")
    assert error["details"]["fields"][0]["field"] == "message_id"
    # A deleted message keeps no reactions.
    stored = await bob1.ok("message:history", {"conversation_id": cid})
    assert stored["items"][0]["reactions"] == []


async def test_concurrent_reactions_all_count(users):
    _, _, _, ann1, bob1, _, cid = await trio(users)
    message = await ann1.ok("message:send", send(cid, "m1"))

    results = await asyncio.gather(
        *(ann1.ok("reaction:add", react(message, e)) for e in EMOJI[:10]),
        *(bob1.ok("reaction:add", react(message, e)) for e in EMOJI[5:15]),
    )

    assert all(result["id"] == message["id"] for result in results)
    final = await ann1.ok("message:history", {"conversation_id": cid})
    counts = {r["emoji"]: r["count"] for r in final["items"][0]["reactions"]}
    assert counts == {e: 2 if e in EMOJI[5:10] else 1 for e in EMOJI[:15]}


async def test_an_edit_of_a_message_with_reactions_shows_each_participant_their_own(users):
    _, _, _, ann1, bob1, _, cid = await trio(users)
    message = await ann1.ok("message:send", send(cid, "m1"))
    await bob1.ok("reaction:add", react(message, "👀"))

    edited = await ann1.ok("message:edit", {"message_id": message["id"], "text": "edited"})

    assert edited["reactions"] == [{"emoji": "👀", "count": 1, "me": False}]
    (seen,) = await bob1.wait_for("message:edit")
    assert seen["text"] == "edited"
    assert seen["reactions"] == [{"emoji": "👀", "count": 1, "me": True}]
