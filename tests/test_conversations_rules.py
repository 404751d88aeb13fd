"""The rules of /conversations: blocks, edit window, limits, typing, malformed payloads.

Real clients over real sockets on SQLite; a test that changes a setting says so
with ``@pytest.mark.hub_settings(...)``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from hub.conversations.namespace import ConversationsNamespace
from recorder import Recorder
from users import User, Users
from waits import quiet

NS = "/conversations"


async def pair(users: Users) -> tuple[User, User, Recorder, Recorder, str]:
    """ann and bob, one socket each, and their direct conversation's id."""
    ann, bob = await users("ann", "bob")
    ann1, bob1 = await ann.socket(), await bob.socket()
    conversation = await ann1.ok("conversation:create", {"participant_ids": [bob.id]})
    return ann, bob, ann1, bob1, conversation["id"]


def send(cid: str, client_msg_id: str, text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text, **extra}


# What clients sent as an attachment before uploads: metadata only, refused now.
ATTACHMENT = {
    "url": "https://files.example.com/spec.pdf",
    "name": "spec.pdf",
    "size": 2048,
    "mime": "application/pdf",
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# Blocks


async def test_blocked_pairs_cannot_start_or_use_a_direct_conversation(users):
    ann, bob, ann1, bob1, cid = await pair(users)
    await ann1.ok("message:send", send(cid, "before"))

    status, _ = await ann.call("POST", f"/users/{bob.id}/block")
    assert status == 200
    # Both directions are refused, over the socket and over REST.
    await bob1.error("conversation:create", {"participant_ids": [ann.id]}, "forbidden")
    await ann1.error("conversation:create", {"participant_ids": [bob.id]}, "forbidden")
    status, problem = await bob.call("POST", "/conversations", {"participant_ids": [ann.id]})
    assert (status, problem["code"]) == (403, "forbidden")
    await ann1.error("message:send", send(cid, "blocked-1"), "forbidden")
    await bob1.error("message:send", send(cid, "blocked-2"), "forbidden")
    status, problem = await bob.call("POST", f"/conversations/{cid}/messages", {"text": "hey"})
    assert (status, problem["code"]) == (403, "forbidden")
    history = await ann1.ok("message:history", {"conversation_id": cid})
    assert [m["client_msg_id"] for m in history["items"]] == ["before"]
    await quiet()  # for a blocked message that would have reached bob
    assert len(bob1.events["message:new"]) == 1

    status, _ = await ann.call("DELETE", f"/users/{bob.id}/block")
    assert status == 204
    again = await bob1.ok("conversation:create", {"participant_ids": [ann.id]})
    assert again["id"] == cid
    message = await bob1.ok("message:send", send(cid, "after"))
    assert message["seq"] == 2
    assert (await ann1.wait_for("message:new")) == [message]


# Mentions


async def test_a_mention_notifies_and_counts_until_read(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    await bob.listen()
    await cat.listen()
    ann1, bob1 = await ann.socket(), await bob.socket()
    group = await ann1.ok("conversation:create", {"participant_ids": [bob.id, cat.id]})
    cid = group["id"]

    message = await ann1.ok(
        "message:send", send(cid, "m-1", "hi @bob", mentions=[bob.id, bob.id, ann.id])
    )
    assert message["mentions"] == [bob.id]  # duplicates collapse, the sender is dropped
    [notification] = await bob.notified("mention")
    assert notification["data"] == {"conversation_id": cid, "message": message}
    await ann1.ok("message:send", send(cid, "m-2", "no mention"))
    view = await bob1.ok("conversation:get", {"conversation_id": cid})
    assert (view["unread_count"], view["unread_mentions"]) == (2, 1)
    assert view["last_message"]["mentions"] == []
    assert (await ann1.ok("conversation:get", {"conversation_id": cid}))["unread_mentions"] == 0
    # Over REST too.
    body = {"text": "and @cat", "mentions": [cat.id]}
    sent = await ann.ok("POST", f"/conversations/{cid}/messages", body, status=201)
    assert sent["mentions"] == [cat.id]
    await cat.notified("mention")
    assert bob.notifications("mention") == [notification]
    cat1 = await cat.socket()
    assert (await cat1.ok("conversation:get", {"conversation_id": cid}))["unread_mentions"] == 1
    await ann1.ok("message:delete", {"message_id": sent["id"]})
    history = await cat1.ok("message:history", {"conversation_id": cid})
    assert history["items"][-1]["mentions"] == []
    assert (await cat1.ok("conversation:get", {"conversation_id": cid}))["unread_mentions"] == 0

    await bob1.ok("message:read", {"conversation_id": cid, "seq": message["seq"]})
    view = await bob1.ok("conversation:get", {"conversation_id": cid})
    assert (view["unread_count"], view["unread_mentions"]) == (
        1,
        0,
    )  # m-2 (the REST one is deleted)


async def test_a_mention_of_a_non_participant_is_refused_and_nothing_written(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    await cat.listen()
    ann1 = await ann.socket()
    cid = (await ann1.ok("conversation:create", {"participant_ids": [bob.id]}))["id"]

    error = await ann1.error(
        "message:send", send(cid, "m-1", mentions=[bob.id, cat.id]), "validation_failed"
    )
    assert error["details"]["fields"][0]["field"] == "mentions"
    assert error["details"]["user_ids"] == [cat.id]
    status, problem = await ann.call(
        "POST", f"/conversations/{cid}/messages", {"text": "hi", "mentions": [cat.id]}
    )
    assert (status, problem["code"]) == (422, "validation_failed")
    too_many = [f"u-{i}" for i in range(51)]
    await ann1.error("message:send", send(cid, "m-2", mentions=too_many), "validation_failed")
    history = await ann1.ok("message:history", {"conversation_id": cid})
    assert history["items"] == []
    await quiet()
    assert cat.notifications("mention") == []
    # Someone outside the conversation learns nothing about who is in it.
    cat1 = await cat.socket()
    await cat1.error("message:send", send(cid, "m-3", mentions=[bob.id]), "forbidden")


# Edits and deletes


@pytest.mark.slow  # waits out the one-second edit window
@pytest.mark.hub_settings(edit_window_s=1)
async def test_edit_window_closes(users):
    ann, _bob, ann1, bob1, cid = await pair(users)
    message = await ann1.ok("message:send", send(cid, "m1", "draft"))
    edited = await ann1.ok("message:edit", {"message_id": message["id"], "text": "final"})
    assert edited["text"] == "final"
    await asyncio.sleep(1.2)  # on purpose: past the one-second edit window
    await ann1.error(
        "message:edit", {"message_id": message["id"], "text": "too late"}, "edit_window_closed"
    )
    status, problem = await ann.call("PATCH", f"/messages/{message['id']}", {"text": "late"})
    assert (status, problem["code"]) == (409, "edit_window_closed")
    (stored,) = (await bob1.ok("message:history", {"conversation_id": cid}))["items"]
    assert stored["text"] == "final"
    assert len(await bob1.wait_for("message:edit")) == 1
    # The window limits edits only: the sender may still delete.
    assert await ann1.ok("message:delete", {"message_id": message["id"]}) == {
        "message_id": message["id"]
    }


async def test_only_the_sender_edits_or_deletes(users):
    _ann, bob, ann1, bob1, cid = await pair(users)
    message = await ann1.ok("message:send", send(cid, "m1", "mine"))
    await bob1.error("message:edit", {"message_id": message["id"], "text": "yours?"}, "forbidden")
    await bob1.error("message:delete", {"message_id": message["id"]}, "forbidden")
    status, problem = await bob.call("PATCH", f"/messages/{message['id']}", {"text": "x"})
    assert (status, problem["code"]) == (403, "forbidden")
    status, problem = await bob.call("DELETE", f"/messages/{message['id']}")
    assert (status, problem["code"]) == (403, "forbidden")
    await ann1.error("message:edit", {"message_id": "no-such-message", "text": "x"}, "not_found")
    (stored,) = (await ann1.ok("message:history", {"conversation_id": cid}))["items"]
    assert stored == message
    await quiet()  # for a refused change that would have been relayed
    assert ann1.events["message:edit"] == [] and ann1.events["message:delete"] == []


async def test_a_deleted_message_cannot_be_changed(users):
    ann, _bob, ann1, bob1, cid = await pair(users)
    message = await ann1.ok("message:send", send(cid, "m1", "oops"))
    await ann1.ok("message:delete", {"message_id": message["id"]})
    status, problem = await ann.call("PATCH", f"/messages/{message['id']}", {"text": "back"})
    assert (status, problem["code"]) == (409, "conflict")
    status, problem = await ann.call("DELETE", f"/messages/{message['id']}")
    assert (status, problem["code"]) == (409, "conflict")
    await ann1.error("message:edit", {"message_id": message["id"], "text": "back"}, "conflict")
    await ann1.error("message:delete", {"message_id": message["id"]}, "conflict")
    (stored,) = (await bob1.ok("message:history", {"conversation_id": cid}))["items"]
    assert (stored["text"], stored["deleted"]) == ("", True)
    await quiet()  # for a refused change that would have been relayed
    assert len(bob1.events["message:delete"]) == 1 and bob1.events["message:edit"] == []


# Text, attachments, replies, group size


async def test_text_limits(users):
    ann, _bob, ann1, bob1, cid = await pair(users)
    for n, text in enumerate(["", "   ", " \n\t ", "x" * 4001, " " + "x" * 4001]):
        error = await ann1.error("message:send", send(cid, f"bad-{n}", text), "validation_failed")
        assert error["details"]["fields"][0]["field"] == "text"
    at_limit = await ann1.ok("message:send", send(cid, "4000", "y" * 4000))
    assert at_limit["text"] == "y" * 4000
    trimmed = await ann1.ok("message:send", send(cid, "trim", "  " + "z" * 4000 + "\n "))
    assert trimmed["text"] == "z" * 4000
    await ann1.error(
        "message:edit", {"message_id": at_limit["id"], "text": "x" * 4001}, "validation_failed"
    )
    await ann1.error(
        "message:edit", {"message_id": at_limit["id"], "text": "  "}, "validation_failed"
    )
    status, problem = await ann.call("POST", f"/conversations/{cid}/messages", {"text": " "})
    assert (status, problem["code"]) == (422, "validation_failed")
    history = await bob1.ok("message:history", {"conversation_id": cid})
    assert [m["client_msg_id"] for m in history["items"]] == ["4000", "trim"]
    assert [m["seq"] for m in history["items"]] == [1, 2]  # refused sends take no seq


@pytest.mark.hub_settings(max_text_length=10)
async def test_max_text_length_setting(users):
    _ann, _bob, ann1, _bob1, cid = await pair(users)
    ok = await ann1.ok("message:send", send(cid, "ten", "0123456789"))
    await ann1.error("message:send", send(cid, "eleven", "0123456789a"), "validation_failed")
    await ann1.error(
        "message:edit", {"message_id": ok["id"], "text": "0123456789a"}, "validation_failed"
    )
    assert (await ann1.ok("message:edit", {"message_id": ok["id"], "text": " abc "}))[
        "text"
    ] == "abc"


async def test_attachments_are_ids_of_uploads(users):
    """Only the shape here; the upload flow is tests/test_attachments.py."""
    ann, _bob, ann1, bob1, cid = await pair(users)
    pdf = await ann.attachment(cid, PDF, "spec.pdf", "application/pdf")
    await ann1.error(
        "message:send", send(cid, "eleven", attachments=[pdf["id"]] * 11), "validation_failed"
    )
    bad = [[ATTACHMENT], ["x" * 65], [""], [5], "spec.pdf", {"id": pdf["id"]}]
    for n, attachments in enumerate(bad):
        error = await ann1.error(
            "message:send", send(cid, f"bad-{n}", attachments=attachments), "validation_failed"
        )
        assert error["details"]["fields"][0]["field"].startswith("attachments"), error
    message = await ann1.ok("message:send", send(cid, "ok", attachments=[pdf["id"]]))
    assert message["attachments"] == [pdf]
    assert (await bob1.wait_for("message:new"))[0]["attachments"] == [pdf]
    status, problem = await ann.call(
        "POST", f"/conversations/{cid}/messages", {"text": "x", "attachments": [pdf["id"]]}
    )
    assert (status, problem["code"]) == (422, "validation_failed")  # sent once only
    history = await bob1.ok("message:history", {"conversation_id": cid})
    assert [m["attachments"] for m in history["items"]] == [[pdf]]


async def test_reply_to_must_be_in_the_same_conversation(users):
    _ann, _bob, ann1, bob1, cid = await pair(users)
    cat = (await users("cat"))[0]
    other = await ann1.ok("conversation:create", {"participant_ids": [cat.id]})
    elsewhere = await ann1.ok("message:send", send(other["id"], "elsewhere"))
    here = await ann1.ok("message:send", send(cid, "here"))
    for n, reply_to in enumerate([elsewhere["id"], "no-such-message"]):
        error = await bob1.error(
            "message:send", send(cid, f"r{n}", reply_to=reply_to), "validation_failed"
        )
        assert error["details"]["fields"][0]["field"] == "reply_to"
    reply = await bob1.ok("message:send", send(cid, "good", reply_to=here["id"]))
    assert reply["reply_to"] == here["id"] and reply["seq"] == 2


@pytest.mark.hub_settings(max_group_size=3)
async def test_group_size_limit(users):
    ann, bob, cat, dan = await users("ann", "bob", "cat", "dan")
    ann1 = await ann.socket()
    await ann1.error(
        "conversation:create", {"participant_ids": [bob.id, cat.id, dan.id]}, "validation_failed"
    )
    status, problem = await ann.call(
        "POST", "/conversations", {"participant_ids": [bob.id, cat.id, dan.id]}
    )
    assert (status, problem["code"]) == (422, "validation_failed")
    small = await ann1.ok("conversation:create", {"participant_ids": [bob.id], "type": "group"})
    full = await ann1.ok(
        "conversation:add_participants", {"conversation_id": small["id"], "user_ids": [cat.id]}
    )
    assert len(full["participant_ids"]) == 3
    await ann1.error(
        "conversation:add_participants",
        {"conversation_id": small["id"], "user_ids": [dan.id]},
        "validation_failed",
    )
    # Re-adding a member is not growth.
    same = await ann1.ok(
        "conversation:add_participants",
        {"conversation_id": small["id"], "user_ids": [cat.id, bob.id]},
    )
    assert sorted(same["participant_ids"]) == sorted([ann.id, bob.id, cat.id])
    await ann1.ok(
        "conversation:remove_participant", {"conversation_id": small["id"], "user_id": cat.id}
    )
    again = await ann1.ok(
        "conversation:add_participants", {"conversation_id": small["id"], "user_ids": [dan.id]}
    )
    assert sorted(again["participant_ids"]) == sorted([ann.id, bob.id, dan.id])
    three = await ann1.ok("conversation:create", {"participant_ids": [bob.id, cat.id]})
    assert three["type"] == "group"


# Typing


@pytest.mark.slow  # waits out several typing expiries
@pytest.mark.hub_settings(typing_expires_ms=300)
async def test_typing_expires_without_refresh(users):
    ann, bob = await users("ann", "bob")
    ann1, ann2, bob1 = await ann.socket(), await ann.socket(), await bob.socket()
    cid = (await ann1.ok("conversation:create", {"participant_ids": [bob.id]}))["id"]
    loop = asyncio.get_running_loop()
    typing_on = {"conversation_id": cid, "user_id": ann.id, "typing": True, "expires_in_ms": 300}
    typing_off = {**typing_on, "typing": False}

    started = loop.time()
    assert await ann1.ok("typing", {"conversation_id": cid, "typing": True}) == {}
    events = await bob1.wait_for("typing", 2, timeout=3)
    assert events == [typing_on, typing_off]
    assert 0.25 <= bob1.stamps["typing"][1] - started < 1.0

    # A refresh postpones the expiry.
    bob1.clear()
    started = loop.time()
    await ann1.ok("typing", {"conversation_id": cid, "typing": True})
    await asyncio.sleep(0.2)  # on purpose: refresh two thirds into the 300 ms expiry
    refreshed = loop.time()
    await ann1.ok("typing", {"conversation_id": cid, "typing": True})
    await asyncio.sleep(0.2)  # on purpose: past the first expiry
    assert all(e["typing"] for e in bob1.events["typing"]), bob1.events["typing"]
    events = await bob1.wait_for("typing", 3, timeout=3)
    assert [e["typing"] for e in events] == [True, True, False]
    assert bob1.stamps["typing"][2] - refreshed >= 0.25
    assert bob1.stamps["typing"][2] - started >= 0.45

    # An explicit stop is relayed at once, and nothing expires after it.
    bob1.clear()
    await ann1.ok("typing", {"conversation_id": cid, "typing": True})
    await ann1.ok("typing", {"conversation_id": cid, "typing": False})
    assert await bob1.wait_for("typing", 2, timeout=0.25) == [typing_on, typing_off]
    # Stopping when not typing relays nothing.
    assert await ann1.ok("typing", {"conversation_id": cid, "typing": False}) == {}
    await asyncio.sleep(0.45)  # on purpose: past any expiry, which must relay nothing
    assert bob1.events["typing"] == [typing_on, typing_off]

    # A message ends typing: the others are told at once, and nothing expires later.
    bob1.clear()
    await ann1.ok("typing", {"conversation_id": cid, "typing": True})
    await ann1.ok("message:send", send(cid, "m1"))
    assert await bob1.wait_for("typing", 2, timeout=0.25) == [typing_on, typing_off]
    await bob1.wait_for("message:new")
    await ann1.ok("message:send", send(cid, "m2"))  # not typing: no typing event
    await asyncio.sleep(0.45)  # on purpose: past any expiry, which must relay nothing
    assert bob1.events["typing"] == [typing_on, typing_off]

    # The typer's own devices are never told.
    assert ann2.events["typing"] == [] and ann1.events["typing"] == []


async def test_typing_ends_when_the_users_last_socket_leaves(users):
    ann, bob = await users("ann", "bob")
    ann1, ann2, bob1 = await ann.socket(), await ann.socket(), await bob.socket()
    cid = (await ann1.ok("conversation:create", {"participant_ids": [bob.id]}))["id"]
    await ann1.ok("typing", {"conversation_id": cid, "typing": True})
    await bob1.wait_for("typing")
    await ann1.client.disconnect()
    await quiet(0.3)  # for a typing stop that must not come
    assert len(bob1.events["typing"]) == 1  # ann is still online on another device
    started = asyncio.get_running_loop().time()
    await ann2.client.disconnect()
    events = await bob1.wait_for("typing", 2, timeout=3)  # well before the 6 s expiry
    assert events[1] == {
        "conversation_id": cid,
        "user_id": ann.id,
        "typing": False,
        "expires_in_ms": 6000,
    }
    assert bob1.stamps["typing"][1] - started < 2


@pytest.mark.hub_settings(typing_expires_ms=5000)
async def test_removing_a_typing_participant_ends_their_typing(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    ann1, bob1, cat1 = await ann.socket(), await bob.socket(), await cat.socket()
    cid = (await ann1.ok("conversation:create", {"participant_ids": [bob.id, cat.id]}))["id"]
    await cat1.ok("typing", {"conversation_id": cid, "typing": True})
    await bob1.wait_for("typing")
    await ann1.ok("conversation:remove_participant", {"conversation_id": cid, "user_id": cat.id})
    for device in (ann1, bob1):
        events = await device.wait_for("typing", 2, timeout=1)  # not after the 5 s expiry
        assert [(e["user_id"], e["typing"]) for e in events] == [(cat.id, True), (cat.id, False)]
    await cat1.error("typing", {"conversation_id": cid, "typing": True}, "forbidden")
    await quiet()  # for a refused typing event that would have been relayed
    assert cat1.events["typing"] == [] and len(bob1.events["typing"]) == 2


# Personal conversation state


async def test_personal_updates_reach_only_the_users_other_devices(users):
    ann, bob = await users("ann", "bob")
    ann1, ann2, bob1 = await ann.socket(), await ann.socket(), await bob.socket()
    cid = (await ann1.ok("conversation:create", {"participant_ids": [bob.id], "type": "group"}))[
        "id"
    ]
    await bob1.wait_for("conversation:created")

    archived = await ann1.ok("conversation:update", {"conversation_id": cid, "archived": True})
    assert archived["archived"] is True
    (seen,) = await ann2.wait_for("conversation:updated")
    assert seen["id"] == cid and seen["archived"] is True
    pinned = await ann1.ok("conversation:update", {"conversation_id": cid, "pinned": True})
    assert (pinned["pinned"], pinned["archived"]) == (True, True)
    assert (await ann2.wait_for("conversation:updated", 2))[1]["pinned"] is True
    await quiet()  # for a personal change that would have leaked
    assert bob1.events["conversation:updated"] == [] and ann1.events["conversation:updated"] == []
    view = await bob1.ok("conversation:get", {"conversation_id": cid})
    assert (view["pinned"], view["archived"], view["muted"]) == (False, False, False)

    # A shared change reaches everyone but the socket that made it.
    renamed = await ann1.ok("conversation:update", {"conversation_id": cid, "title": "Team"})
    assert renamed["title"] == "Team" and renamed["pinned"] is True
    assert (await bob1.wait_for("conversation:updated"))[0]["title"] == "Team"
    assert (await bob1.wait_for("conversation:updated"))[0]["pinned"] is False
    assert (await ann2.wait_for("conversation:updated", 3))[2]["title"] == "Team"
    await quiet()  # for an echo to the socket that made the change
    assert ann1.events["conversation:updated"] == []


# Sync


async def test_sync_pages_each_conversation_in_seq_order(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    ann1, bob1 = await ann.socket(), await bob.socket()
    direct = (await ann1.ok("conversation:create", {"participant_ids": [bob.id]}))["id"]
    group = (await ann1.ok("conversation:create", {"participant_ids": [bob.id, cat.id]}))["id"]
    await bob1.client.disconnect()
    for n in range(6):
        await ann1.ok("message:send", send(direct, f"d{n}", f"direct {n}"))
        await ann1.ok("message:send", send(group, f"g{n}", f"group {n}"))
    await ann1.ok("message:send", send(group, "g6", "group 6"))

    back = await bob.socket()
    result = await back.ok(
        "sync",
        {
            "limit": 3,
            "cursors": [
                {"conversation_id": group, "after_seq": 2},
                {"conversation_id": direct, "after_seq": 0},
            ],
        },
    )
    assert [item["conversation_id"] for item in result["items"]] == [group, direct]
    g, d = result["items"]
    assert [m["seq"] for m in g["messages"]] == [3, 4, 5] and g["has_more"] is True
    assert [m["text"] for m in g["messages"]] == ["group 2", "group 3", "group 4"]
    assert [m["seq"] for m in d["messages"]] == [1, 2, 3] and d["has_more"] is True

    result = await back.ok(
        "sync",
        {
            "limit": 3,
            "cursors": [
                {"conversation_id": group, "after_seq": 5},
                {"conversation_id": direct, "after_seq": 3},
            ],
        },
    )
    g, d = result["items"]
    assert [m["seq"] for m in g["messages"]] == [6, 7] and g["has_more"] is False
    assert [m["seq"] for m in d["messages"]] == [4, 5, 6] and d["has_more"] is False
    result = await back.ok("sync", {"cursors": [{"conversation_id": direct, "after_seq": 6}]})
    assert result["items"] == [
        {
            "conversation_id": direct,
            "messages": [],
            "changes": [],
            "rev": 0,
            "has_more": False,
            "pins": [],
        }
    ]
    await back.error(
        "sync", {"cursors": [{"conversation_id": "nope", "after_seq": 0}]}, "not_found"
    )


# Malformed payloads on every event


NOT_AN_OBJECT: list[Any] = [[1, 2], "text", 42, 3.5, True, ("one", "two")]
WRONG = {"$ne": None}


@dataclass
class World:
    ann: User
    bob: User
    cat: User
    group: str
    message: str


@dataclass
class Spec:
    valid: Callable[[World], dict[str, Any]]
    required: list[str]
    wrong: dict[str, list[Any]] = field(default_factory=dict)


SPECS: dict[str, Spec] = {
    "auth:refresh": Spec(lambda w: {"token": w.ann.token}, ["token"], {"token": [5, ""]}),
    "conversation:create": Spec(
        lambda w: {"participant_ids": [w.cat.id]},
        ["participant_ids"],
        {
            "participant_ids": ["someone", [], [5], [""]],
            "type": ["channel", 1],
            "title": ["", 5, "t" * 201],
            "context": [
                "job",
                {"type": "job"},
                {"type": "invoice", "id": "1"},
                {"type": "job", "id": "1", "x": 1},
            ],
        },
    ),
    "conversation:list": Spec(
        lambda w: {},
        [],
        {"cursor": [5, "c" * 201], "limit": [0, 101, "5", 2.5, True], "archived": ["yes", 1]},
    ),
    "conversation:get": Spec(
        lambda w: {"conversation_id": w.group},
        ["conversation_id"],
        {"conversation_id": [5, "", "x" * 65, ["a"]]},
    ),
    "conversation:update": Spec(
        lambda w: {"conversation_id": w.group, "pinned": True},
        ["conversation_id"],
        {"title": ["", 5], "pinned": ["true", 1], "archived": [0], "muted": ["no"]},
    ),
    "conversation:add_participants": Spec(
        lambda w: {"conversation_id": w.group, "user_ids": [w.cat.id]},
        ["conversation_id", "user_ids"],
        {"user_ids": [[], "someone", [5]]},
    ),
    "conversation:remove_participant": Spec(
        lambda w: {"conversation_id": w.group, "user_id": w.bob.id},
        ["conversation_id", "user_id"],
        {"user_id": [5, [], ""]},
    ),
    "message:send": Spec(
        lambda w: {"conversation_id": w.group, "client_msg_id": "valid-1", "text": "hi"},
        ["conversation_id", "client_msg_id", "text"],
        {
            "text": [5, ["hi"], "x" * 100_001],
            "client_msg_id": ["", 5],
            "attachments": [
                "file",
                {},
                [5],
                [{"url": "ftp://x/y", "name": "y", "size": 1, "mime": "a/b"}],
                ["x" * 65],
            ],
            "reply_to": [5, ""],
        },
    ),
    "message:edit": Spec(
        lambda w: {"message_id": w.message, "text": "edited"},
        ["message_id", "text"],
        {"text": [5, ["a"]], "message_id": [""]},
    ),
    "message:delete": Spec(
        lambda w: {"message_id": w.message}, ["message_id"], {"message_id": [5, ""]}
    ),
    "message:pin": Spec(
        lambda w: {"message_id": w.message, "pinned": True},
        ["message_id", "pinned"],
        {"message_id": [5, ""], "pinned": ["yes", 1, 0]},
    ),
    "reaction:add": Spec(
        lambda w: {"message_id": w.message, "emoji": "👍"},
        ["message_id", "emoji"],
        {"message_id": [5, ""], "emoji": [5, "", "a", "👍👍", ":nope:", "x" * 65]},
    ),
    "reaction:remove": Spec(
        lambda w: {"message_id": w.message, "emoji": "👍"},
        ["message_id", "emoji"],
        {"message_id": [5, ""], "emoji": [["👍"], "", ":nope:"]},
    ),
    "message:thread": Spec(
        lambda w: {"message_id": w.message},
        ["message_id"],
        {"message_id": [5, ""], "after_seq": [-1, "1"], "limit": [0, 101]},
    ),
    "conversation:pins": Spec(
        lambda w: {"conversation_id": w.group},
        ["conversation_id"],
        {"conversation_id": [5, "", "x" * 65]},
    ),
    "message:history": Spec(
        lambda w: {"conversation_id": w.group},
        ["conversation_id"],
        {"before_seq": ["1", -1, 1.5], "after_seq": [True, 2**60], "limit": [0, 101, "10"]},
    ),
    "message:read": Spec(
        lambda w: {"conversation_id": w.group, "seq": 1},
        ["conversation_id", "seq"],
        {"seq": ["1", -1, 1.5, True]},
    ),
    "message:delivered": Spec(
        lambda w: {"conversation_id": w.group, "seq": 1},
        ["conversation_id", "seq"],
        {"seq": ["1", -1, 1.5, True, 2**60]},
    ),
    "conversation:mark_unread": Spec(
        lambda w: {"conversation_id": w.group, "seq": 1},
        ["conversation_id", "seq"],
        {"seq": ["1", -1, 1.5, True, 0, 2]},
    ),
    "typing": Spec(
        lambda w: {"conversation_id": w.group, "typing": True},
        ["conversation_id", "typing"],
        {"typing": ["yes", 1, 0]},
    ),
    "sync": Spec(
        lambda w: {"cursors": [{"conversation_id": w.group, "after_seq": 0}]},
        ["cursors"],
        {
            "cursors": [
                [],
                {},
                [5],
                [{"conversation_id": "g"}],
                [{"after_seq": 0}],
                [{"conversation_id": "g", "after_seq": "0"}],
                [{"conversation_id": "g", "after_seq": 0, "x": 1}],
            ],
            "limit": [0, "5"],
        },
    ),
}

EVENTS = sorted(
    method.__hub_event__[0]
    for _, method in inspect.getmembers(ConversationsNamespace, inspect.isfunction)
    if hasattr(method, "__hub_event__")
)


def test_every_event_has_a_malformed_payload_spec():
    assert set(EVENTS) == set(SPECS)


def _bad_payloads(spec: Spec, world: World) -> list[tuple[Any, str | None]]:
    """(payload, the field the error must name) pairs; None: any field."""
    valid = spec.valid(world)
    cases: list[tuple[Any, str | None]] = [(p, "payload") for p in NOT_AN_OBJECT]
    cases.append(({**valid, "bogus": 1}, "bogus"))
    for name in spec.required:
        cases.append(({k: v for k, v in valid.items() if k != name}, name))
        cases.append(({**valid, name: None}, name))
    for name in valid:
        cases.append(({**valid, name: WRONG}, name))
    for name, values in spec.wrong.items():
        cases += [({**valid, name: value}, name) for value in values]
    return cases


@pytest.mark.parametrize("event", EVENTS)
async def test_malformed_payloads_get_validation_failed_and_keep_the_socket(users, event):
    ann, bob, cat = await users("ann", "bob", "cat")
    socket = await ann.socket()
    disconnects: list[Any] = []
    socket.client.on("disconnect", lambda *args: disconnects.append(args), namespace=NS)
    group = await socket.ok("conversation:create", {"participant_ids": [bob.id], "type": "group"})
    message = await socket.ok("message:send", send(group["id"], "m1", "hello"))
    world = World(ann, bob, cat, group["id"], message["id"])
    spec = SPECS[event]

    cases = _bad_payloads(spec, world)
    for payload, field_name in cases:
        ack = await socket.call(event, payload)
        assert ack["ok"] is False, (event, payload, ack)
        error = ack["error"]
        assert error["code"] == "validation_failed", (event, payload, ack)
        fields = [f["field"] for f in error["details"]["fields"]]
        assert fields, (event, payload, ack)
        if field_name is not None:
            assert field_name in {f.split(".")[0] for f in fields}, (event, payload, fields)

    assert socket.client.connected and disconnects == []
    # The well-formed payload the bad ones were made from works on the same socket.
    await socket.ok(event, spec.valid(world))
    assert (await socket.ok("conversation:get", {"conversation_id": group["id"]}))["id"] == group[
        "id"
    ]


async def test_unknown_event_gets_validation_failed(users):
    (ann,) = await users("ann")
    socket = await ann.socket()
    error = await socket.error("conversation:explode", {}, "validation_failed")
    assert error["details"]["fields"][0]["field"] == "event"
    assert (await socket.ok("conversation:list", {}))["items"] == []
