"""The rest of a chat product across two real hub processes behind one real
redis-server (issue 17): reactions, mentions, threads, mute and the unread total,
and ``sync`` after a disconnect bringing the reactions and pins made meanwhile.
Pins and receipts have their own cluster tests (test_message_pins_cluster.py,
test_receipts_cluster.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from recorder import Recorder
from test_cluster import CONV, conversation_of, running_cluster

pytestmark = [pytest.mark.slow, pytest.mark.redis]  # two hub processes and a redis-server

NOTIFICATIONS = "/notifications"


def send(cid: str, client_msg_id: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text, **extra}


async def test_reactions_mentions_threads_mute_and_sync_cross_processes(tmp_path: Path) -> None:
    async with running_cluster(tmp_path, 2) as cluster:
        a, b = cluster.hubs
        ann, bob = [await cluster.register(n) for n in ("ann", "bob")]
        bob_id = bob["user"]["id"]
        ann_a = Recorder(await cluster.connect(a, ann))
        bob_client = await cluster.connect(b, bob, (CONV, NOTIFICATIONS))
        bob_b = Recorder(bob_client)
        bob_notes = Recorder(bob_client, NOTIFICATIONS)
        cid = await conversation_of(cluster, ann_a, [bob])
        root = await ann_a.ok("message:send", send(cid, "root", "ship it?"))
        await bob_b.wait_for("message:new")

        # A reaction made on node A reaches node B, with bob's own "me".
        await ann_a.ok("reaction:add", {"message_id": root["id"], "emoji": "🚀"})
        (reaction,) = await bob_b.wait_for("message:reaction")
        assert reaction["reactions"] == [{"emoji": "🚀", "count": 1, "me": False}]
        mine = await bob_b.ok("reaction:add", {"message_id": root["id"], "emoji": ":rocket:"})
        assert mine["reactions"] == [{"emoji": "🚀", "count": 2, "me": True}]
        (back,) = await ann_a.wait_for("message:reaction")
        assert back["reactions"] == [{"emoji": "🚀", "count": 2, "me": True}]

        # A mention on node A notifies bob on node B and counts.
        await ann_a.ok("message:send", send(cid, "m1", "@bob look", mentions=[bob_id]))
        (note,) = await bob_notes.wait_for("notification")
        assert note["type"] == "mention" and note["data"]["conversation_id"] == cid
        view = await bob_b.ok("conversation:get", {"conversation_id": cid})
        assert (view["unread_count"], view["unread_mentions"]) == (2, 1)

        # A thread of three replies from both nodes updates the root.
        for n, sender in enumerate([bob_b, ann_a, bob_b]):
            await sender.ok(
                "message:send", send(cid, f"r{n}", f"reply {n}", thread_root_id=root["id"])
            )
        thread = await ann_a.ok("message:thread", {"message_id": root["id"]})
        assert [m["text"] for m in thread["items"]] == ["reply 0", "reply 1", "reply 2"]
        history = await bob_b.ok(
            "message:history", {"conversation_id": cid, "limit": 1, "before_seq": 2}
        )
        assert history["items"][0]["reply_count"] == 3

        # A system message written on node A (a new title) reaches node B in order.
        await ann_a.ok("conversation:update", {"conversation_id": cid, "title": "launch"})
        system = next(m for m in await bob_b.wait_for("message:new", 4) if m["kind"] == "system")
        assert (system["sender_id"], system["actor_id"]) == (None, ann["user"]["id"])
        assert system["card"] == {
            "type": "title",
            "ref": None,
            "state": "changed",
            "title": "launch",
        }

        # Muted on node B: out of the total, still listed.
        await bob_b.ok("conversation:update", {"conversation_id": cid, "muted": True})
        await ann_a.ok("message:send", send(cid, "m2", "while muted"))
        headers = {"Authorization": f"Bearer {bob['access_token']}"}
        url = a.url("/api/v1/messages/unread-count")
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
            counts = await response.json()
        # The title message and the one sent while muted: listed, not in the total.
        assert (counts["total"], counts["conversations"][cid]) == (0, 2)

        # Away from node B: reactions and pins made meanwhile come back with sync.
        synced = await bob_b.ok("sync", {"cursors": [{"conversation_id": cid, "after_seq": 0}]})
        rev = synced["items"][0]["rev"]
        last_seq = synced["items"][0]["messages"][-1]["seq"]
        await bob_client.disconnect()
        await ann_a.ok("reaction:remove", {"message_id": root["id"], "emoji": "🚀"})
        await ann_a.ok("reaction:add", {"message_id": root["id"], "emoji": "👍"})
        await ann_a.ok("message:pin", {"message_id": root["id"], "pinned": True})
        again = Recorder(await cluster.connect(b, bob))
        cursor = {"conversation_id": cid, "after_seq": last_seq, "after_rev": rev}
        (item,) = (await again.ok("sync", {"cursors": [cursor]}))["items"]
        assert item["messages"] == []
        (changed,) = item["changes"]
        assert changed["id"] == root["id"] and changed["pinned"] is True
        assert changed["reactions"] == [
            {"emoji": "🚀", "count": 1, "me": True},
            {"emoji": "👍", "count": 1, "me": False},
        ]
        assert [m["id"] for m in item["pins"]] == [root["id"]]
