"""Private presence (issue 20): a user's presence is visible only to users who
share a conversation, a job/bid relation or a networking connection with them,
never across a block; ``presence:subscribe`` answers ``offline`` for the others
and no live ``presence`` event reaches them. Real sockets on /presence, with the
memory backend and with a real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from hub.config import Settings
from market_client import post_bid, post_job
from processes import RedisServer
from recorder import Recorder
from users import User, Users
from waits import quiet

NS = "/presence"

pytestmark = pytest.mark.hub_settings(presence_grace_s=0.4, presence_sweep_interval_s=0.05)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "memory":
        return settings
    redis: RedisServer = request.getfixturevalue("redis_server")
    return settings.model_copy(update={"redis_url": redis.url})


def hidden(user: User) -> dict[str, Any]:
    return {"user_id": user.id, "status": "offline", "last_seen_at": None}


async def subscribe(watcher: Recorder, *targets: User) -> list[dict[str, Any]]:
    ack = await watcher.ok("presence:subscribe", {"user_ids": [t.id for t in targets]})
    return list(ack["items"])


async def direct(user: User, other: User) -> None:
    await user.ok("POST", "/conversations", {"participant_ids": [other.id]}, 201)


async def test_a_stranger_sees_offline_and_hears_nothing_until_they_share_a_conversation(
    users: Users,
) -> None:
    ann, bob = await users("ann", "bob")
    bob_device = Recorder(await bob.connect(bob.token, [NS]), NS)
    await bob_device.ok("presence:set", {"status": "busy"})  # online, and seen before
    watcher = await ann.socket(NS)

    assert await subscribe(watcher, bob) == [hidden(bob)]
    await bob_device.ok("presence:set", {"status": "away"})
    await bob.connect(bob.token, [NS])
    await quiet(0.3)  # for presence events that must not reach a stranger
    assert watcher.events["presence"] == []

    await direct(bob, ann)  # a relation that appears later counts at the next subscribe
    [state] = await subscribe(watcher, bob)
    assert state["user_id"] == bob.id and state["status"] == "away"
    await bob_device.ok("presence:set", {"status": "online"})
    assert (await watcher.wait_for("presence"))[0]["status"] == "online"


async def test_one_subscribe_sorts_related_users_from_strangers(users: Users) -> None:
    ann, bob, cat, dan = await users("ann", "bob", "cat", "dan")
    await direct(ann, bob)
    for user in (bob, cat, dan):
        await user.socket(NS)
    watcher = await ann.socket(NS)

    items = await subscribe(watcher, bob, cat, ann, dan)
    assert [(i["user_id"], i["status"]) for i in items] == [
        (bob.id, "online"),
        (cat.id, "offline"),
        (ann.id, "online"),  # oneself: always
        (dan.id, "offline"),
    ]
    assert items[1] == hidden(cat) and items[3] == hidden(dan)


async def test_a_blocked_pair_sees_offline_both_ways(users: Users) -> None:
    ann, bob = await users("ann", "bob")
    await direct(ann, bob)
    ann_socket, bob_socket = await ann.socket(NS), await bob.socket(NS)
    await ann.ok("POST", f"/users/{bob.id}/block")

    assert await subscribe(ann_socket, bob) == [hidden(bob)]
    assert await subscribe(bob_socket, ann) == [hidden(ann)]
    await ann_socket.ok("presence:set", {"status": "busy"})
    await bob_socket.ok("presence:set", {"status": "away"})
    await quiet(0.3)
    assert ann_socket.events["presence"] == [] and bob_socket.events["presence"] == []


async def test_a_block_made_while_subscribed_stops_live_events_both_ways(users: Users) -> None:
    ann, bob, cat = await users("ann", "bob", "cat")
    await direct(ann, bob)
    await direct(cat, bob)
    ann_socket, bob_socket = await ann.socket(NS), await bob.socket(NS)
    cat_socket = await cat.socket(NS)
    assert (await subscribe(ann_socket, bob))[0]["status"] == "online"
    assert (await subscribe(bob_socket, ann))[0]["status"] == "online"
    assert (await subscribe(cat_socket, bob))[0]["status"] == "online"
    await bob_socket.ok("presence:set", {"status": "busy"})
    await ann_socket.wait_for("presence")

    await bob.ok("POST", f"/users/{ann.id}/block")
    await bob_socket.ok("presence:set", {"status": "away"})
    await ann_socket.ok("presence:set", {"status": "away"})
    await quiet(0.3)  # for presence events that must not cross the block
    assert [e["status"] for e in ann_socket.events["presence"]] == ["busy"]
    assert bob_socket.events["presence"] == []
    # Others still hear bob.
    assert [e["status"] for e in await cat_socket.wait_for("presence", 2)] == ["busy", "away"]
    assert await subscribe(ann_socket, bob) == [hidden(bob)]


async def test_a_job_owner_and_a_bidder_see_each_other(users: Users) -> None:
    [owner] = await users("owner", role="client")
    [free, other] = await users("free", "other", role="freelancer")
    await post_bid(free, await post_job(owner))
    owner_socket, free_socket = await owner.socket(NS), await free.socket(NS)
    await other.socket(NS)

    assert (await subscribe(owner_socket, free))[0]["status"] == "online"
    assert (await subscribe(free_socket, owner))[0]["status"] == "online"
    assert await subscribe(free_socket, other) == [hidden(other)]
    await free_socket.ok("presence:set", {"status": "busy"})
    assert (await owner_socket.wait_for("presence"))[0]["status"] == "busy"
