"""Receipts across two real hub processes behind one real redis-server (issue 17):
a delivered receipt and a read made on node B reach the sender on node A, and
mark unread reaches the user's other device on node A."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder import Recorder
from test_cluster import conversation_of, running_cluster
from waits import quiet

pytestmark = [pytest.mark.slow, pytest.mark.redis]  # two hub processes and a redis-server


async def test_receipts_and_mark_unread_cross_processes(tmp_path: Path) -> None:
    async with running_cluster(tmp_path, 2) as cluster:
        a, b = cluster.hubs
        ann, bob = [await cluster.register(n) for n in ("ann", "bob")]
        ann_a = Recorder(await cluster.connect(a, ann))
        bob_a = Recorder(await cluster.connect(a, bob))
        bob_b = Recorder(await cluster.connect(b, bob))
        cid = await conversation_of(cluster, ann_a, [bob])
        for n in range(3):
            await ann_a.ok(
                "message:send", {"conversation_id": cid, "client_msg_id": f"m{n}", "text": "hi"}
            )

        assert await bob_b.ok("message:delivered", {"conversation_id": cid, "seq": 3}) == {}
        (delivered,) = await ann_a.wait_for("message:delivered")
        assert (delivered["user_id"], delivered["seq"]) == (bob["user"]["id"], 3)
        await bob_b.ok("message:read", {"conversation_id": cid, "seq": 3})
        (read,) = await ann_a.wait_for("message:read")
        assert (read["user_id"], read["seq"]) == (bob["user"]["id"], 3)
        view = await ann_a.ok("conversation:get", {"conversation_id": cid})
        bob_receipt = next(r for r in view["receipts"] if r["user_id"] == bob["user"]["id"])
        assert (bob_receipt["delivered_seq"], bob_receipt["read_seq"]) == (3, 3)

        unread = await bob_b.ok("conversation:mark_unread", {"conversation_id": cid, "seq": 2})
        assert (unread["read_seq"], unread["unread_count"]) == (1, 2)
        (updated,) = await bob_a.wait_for("conversation:updated")
        assert (updated["id"], updated["read_seq"], updated["unread_count"]) == (cid, 1, 2)

        await quiet()  # for a receipt echoed to its own user
        assert bob_a.events["message:delivered"] == []
        assert ann_a.events["conversation:updated"] == []
