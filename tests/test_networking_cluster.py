"""The lobby scenario and a cross-process call, with two hub processes behind one Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import socketio

from processes import PYTHON, hub_env
from recorder import Recorder
from test_cluster import running_cluster
from test_networking import NETWORKING_SETTINGS, Net, lobby_scenario

pytestmark = [pytest.mark.slow, pytest.mark.redis]  # two hub processes and a redis-server

SIG = "/signaling"


async def create_admin(tmp_path: Path, redis_url: str, email: str) -> None:
    """``hub create-admin``, the CLI, on the processes' own settings and store."""
    process = await asyncio.create_subprocess_exec(
        str(PYTHON),
        "-m",
        "hub",
        "create-admin",
        "--email",
        email,
        "--password",
        "correct horse",
        cwd=tmp_path,
        env=hub_env(tmp_path, redis_url=redis_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, output.decode()


async def test_lobby_and_calls_across_two_processes(tmp_path: Path) -> None:
    async with running_cluster(tmp_path, 2, **NETWORKING_SETTINGS) as cluster:
        net = Net([hub.url("").rstrip("/") for hub in cluster.hubs])
        try:
            await create_admin(tmp_path, cluster.redis.url, "admin@example.com")
            admin = await net.login("admin@example.com")
            await lobby_scenario(net, admin)
            await call_across_processes(net)
        finally:
            await net.close()


async def call_across_processes(net: Net) -> None:
    """Caller on one process, callee's two devices on both: ringing, accept,
    answered elsewhere, relay to the engaged device only, and hang-up."""
    ann, bob = await net.register("ann"), await net.register("bob")
    status, conversation = await net.rest(
        "POST", "/conversations", ann, {"participant_ids": [bob["user"]["id"]]}
    )
    assert status == 201

    async def device(account: dict, hub: int) -> Recorder:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            net.bases[hub],
            namespaces=[SIG],
            transports=["websocket"],
            auth={"token": account["access_token"]},
            wait_timeout=5,
        )
        net.extra_clients.append(client)
        return Recorder(client, SIG)

    a, b0, b1 = await device(ann, 0), await device(bob, 0), await device(bob, 1)
    call = await a.ok("call:invite", {"conversation_id": conversation["id"], "media": "audio"})
    for callee in (b0, b1):
        await callee.wait_for("call:incoming")
    await b1.ok("call:accept", {"call_id": call["id"]})  # on the other process
    await b0.error("call:accept", {"call_id": call["id"]}, "conflict")
    await b0.wait_for("call:answered_elsewhere")
    await a.wait_for("call:accepted")
    await a.ok("signal", {"call_id": call["id"], "type": "offer", "sdp": "v=0 x"})
    signal = (await b1.wait_for("signal"))[0]
    assert signal["from_user_id"] == ann["user"]["id"] and signal["sdp"] == "v=0 x"
    await b0.error("signal", {"call_id": call["id"], "type": "answer", "sdp": "v=0"}, "forbidden")
    await b1.ok("signal", {"call_id": call["id"], "type": "answer", "sdp": "v=0 y"})
    assert (await a.wait_for("signal"))[0]["sdp"] == "v=0 y"
    await b1.ok("call:end", {"call_id": call["id"]})
    assert (await a.wait_for("call:ended"))[0]["reason"] == "hangup"
    assert b0.events["signal"] == []
