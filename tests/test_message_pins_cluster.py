"""Message pins across two real hub processes behind one real redis-server (issue
17): a pin made on node A reaches a participant on node B, and ``sync`` on node B
after a disconnect brings the pins made meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder import Recorder
from test_cluster import conversation_of, running_cluster

pytestmark = [pytest.mark.slow, pytest.mark.redis]  # two hub processes and a redis-server


async def test_pins_cross_processes_and_come_back_with_sync(tmp_path: Path) -> None:
    async with running_cluster(tmp_path, 2) as cluster:
        a, b = cluster.hubs
        ann, bob = [await cluster.register(n) for n in ("ann", "bob")]
        ann_a = Recorder(await cluster.connect(a, ann))
        bob_b = Recorder(await cluster.connect(b, bob))
        cid = await conversation_of(cluster, ann_a, [bob])
        messages = [
            await ann_a.ok(
                "message:send", {"conversation_id": cid, "client_msg_id": f"m{n}", "text": "hi"}
            )
            for n in range(3)
        ]

        await ann_a.ok("message:pin", {"message_id": messages[0]["id"], "pinned": True})
        (pinned,) = await bob_b.wait_for("message:pinned")
        assert pinned == {
            "conversation_id": cid,
            "message_id": messages[0]["id"],
            "pinned": True,
            "by_user_id": ann["user"]["id"],
        }
        listed = await bob_b.ok("conversation:pins", {"conversation_id": cid})
        assert [m["id"] for m in listed["items"]] == [messages[0]["id"]]

        await bob_b.client.disconnect()
        await ann_a.ok("message:pin", {"message_id": messages[1]["id"], "pinned": True})
        await ann_a.ok("message:pin", {"message_id": messages[0]["id"], "pinned": False})
        back = Recorder(await cluster.connect(b, bob))
        result = await back.ok("sync", {"cursors": [{"conversation_id": cid, "after_seq": 3}]})
        (item,) = result["items"]
        assert item["messages"] == []
        assert [m["id"] for m in item["pins"]] == [messages[1]["id"]]
