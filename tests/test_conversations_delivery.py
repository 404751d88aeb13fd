"""Delivery guarantees of /conversations with real clients over real sockets."""

from __future__ import annotations

import asyncio

import pytest

from engines import ON_BOTH_ENGINES
from recorder import Recorder
from waits import quiet

NS = "/conversations"
pytestmark = ON_BOTH_ENGINES


async def devices(connect, account, count):  # type: ignore[no-untyped-def]
    return [Recorder(await connect(account["access_token"], [NS])) for _ in range(count)]


async def test_message_reaches_every_other_socket_once(api, connect):
    ann, bob = await api.register("ann"), await api.register("bob")
    ann1, ann2 = await devices(connect, ann, 2)
    bob1, bob2 = await devices(connect, bob, 2)
    conversation = await ann1.ok("conversation:create", {"participant_ids": [bob["user"]["id"]]})
    for device in (ann2, bob1, bob2):
        await device.wait_for("conversation:created")
    message = await ann1.ok(
        "message:send",
        {"conversation_id": conversation["id"], "client_msg_id": "m1", "text": "  hello  "},
    )
    assert message["seq"] == 1 and message["text"] == "hello"
    for device in (ann2, bob1, bob2):
        assert (await device.wait_for("message:new")) == [message]
    await quiet()  # for an echo to the sending socket
    assert ann1.events["message:new"] == []
    assert ann1.events["conversation:created"] == []

    edited = await ann1.ok("message:edit", {"message_id": message["id"], "text": "hello!"})
    read = await bob1.ok("message:read", {"conversation_id": conversation["id"], "seq": 1})
    assert read == {"conversation_id": conversation["id"], "read_seq": 1, "unread_count": 0}
    await ann1.ok("typing", {"conversation_id": conversation["id"], "typing": True})
    await ann1.ok("message:delete", {"message_id": message["id"]})
    for device in (ann2, bob1, bob2):
        assert (await device.wait_for("message:edit")) == [edited]
        assert (await device.wait_for("message:delete"))[0] == {
            "conversation_id": conversation["id"],
            "message_id": message["id"],
            "seq": 1,
        }
    for device in (ann1, ann2, bob2):
        read_event = (await device.wait_for("message:read"))[0]
        assert read_event["user_id"] == bob["user"]["id"] and read_event["seq"] == 1
    for device in (bob1, bob2):
        typing = (await device.wait_for("typing"))[0]
        assert typing == {
            "conversation_id": conversation["id"],
            "user_id": ann["user"]["id"],
            "typing": True,
            "expires_in_ms": 6000,
        }
    await quiet()  # for an echo to the typer's or the reader's own devices
    assert ann2.events["typing"] == [] and bob1.events["message:read"] == []


async def test_outsiders_get_nothing_and_are_refused(api, connect):
    ann, bob, eve = [await api.register(n) for n in ("ann", "bob", "eve")]
    (ann1,) = await devices(connect, ann, 1)
    (eve1,) = await devices(connect, eve, 1)
    conversation = await ann1.ok("conversation:create", {"participant_ids": [bob["user"]["id"]]})
    message = await ann1.ok(
        "message:send",
        {"conversation_id": conversation["id"], "client_msg_id": "m1", "text": "secret"},
    )
    cid, mid = conversation["id"], message["id"]
    attempts = {
        "conversation:get": {"conversation_id": cid},
        "conversation:update": {"conversation_id": cid, "title": "x"},
        "conversation:add_participants": {"conversation_id": cid, "user_ids": [eve["user"]["id"]]},
        "conversation:remove_participant": {"conversation_id": cid, "user_id": ann["user"]["id"]},
        "message:send": {"conversation_id": cid, "client_msg_id": "e1", "text": "hi"},
        "message:edit": {"message_id": mid, "text": "pwned"},
        "message:delete": {"message_id": mid},
        "message:history": {"conversation_id": cid},
        "message:read": {"conversation_id": cid, "seq": 1},
        "typing": {"conversation_id": cid, "typing": True},
        "sync": {"cursors": [{"conversation_id": cid, "after_seq": 0}]},
    }
    for event, payload in attempts.items():
        ack = await eve1.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", (event, ack)
    unknown = await eve1.call("conversation:get", {"conversation_id": "nope"})
    assert unknown["error"]["code"] == "not_found"
    await quiet()  # for any event that would have leaked to eve
    assert dict(eve1.events) == {}


@pytest.mark.slow  # 20 senders, 1,000 messages
async def test_concurrent_senders_are_seen_in_seq_order(api, connect):
    owner = await api.register("owner")
    senders = [await api.register(f"s{i}") for i in range(20)]
    (watcher,) = await devices(connect, owner, 1)
    conversation = await watcher.ok(
        "conversation:create",
        {"participant_ids": [s["user"]["id"] for s in senders], "type": "group", "title": "race"},
    )
    clients = [(await devices(connect, s, 1))[0] for s in senders]

    async def burst(index: int, client: Recorder) -> None:
        for n in range(50):
            await client.ok(
                "message:send",
                {
                    "conversation_id": conversation["id"],
                    "client_msg_id": f"{index}-{n}",
                    "text": f"{index}/{n}",
                },
            )

    await asyncio.gather(*(burst(i, c) for i, c in enumerate(clients)))
    received = await watcher.wait_for("message:new", 1000, timeout=30)
    assert [m["seq"] for m in received] == list(range(1, 1001))
    for index, client in enumerate(clients):
        seen = await client.wait_for("message:new", 950, timeout=10)
        seqs = [m["seq"] for m in seen]
        assert seqs == sorted(seqs) and len(set(seqs)) == 950, index
    history = await watcher.ok(
        "message:history", {"conversation_id": conversation["id"], "after_seq": 0, "limit": 100}
    )
    assert len(history["items"]) == 100 and history["has_more"] is True
    counts = await api.http.get("/api/v1/messages/unread-count", headers=api.auth(owner))
    assert (await counts.json())["total"] == 1000


async def test_resend_returns_the_original_even_after_reconnect(api, connect):
    ann, bob = await api.register("ann"), await api.register("bob")
    (ann1,) = await devices(connect, ann, 1)
    (bob1,) = await devices(connect, bob, 1)
    conversation = await ann1.ok("conversation:create", {"participant_ids": [bob["user"]["id"]]})
    payload = {"conversation_id": conversation["id"], "client_msg_id": "once", "text": "hi"}
    first = await ann1.ok("message:send", payload)
    assert await ann1.ok("message:send", payload) == first
    await ann1.client.disconnect()
    (again,) = await devices(connect, ann, 1)
    assert await again.ok("message:send", payload) == first
    second = await again.ok("message:send", {**payload, "client_msg_id": "twice"})
    assert second["seq"] == 2
    await bob1.wait_for("message:new", 2)
    await quiet()  # for a duplicate of a resent message
    assert [m["seq"] for m in bob1.events["message:new"]] == [1, 2]


async def test_sync_returns_exactly_what_was_missed(api, connect):
    ann, bob = await api.register("ann"), await api.register("bob")
    (ann1,) = await devices(connect, ann, 1)
    (bob1,) = await devices(connect, bob, 1)
    conversation = await ann1.ok("conversation:create", {"participant_ids": [bob["user"]["id"]]})
    cid = conversation["id"]
    await ann1.ok("message:send", {"conversation_id": cid, "client_msg_id": "0", "text": "before"})
    await bob1.wait_for("message:new")
    await bob1.client.disconnect()
    for n in range(1, 51):
        await ann1.ok(
            "message:send", {"conversation_id": cid, "client_msg_id": str(n), "text": f"m{n}"}
        )
    (back,) = await devices(connect, bob, 1)
    synced = await back.ok("sync", {"cursors": [{"conversation_id": cid, "after_seq": 1}]})
    (item,) = synced["items"]
    assert item["has_more"] is False
    assert [m["seq"] for m in item["messages"]] == list(range(2, 52))
    assert [m["text"] for m in item["messages"]] == [f"m{n}" for n in range(1, 51)]
