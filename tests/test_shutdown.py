"""SIGTERM: stop taking events, finish the acks in flight, close sockets, exit 0."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import socketio

from processes import hub_env, running_hub

NS = "/conversations"


async def register(session: aiohttp.ClientSession, url: str, name: str) -> dict:
    async with session.post(url + "/api/v1/auth/register", json={
            "email": f"{name}@example.com", "password": "correct horse", "display_name": name,
            "role": "client"}) as response:
        assert response.status == 201
        return await response.json()


async def test_sigterm_keeps_every_acked_message_and_closes_sockets(tmp_path: Path) -> None:
    env = hub_env(tmp_path, rate_limits="off")
    async with aiohttp.ClientSession() as session:
        async with running_hub(tmp_path, env, "first") as hub:
            ann, bob = [await register(session, hub.url(""), n) for n in ("ann", "bob")]
            client = socketio.AsyncClient(reconnection=False)
            closed = asyncio.Event()
            client.on("disconnect", lambda *args: closed.set(), namespace=NS)
            await client.connect(hub.url(), namespaces=[NS], transports=["websocket"],
                                 auth={"token": ann["access_token"]})
            created = await client.call("conversation:create",
                                        {"participant_ids": [bob["user"]["id"]]}, namespace=NS)
            conversation_id = created["data"]["id"]

            async def send(n: int) -> dict | None:
                try:
                    return await client.call("message:send", {
                        "conversation_id": conversation_id, "client_msg_id": f"m{n}",
                        "text": f"n{n}"}, namespace=NS, timeout=10)
                except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                    return None  # never reached the server before it closed

            sends = [asyncio.create_task(send(n)) for n in range(1000)]
            await asyncio.wait(sends, return_when=asyncio.FIRST_COMPLETED)
            code = await hub.stop()  # while the rest are in flight
            results = await asyncio.gather(*sends)
            await asyncio.wait_for(closed.wait(), 5)
            assert code == 0, hub.output()

        acked = {r["data"]["client_msg_id"] for r in results if r and r["ok"]}
        refused = [r for r in results if r and not r["ok"]]
        assert acked, "nothing was acked before the shutdown"
        assert all(r["error"]["code"] == "unavailable" for r in refused), refused

        async with running_hub(tmp_path, env, "second") as hub:
            stored = await all_messages(session, hub.url(""), ann, conversation_id)
        stored_ids = {m["client_msg_id"] for m in stored}
        # Graceful means no message was stored without its ack reaching the client.
        assert stored_ids == acked
        assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))


async def all_messages(session: aiohttp.ClientSession, base: str, account: dict,
                       conversation_id: str) -> list[dict]:
    messages: list[dict] = []
    while True:
        url = f"{base}/api/v1/conversations/{conversation_id}/messages"
        params = {"after_seq": str(len(messages)), "limit": "100"}
        headers = {"Authorization": f"Bearer {account['access_token']}"}
        async with session.get(url, params=params, headers=headers) as response:
            page = await response.json()
        messages += page["items"]
        if not page["has_more"]:
            return messages
