"""An acked message is durable: it survives the real CLI server being SIGKILLed.

``python -m hub serve`` runs as a subprocess on a SQLite file; a python-socketio
client sends messages, each acked; the process is killed without a chance to
flush or shut down, restarted on the same file, and everything acked is there.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from processes import RunningHub, hub_env, register, running_hub

pytestmark = pytest.mark.slow  # hub processes

NS = "/conversations"
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=5)
SECRET = "conversations-restart-secret-that-is-long-enough-0123456789"
COUNT = 20


async def rest(
    session: aiohttp.ClientSession,
    hub: RunningHub,
    method: str,
    path: str,
    token: str | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    headers = {**kwargs.pop("headers", {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with session.request(
        method, hub.url("/api/v1" + path), headers=headers, **kwargs
    ) as response:
        return response.status, await response.json(content_type=None)


@asynccontextmanager
async def conversations_socket(hub: RunningHub, token: str) -> AsyncIterator[socketio.AsyncClient]:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        hub.base, namespaces=[NS], auth={"token": token}, transports=["websocket"], wait_timeout=5
    )
    try:
        yield client
    finally:
        try:
            await asyncio.wait_for(client.disconnect(), 5)
        except TimeoutError:
            pass


async def ok(client: socketio.AsyncClient, event: str, payload: dict[str, Any]) -> Any:
    ack = await client.call(event, payload, namespace=NS, timeout=10)
    assert ack["ok"] is True, (event, ack)
    return ack["data"]


async def test_acked_messages_survive_sigkill(tmp_path: Path) -> None:
    env = hub_env(tmp_path, jwt_secret=SECRET)
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        async with running_hub(tmp_path, env, "first") as hub:
            ann, bob = await register(session, hub, "ann"), await register(session, hub, "bob")
            async with conversations_socket(hub, ann["access_token"]) as client:
                conversation = await ok(
                    client, "conversation:create", {"participant_ids": [bob["user"]["id"]]}
                )
                cid = conversation["id"]
                acked = [
                    await ok(
                        client,
                        "message:send",
                        {"conversation_id": cid, "client_msg_id": f"m-{n}", "text": f"message {n}"},
                    )
                    for n in range(1, COUNT + 1)
                ]
                assert [m["seq"] for m in acked] == list(range(1, COUNT + 1))
                # A REST send with an Idempotency-Key, in a second conversation.
                group = await ok(
                    client,
                    "conversation:create",
                    {"participant_ids": [bob["user"]["id"]], "type": "group"},
                )
                key = {"Idempotency-Key": "rest-once"}
                status, by_rest = await rest(
                    session,
                    hub,
                    "POST",
                    f"/conversations/{group['id']}/messages",
                    ann["access_token"],
                    json={"text": "via rest"},
                    headers=key,
                )
                assert status == 201, by_rest
                # Killed straight after the last ack: acked must already mean durable.
                await hub.kill()
                assert hub.process.returncode == -signal.SIGKILL

        async with running_hub(tmp_path, env, "second") as hub:
            async with conversations_socket(hub, bob["access_token"]) as bobs:
                history = await ok(
                    bobs, "message:history", {"conversation_id": cid, "after_seq": 0, "limit": 100}
                )
                assert history["has_more"] is False
                assert history["items"] == acked
                view = await ok(bobs, "conversation:get", {"conversation_id": cid})
                assert view["last_seq"] == COUNT and view["last_message"] == acked[-1]
                assert view["unread_count"] == COUNT

            async with conversations_socket(hub, ann["access_token"]) as client:
                for index in (0, 6, COUNT - 1):
                    resent = await ok(
                        client,
                        "message:send",
                        {
                            "conversation_id": cid,
                            "client_msg_id": f"m-{index + 1}",
                            "text": f"message {index + 1}",
                        },
                    )
                    assert resent == acked[index]
                following = await ok(
                    client,
                    "message:send",
                    {"conversation_id": cid, "client_msg_id": "m-next", "text": "after restart"},
                )
                assert following["seq"] == COUNT + 1
                history = await ok(
                    client, "message:history", {"conversation_id": cid, "limit": 100}
                )
                assert [m["seq"] for m in history["items"]] == list(range(1, COUNT + 2))

            status, replay = await rest(
                session,
                hub,
                "POST",
                f"/conversations/{group['id']}/messages",
                ann["access_token"],
                json={"text": "via rest"},
                headers=key,
            )
            assert (status, replay) == (201, by_rest)
            status, page = await rest(
                session, hub, "GET", f"/conversations/{group['id']}/messages", bob["access_token"]
            )
            assert status == 200 and page["items"] == [by_rest]
            # Search is indexed behind the appends: what the kill left unindexed
            # was indexed when the store opened again.
            status, found = await rest(
                session,
                hub,
                "GET",
                f"/messages/search?q=message&conversation_id={cid}&limit=50",
                bob["access_token"],
            )
            assert status == 200, found
            assert sorted(hit["message"]["seq"] for hit in found["items"]) == list(
                range(1, COUNT + 1)
            )
            await hub.kill()
