"""/presence in one process, with the memory backend and with a real Redis.

Presence is private (issue 20): the watcher and the target of these tests share
a direct conversation; tests/test_presence_privacy.py covers who may see whom.
"""

from __future__ import annotations

import asyncio

import pytest

from hub.config import Settings
from processes import RedisServer
from recorder import Recorder
from users import API, Api
from waits import quiet

NS = "/presence"


pytestmark = pytest.mark.hub_settings(presence_grace_s=0.4, presence_sweep_interval_s=0.05)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """Each test runs on the memory backend, then on a real Redis."""
    if request.param == "memory":
        return settings
    redis: RedisServer = request.getfixturevalue("redis_server")
    return settings.model_copy(update={"redis_url": redis.url})


async def relate(api: Api, a: dict, b: dict) -> None:  # type: ignore[type-arg]
    """A direct conversation between two accounts: they may see each other's presence."""
    response = await api.http.post(
        f"{API}/conversations", json={"participant_ids": [b["user"]["id"]]}, headers=api.auth(a)
    )
    assert response.status == 201, await response.text()


async def watcher_and_target(api, connect):  # type: ignore[no-untyped-def]
    watcher, target = await api.register("watcher"), await api.register("target")
    await relate(api, watcher, target)
    client = Recorder(await connect(watcher["access_token"], [NS]), NS)
    return client, target


async def test_subscribers_see_online_status_changes_and_offline_after_grace(api, connect):
    watcher, target = await watcher_and_target(api, connect)
    target_id = target["user"]["id"]
    ack = await watcher.ok("presence:subscribe", {"user_ids": [target_id]})
    assert ack == {"items": [{"user_id": target_id, "status": "offline", "last_seen_at": None}]}

    device = await connect(target["access_token"], [NS])
    online = (await watcher.wait_for("presence"))[0]
    assert online["user_id"] == target_id and online["status"] == "online"
    await device.call("presence:set", {"status": "away"}, namespace=NS)
    assert (await watcher.wait_for("presence", 2))[1]["status"] == "away"

    await device.disconnect()
    await quiet()  # half the 0.4 s grace period: no offline yet
    assert len(watcher.events["presence"]) == 2, "offline came before the grace period"
    offline = (await watcher.wait_for("presence", 3, timeout=3))[2]
    assert offline["status"] == "offline" and offline["last_seen_at"]
    again = await watcher.ok("presence:subscribe", {"user_ids": [target_id]})
    assert again["items"][0] == {
        "user_id": target_id,
        "status": "offline",
        "last_seen_at": offline["last_seen_at"],
    }


@pytest.mark.slow  # waits out the grace period twice
async def test_a_reload_within_the_grace_period_does_not_flap(api, connect):
    watcher, target = await watcher_and_target(api, connect)
    await watcher.ok("presence:subscribe", {"user_ids": [target["user"]["id"]]})
    first = await connect(target["access_token"], [NS])
    await watcher.wait_for("presence")
    await first.disconnect()
    await connect(target["access_token"], [NS])
    await asyncio.sleep(0.8)  # on purpose: twice the grace period, and no offline
    assert [e["status"] for e in watcher.events["presence"]] == ["online"]


@pytest.mark.slow  # waits out the grace period twice
async def test_online_while_any_socket_is_connected(api, connect):
    watcher, target = await watcher_and_target(api, connect)
    await watcher.ok("presence:subscribe", {"user_ids": [target["user"]["id"]]})
    phone = await connect(target["access_token"], [NS])
    laptop = await connect(target["access_token"], [NS])
    await watcher.wait_for("presence")
    await phone.disconnect()
    await asyncio.sleep(0.8)  # on purpose: twice the grace period, and no offline
    assert [e["status"] for e in watcher.events["presence"]] == ["online"]
    await laptop.disconnect()
    assert (await watcher.wait_for("presence", 2, timeout=3))[1]["status"] == "offline"


async def test_only_subscribers_hear_and_unsubscribe_stops_it(api, connect):
    watcher, target = await watcher_and_target(api, connect)
    bystander = Recorder(await connect((await api.register("by"))["access_token"], [NS]), NS)
    target_id = target["user"]["id"]
    await watcher.ok("presence:subscribe", {"user_ids": [target_id]})
    await connect(target["access_token"], [NS])
    await watcher.wait_for("presence")
    await watcher.ok("presence:unsubscribe", {"user_ids": [target_id]})
    other = await connect(target["access_token"], [NS])
    await other.call("presence:set", {"status": "busy"}, namespace=NS)
    await quiet(0.3)  # for presence events that must not reach the unsubscribed
    assert len(watcher.events["presence"]) == 1
    assert bystander.events["presence"] == []


async def test_bad_presence_payloads(api, connect):
    watcher, _ = await watcher_and_target(api, connect)
    too_many = {"user_ids": [f"u{i}" for i in range(501)]}
    for event, payload in [
        ("presence:subscribe", too_many),
        ("presence:subscribe", {}),
        ("presence:subscribe", {"user_ids": "x"}),
        ("presence:set", {"status": "invisible"}),
        ("presence:unsubscribe", []),
    ]:
        ack = await watcher.call(event, payload)
        assert ack["error"]["code"] == "validation_failed", (event, ack)
    assert (await watcher.call("presence:subscribe", {"user_ids": ["u1"] * 500}))["ok"]
