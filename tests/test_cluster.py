"""Three real hub processes behind one real redis-server and one SQLite file."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import socketio

from processes import (
    RedisServer,
    RunningHub,
    hub_env,
    register,
    running_hub,
    running_redis,
    wait_for_subscribers,
)
from recorder import Recorder
from waits import eventually, quiet

pytestmark = [pytest.mark.slow, pytest.mark.redis]  # three hub processes and a redis-server

CONV = "/conversations"
PRESENCE = "/presence"
PROCESS_TIMEOUT_S = 2.0
CLUSTER_SETTINGS = {
    "presence_grace_s": 0.5,
    "presence_process_timeout_s": PROCESS_TIMEOUT_S,
    "presence_sweep_interval_s": 0.2,
    "message_gap_timeout_s": 0.3,
    "typing_expires_ms": 600,
    "rate_limits": "off",
}


class Cluster:
    def __init__(self, redis: RedisServer, hubs: list[RunningHub]) -> None:
        self.redis = redis
        self.hubs = hubs
        self.clients: list[socketio.AsyncClient] = []
        self._count = 0

    async def register(self, name: str) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            return await register(session, self.hubs[0], name)

    async def connect(
        self, hub: RunningHub, account: dict[str, Any], namespaces: tuple[str, ...] = (CONV,)
    ) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            hub.url(),
            namespaces=list(namespaces),
            transports=["websocket"],
            auth={"token": account["access_token"]},
            wait_timeout=5,
        )
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            if client.connected:
                await client.disconnect()


CHANNELS = ("hub:socketio", "hub:message-new")


@asynccontextmanager
async def running_cluster(tmp_path: Path, size: int, **settings: Any) -> AsyncIterator[Cluster]:
    """``size`` hub processes sharing one redis-server and one SQLite file."""
    async with AsyncExitStack() as stack:
        redis = await stack.enter_async_context(running_redis(tmp_path))
        env = hub_env(tmp_path, redis_url=redis.url, **{**CLUSTER_SETTINGS, **settings})
        hubs = [
            await stack.enter_async_context(running_hub(tmp_path, env, f"hub{i}"))
            for i in range(size)
        ]
        await wait_for_subscribers(redis.url, size, *CHANNELS)
        result = Cluster(redis, hubs)
        yield result
        await result.close()


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(tmp_path, 3) as result:
        yield result


async def conversation_of(cluster: Cluster, owner: Recorder, others: list[dict[str, Any]]) -> str:
    ids = [o["user"]["id"] for o in others]
    created = await owner.ok("conversation:create", {"participant_ids": ids, "type": "group"})
    return created["id"]


async def test_messages_presence_and_typing_cross_processes(cluster: Cluster) -> None:
    a, b, c = cluster.hubs
    ann, bob, cat = [await cluster.register(n) for n in ("ann", "bob", "cat")]
    ann_a = Recorder(await cluster.connect(a, ann))
    ann_c = Recorder(await cluster.connect(c, ann))
    bob_b = Recorder(await cluster.connect(b, bob, (CONV, PRESENCE)))
    cat_c = Recorder(await cluster.connect(c, cat, (CONV, PRESENCE)))
    # Presence is private (issue 20): the conversation comes before the subscribes.
    conversation_id = await conversation_of(cluster, ann_a, [bob, cat])
    bob_presence = await bob_b.client.call(
        "presence:subscribe", {"user_ids": [ann["user"]["id"]]}, namespace=PRESENCE
    )
    await cat_c.client.call(
        "presence:subscribe", {"user_ids": [ann["user"]["id"]]}, namespace=PRESENCE
    )
    assert bob_presence["data"]["items"][0]["status"] == "offline"
    sent = [
        await ann_a.ok(
            "message:send",
            {"conversation_id": conversation_id, "client_msg_id": f"m{n}", "text": f"hello {n}"},
        )
        for n in range(5)
    ]
    for receiver in (ann_c, bob_b, cat_c):
        got = await receiver.wait_for("message:new", 5)
        assert [m["seq"] for m in got] == [1, 2, 3, 4, 5]
        assert got == sent
    await quiet()  # for an echo to the sender, from any process
    assert ann_a.events["message:new"] == []

    await ann_a.ok("typing", {"conversation_id": conversation_id, "typing": True})
    for receiver in (bob_b, cat_c):
        typing = (await receiver.wait_for("typing"))[0]
        assert typing["user_id"] == ann["user"]["id"] and typing["typing"] is True
    for receiver in (bob_b, cat_c):  # not refreshed: expires for everyone, on every process
        expired = (await receiver.wait_for("typing", 2, timeout=3))[1]
        assert expired["typing"] is False and expired["expires_in_ms"] == 600

    presence_events: dict[str, list[Any]] = {"bob": [], "cat": []}
    bob_b.client.on("presence", presence_events["bob"].append, namespace=PRESENCE)
    cat_c.client.on("presence", presence_events["cat"].append, namespace=PRESENCE)
    ann_presence = await cluster.connect(a, ann, (PRESENCE,))
    await eventually(lambda: presence_events["bob"] and presence_events["cat"])
    assert presence_events["bob"][0]["status"] == "online"
    assert presence_events["cat"][0]["status"] == "online"
    await ann_presence.disconnect()
    await eventually(lambda: len(presence_events["bob"]) == 2 and len(presence_events["cat"]) == 2)
    assert presence_events["bob"][1]["status"] == "offline"


async def test_racing_senders_on_three_processes_are_seen_in_order(cluster: Cluster) -> None:
    owner = await cluster.register("owner")
    senders = [await cluster.register(f"s{i}") for i in range(10)]
    watchers = [Recorder(await cluster.connect(hub, owner)) for hub in cluster.hubs]
    conversation_id = await conversation_of(cluster, watchers[0], senders)
    clients = [
        Recorder(await cluster.connect(cluster.hubs[i % 3], s)) for i, s in enumerate(senders)
    ]

    async def burst(index: int, client: Recorder) -> None:
        for n in range(20):
            await client.ok(
                "message:send",
                {"conversation_id": conversation_id, "client_msg_id": f"{index}-{n}", "text": "x"},
            )

    await asyncio.gather(*(burst(i, c) for i, c in enumerate(clients)))
    for watcher in watchers:
        got = await watcher.wait_for("message:new", 200, timeout=20)
        assert [m["seq"] for m in got] == list(range(1, 201))
    for index, client in enumerate(clients):
        got = await client.wait_for("message:new", 180, timeout=10)
        seqs = [m["seq"] for m in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == 180, index
        assert not any(m["sender_id"] == senders[index]["user"]["id"] for m in got)


async def test_a_killed_process_takes_its_users_offline_and_clients_resync(
    cluster: Cluster,
) -> None:
    a, b, c = cluster.hubs
    ann, bob = await cluster.register("ann"), await cluster.register("bob")
    bob_b = Recorder(await cluster.connect(b, bob, (CONV, PRESENCE)))
    conversation_id = await conversation_of(cluster, bob_b, [ann])  # related: presence visible
    states: list[Any] = []
    bob_b.client.on("presence", states.append, namespace=PRESENCE)
    await bob_b.client.call(
        "presence:subscribe", {"user_ids": [ann["user"]["id"]]}, namespace=PRESENCE
    )
    ann_c = Recorder(await cluster.connect(c, ann, (CONV, PRESENCE)))
    await eventually(lambda: states and states[-1]["status"] == "online")
    await bob_b.ok(
        "message:send", {"conversation_id": conversation_id, "client_msg_id": "1", "text": "before"}
    )
    await ann_c.wait_for("message:new")

    killed_at = time.monotonic()
    await c.kill()
    await eventually(lambda: states[-1]["status"] == "offline", timeout=PROCESS_TIMEOUT_S + 5)
    assert time.monotonic() - killed_at < PROCESS_TIMEOUT_S + 3
    for n in range(2, 12):
        await bob_b.ok(
            "message:send",
            {"conversation_id": conversation_id, "client_msg_id": str(n), "text": f"m{n}"},
        )
    ann_a = Recorder(await cluster.connect(a, ann))
    synced = await ann_a.ok(
        "sync", {"cursors": [{"conversation_id": conversation_id, "after_seq": 1}]}
    )
    assert [m["seq"] for m in synced["items"][0]["messages"]] == list(range(2, 12))


async def test_redis_outage_keeps_acks_and_delivery_resumes(cluster: Cluster) -> None:
    a, b, _ = cluster.hubs
    ann, bob = await cluster.register("ann"), await cluster.register("bob")
    ann_a = Recorder(await cluster.connect(a, ann))
    bob_b = Recorder(await cluster.connect(b, bob))
    conversation_id = await conversation_of(cluster, ann_a, [bob])
    await ann_a.ok(
        "message:send", {"conversation_id": conversation_id, "client_msg_id": "1", "text": "one"}
    )
    await bob_b.wait_for("message:new")

    port = cluster.redis.port
    await cluster.redis.stop()
    outage = [
        await ann_a.ok(
            "message:send",
            {"conversation_id": conversation_id, "client_msg_id": f"down{n}", "text": "during"},
        )
        for n in range(3)
    ]
    assert [m["seq"] for m in outage] == [2, 3, 4]
    async with aiohttp.ClientSession() as session:
        async with session.get(a.url("/readyz")) as response:
            assert response.status == 503
            assert (await response.json())["checks"]["redis"] == "unavailable"

    cluster.redis.port = port
    await cluster.redis.start()
    await wait_for_subscribers(cluster.redis.url, 3, *CHANNELS)
    synced = await bob_b.ok(
        "sync", {"cursors": [{"conversation_id": conversation_id, "after_seq": 1}]}
    )
    assert [m["seq"] for m in synced["items"][0]["messages"]] == [2, 3, 4]
    after = await ann_a.ok(
        "message:send", {"conversation_id": conversation_id, "client_msg_id": "up", "text": "back"}
    )
    # B's sequencer sees seq 5 after 1, so it fills 2..4 from the store first.
    got = await bob_b.wait_for("message:new", 5, timeout=10)
    assert [m["seq"] for m in got] == [1, 2, 3, 4, 5] and got[-1] == after
    for hub in cluster.hubs:
        assert hub.process.returncode is None, hub.output()


async def test_sigterm_closes_sockets_and_survivors_mark_users_offline(cluster: Cluster) -> None:
    a, b, _ = cluster.hubs
    ann, bob = await cluster.register("ann"), await cluster.register("bob")
    watcher = await cluster.connect(b, bob, (CONV, PRESENCE))
    await conversation_of(cluster, Recorder(watcher), [ann])  # related: presence visible
    states: list[Any] = []
    watcher.on("presence", states.append, namespace=PRESENCE)
    await watcher.call("presence:subscribe", {"user_ids": [ann["user"]["id"]]}, namespace=PRESENCE)
    leaving = await cluster.connect(a, ann, (PRESENCE,))
    await eventually(lambda: states and states[-1]["status"] == "online")
    assert await a.stop() == 0
    await eventually(lambda: not leaving.connected)
    await eventually(lambda: states[-1]["status"] == "offline", timeout=5)


async def test_a_block_on_one_process_stops_presence_events_on_another(cluster: Cluster) -> None:
    """Private presence (issue 20): the block is made over REST on hub A; the
    watcher's socket on hub B leaves the blocker's watchers room (and back)."""
    a, b, c = cluster.hubs
    ann, bob, cat = [await cluster.register(n) for n in ("ann", "bob", "cat")]
    ann_b = Recorder(await cluster.connect(b, ann, (CONV, PRESENCE)))
    await conversation_of(cluster, ann_b, [bob, cat])
    bob_c = Recorder(await cluster.connect(c, bob, (PRESENCE,)), PRESENCE)
    cat_c = Recorder(await cluster.connect(c, cat, (PRESENCE,)), PRESENCE)
    ann_watch = Recorder(ann_b.client, PRESENCE)
    for watcher, target in ((ann_watch, bob), (bob_c, ann), (cat_c, bob)):
        await watcher.ok("presence:subscribe", {"user_ids": [target["user"]["id"]]})
    await bob_c.ok("presence:set", {"status": "busy"})
    await ann_watch.wait_for("presence")

    async with aiohttp.ClientSession() as session:
        response = await session.post(
            a.url(f"/api/v1/users/{ann['user']['id']}/block"),
            headers={"Authorization": f"Bearer {bob['access_token']}"},
        )
        assert response.status == 200, await response.text()
    await bob_c.ok("presence:set", {"status": "away"})
    await ann_watch.ok("presence:set", {"status": "away"})
    assert [e["status"] for e in await cat_c.wait_for("presence", 2)] == ["busy", "away"]
    await quiet(0.3)  # for presence events that must not cross the block
    assert [e["status"] for e in ann_watch.events["presence"]] == ["busy"]
    assert bob_c.events["presence"] == []


async def test_rate_limits_hold_across_processes(tmp_path: Path) -> None:
    async with running_cluster(
        tmp_path, 2, rate_limits="on", rate_limit_message_send="5/60s"
    ) as cluster:
        a, b = cluster.hubs
        ann, bob = await cluster.register("ann"), await cluster.register("bob")
        on_a = Recorder(await cluster.connect(a, ann))
        on_b = Recorder(await cluster.connect(b, ann))
        conversation_id = await conversation_of(cluster, on_a, [bob])
        acks = []
        for n in range(6):
            device = on_a if n % 2 == 0 else on_b
            acks.append(
                await device.call(
                    "message:send",
                    {"conversation_id": conversation_id, "client_msg_id": f"m{n}", "text": "hi"},
                )
            )
        assert [ack["ok"] for ack in acks] == [True] * 5 + [False]
        assert acks[5]["error"]["code"] == "rate_limited"
        assert acks[5]["error"]["details"]["retry_after_ms"] > 0
