"""Threads (issue 17): replies with ``thread_root_id`` in the same conversation
and seq space, the root's ``reply_count``/``last_reply_at``, ``message:thread``
and ``GET /messages/{id}/thread``; and ``sync`` bringing the messages changed
while away (``changes``, ``rev``). Real clients, real sockets, each engine."""

from __future__ import annotations

from typing import Any

from engines import ON_BOTH_ENGINES
from recorder import Recorder
from users import User, Users

pytestmark = ON_BOTH_ENGINES


def send(cid: str, client_msg_id: str, text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text, **extra}


async def trio(users: Users) -> tuple[User, User, User, Recorder, Recorder, Recorder, str]:
    ann, bob, cat = await users("ann", "bob", "cat")
    ann1, bob1, cat1 = await ann.socket(), await bob.socket(), await cat.socket()
    group = await ann1.ok("conversation:create", {"participant_ids": [bob.id], "type": "group"})
    return ann, bob, cat, ann1, bob1, cat1, group["id"]


async def test_a_thread_of_three_replies_updates_its_root(users):
    _, bob, _, ann1, bob1, _, cid = await trio(users)
    root = await ann1.ok("message:send", send(cid, "root", "shall we ship?"))
    await ann1.ok("message:send", send(cid, "main", "meanwhile in the main line"))

    replies = [
        await sender.ok("message:send", send(cid, f"r{n}", f"reply {n}", thread_root_id=root["id"]))
        for n, sender in enumerate([bob1, ann1, bob1])
    ]

    assert [r["seq"] for r in replies] == [3, 4, 5]  # the conversation's seq space
    assert all(r["thread_root_id"] == root["id"] for r in replies)
    news = await ann1.wait_for("message:new", 2)  # bob's two replies, live
    assert [m["id"] for m in news] == [replies[0]["id"], replies[2]["id"]]
    history = await bob1.ok("message:history", {"conversation_id": cid})
    stored_root = history["items"][0]
    assert (stored_root["reply_count"], stored_root["last_reply_at"]) == (
        3,
        replies[2]["created_at"],
    )
    thread = await bob1.ok("message:thread", {"message_id": root["id"]})
    assert thread == {"items": replies, "has_more": False}
    page = await bob1.ok("message:thread", {"message_id": root["id"], "after_seq": 3, "limit": 1})
    assert page == {"items": replies[1:2], "has_more": True}
    assert await bob.ok("GET", f"/messages/{root['id']}/thread", params={"after_seq": 3}) == {
        "items": replies[1:],
        "has_more": False,
    }
    status, rest_reply = await bob.call(
        "POST",
        f"/conversations/{cid}/messages",
        {"text": "over REST", "thread_root_id": root["id"]},
    )
    assert status == 201 and rest_reply["thread_root_id"] == root["id"]


async def test_bad_thread_roots_are_refused_and_nothing_is_written(users):
    _, _, cat, ann1, bob1, cat1, cid = await trio(users)
    root = await ann1.ok("message:send", send(cid, "root"))
    reply = await bob1.ok("message:send", send(cid, "r1", thread_root_id=root["id"]))
    other = await ann1.ok("conversation:create", {"participant_ids": [cat.id], "type": "group"})
    elsewhere = await ann1.ok("message:send", send(other["id"], "x"))

    for bad, why in [(reply["id"], "reply"), (elsewhere["id"], "conversation"), ("nope", "No")]:
        error = await ann1.error(
            "message:send", send(cid, f"bad-{why}", thread_root_id=bad), "validation_failed"
        )
        assert error["details"]["fields"][0]["field"] == "thread_root_id"
        assert why in error["details"]["fields"][0]["message"]
    history = await ann1.ok("message:history", {"conversation_id": cid})
    assert [m["id"] for m in history["items"]] == [root["id"], reply["id"]]
    assert history["items"][0]["reply_count"] == 1

    await cat1.error("message:thread", {"message_id": root["id"]}, "forbidden")
    status, _ = await cat.call("GET", f"/messages/{root['id']}/thread")
    assert status == 403
    await cat1.error("message:thread", {"message_id": "nope"}, "not_found")


async def test_sync_brings_the_changes_made_while_away(users):
    _, bob, _, ann1, bob1, _, cid = await trio(users)
    a, b, c = [await ann1.ok("message:send", send(cid, f"m{n}", n)) for n in "abc"]
    first = await bob1.ok("sync", {"cursors": [{"conversation_id": cid, "after_seq": 0}]})
    (item,) = first["items"]
    assert item["changes"] == [] and item["rev"] == 0 and not item["has_more"]
    await bob1.client.disconnect()

    await ann1.ok("reaction:add", {"message_id": a["id"], "emoji": "🎉"})
    await ann1.ok("message:edit", {"message_id": b["id"], "text": "b, edited"})
    await ann1.ok("message:pin", {"message_id": a["id"], "pinned": True})
    await ann1.ok("message:send", send(cid, "r1", "a reply", thread_root_id=c["id"]))
    await ann1.ok("message:delete", {"message_id": b["id"]})

    back = await bob.socket()
    cursor = {"conversation_id": cid, "after_seq": 3, "after_rev": item["rev"]}
    (synced,) = (await back.ok("sync", {"cursors": [cursor]}))["items"]

    assert [m["text"] for m in synced["messages"]] == ["a reply"]
    changes = {m["id"]: m for m in synced["changes"]}
    assert list(changes) == [a["id"], c["id"], b["id"]]  # by their latest change
    assert changes[a["id"]]["reactions"] == [{"emoji": "🎉", "count": 1, "me": False}]
    assert changes[a["id"]]["pinned"] is True
    assert changes[b["id"]]["deleted"] is True
    assert changes[c["id"]]["reply_count"] == 1
    assert not synced["has_more"]

    # From the rev it gave: nothing new; one more change: just that one.
    again = {**cursor, "after_seq": 4, "after_rev": synced["rev"]}
    (quiet_item,) = (await back.ok("sync", {"cursors": [again]}))["items"]
    assert quiet_item["changes"] == [] and quiet_item["rev"] == synced["rev"]
    await ann1.ok("reaction:remove", {"message_id": a["id"], "emoji": "🎉"})
    (one,) = (await back.ok("sync", {"cursors": [again]}))["items"]
    assert [(m["id"], m["reactions"]) for m in one["changes"]] == [(a["id"], [])]

    # A limit smaller than the changes: has_more, and the rev to go on from.
    paged = {**cursor, "after_rev": 0}
    (part,) = (await back.ok("sync", {"cursors": [paged], "limit": 2}))["items"]
    assert len(part["changes"]) == 2 and part["has_more"]
    rest = {**paged, "after_seq": 4, "after_rev": part["rev"]}
    (tail,) = (await back.ok("sync", {"cursors": [rest], "limit": 2}))["items"]
    assert [m["id"] for m in part["changes"] + tail["changes"]] == [c["id"], b["id"], a["id"]]
