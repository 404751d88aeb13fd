"""SIGTERM: stop taking events, finish the acks in flight, close sockets, exit 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest
import socketio

from processes import hub_env, register, running_hub
from raw_socket import silent_client

pytestmark = pytest.mark.slow  # hub processes

NS = "/conversations"


async def test_sigterm_keeps_every_acked_message_and_closes_sockets(tmp_path: Path) -> None:
    env = hub_env(tmp_path, rate_limits="off")
    async with aiohttp.ClientSession() as session:
        async with running_hub(tmp_path, env, "first") as hub:
            ann, bob = [await register(session, hub, n) for n in ("ann", "bob")]
            client = socketio.AsyncClient(reconnection=False)
            closed = asyncio.Event()
            client.on("disconnect", lambda *args: closed.set(), namespace=NS)
            await client.connect(
                hub.url(),
                namespaces=[NS],
                transports=["websocket"],
                auth={"token": ann["access_token"]},
            )
            created = await client.call(
                "conversation:create", {"participant_ids": [bob["user"]["id"]]}, namespace=NS
            )
            conversation_id = created["data"]["id"]

            async def send(n: int) -> dict | None:
                """The ack, or None if the send never reached the server before it
                closed. Acks arrive before the disconnect that follows them, so once
                the client is closed no further ack can come: no need to time out."""
                acked: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
                try:
                    await client.emit(
                        "message:send",
                        {
                            "conversation_id": conversation_id,
                            "client_msg_id": f"m{n}",
                            "text": f"n{n}",
                        },
                        namespace=NS,
                        callback=acked.set_result,
                    )
                except socketio.exceptions.BadNamespaceError:
                    return None
                ended = asyncio.ensure_future(closed.wait())
                await asyncio.wait([acked, ended], timeout=10, return_when=asyncio.FIRST_COMPLETED)
                ended.cancel()
                return acked.result() if acked.done() else None

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


async def all_messages(
    session: aiohttp.ClientSession, base: str, account: dict, conversation_id: str
) -> list[dict]:
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


# --- what real clients see ----------------------------------------------------------------------

NODE_SCRIPT = Path(__file__).resolve().parent / "js" / "shutdown.mjs"
GRACE_S = 5.0


class NodeClient:
    """tests/js/shutdown.mjs under Node: commands on stdin, JSON events on stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict] = []

    async def command(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def wait_for(self, name: str, timeout: float = 10.0) -> dict:
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await self.process.stdout.readline()
                assert line, f"node exited before {name!r}: {self.events}"
                self.events.append(json.loads(line))
                if self.events[-1]["event"] == name:
                    return self.events[-1]

    async def finish(self) -> list[dict]:
        await self.wait_for("disconnect")
        out, _ = await asyncio.wait_for(self.process.communicate(), 10)
        self.events += [json.loads(line) for line in out.decode().splitlines()]
        return self.events


async def test_browser_client_sees_the_disconnect_at_once(tmp_path: Path, node: str) -> None:
    """The JavaScript client ignores an Engine.IO close packet on a WebSocket:
    the hub must send the Socket.IO disconnect and close the transport itself.

    A write lock held on the database keeps one message:send in flight, so the
    drain lasts until the test lets go: events sent meanwhile get unavailable,
    the in-flight send is acked and stored, then the client is disconnected.
    """
    env = hub_env(tmp_path, rate_limits="off", shutdown_grace_s=GRACE_S)
    async with aiohttp.ClientSession() as session, running_hub(tmp_path, env, "hub") as hub:
        ann, bob = [await register(session, hub, n) for n in ("ann", "bob")]
        async with session.post(
            hub.url("/api/v1/conversations"),
            json={"participant_ids": [bob["user"]["id"]]},
            headers={"Authorization": f"Bearer {ann['access_token']}"},
        ) as response:
            conversation_id = (await response.json())["id"]
        client = NodeClient(
            await asyncio.create_subprocess_exec(
                node,
                str(NODE_SCRIPT),
                cwd=NODE_SCRIPT.parent,
                env={
                    **os.environ,
                    "HUB_URL": hub.url(""),
                    "TOKEN": ann["access_token"],
                    "CONVERSATION_ID": conversation_id,
                },
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        )
        await client.wait_for("connected")
        lock = sqlite3.connect(tmp_path / "hub.db", isolation_level=None, timeout=5)
        try:
            lock.execute("BEGIN IMMEDIATE")
            await client.command("send")
            # On purpose: no signal says the send is blocked on the lock; give it time to be.
            await asyncio.sleep(0.3)
            await client.command("typing")
            assert (await client.wait_for("typing_ack"))["ok"]
            sigterm_at = time.time() * 1000
            hub.process.send_signal(signal.SIGTERM)
            # On purpose: typing events keep coming while the send holds the drain.
            await asyncio.sleep(0.4)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        code = await asyncio.wait_for(hub.process.wait(), GRACE_S + 1)
        exited_at = time.time() * 1000
        events = await client.finish()

    assert code == 0, hub.output()
    assert exited_at - sigterm_at < GRACE_S * 1000
    [disconnect] = [e for e in events if e["event"] == "disconnect"]
    assert disconnect["reason"] == "io server disconnect"
    assert disconnect["t"] - sigterm_at < 1000, disconnect
    [send] = [e for e in events if e["event"] == "send_ack"]
    assert send["ok"], send  # in flight at SIGTERM: finished, acked...
    stored = (
        sqlite3.connect(tmp_path / "hub.db")
        .execute("SELECT count(*) FROM messages WHERE client_msg_id = 'in-flight'")
        .fetchone()[0]
    )
    assert stored == 1  # ...and stored
    after = [e for e in events if e["event"] == "typing_ack" and e["sent"] > sigterm_at]
    answered = {e["code"] for e in after if not e["ok"]}
    assert "unavailable" in answered, after  # during the drain
    # Sent after the close: rejected by the client at once, not after a timeout.
    assert answered <= {"unavailable", "client:socket has been disconnected"}, after
    assert all(e["t"] - disconnect["t"] < 1000 for e in after)


async def test_clients_that_never_answer_do_not_hold_up_the_exit(tmp_path: Path) -> None:
    """A WebSocket client that stops reading and never answers the close, and
    a long-polling session that never polls again: exit 0 within the grace."""
    grace_s = 2.0
    env = hub_env(tmp_path, rate_limits="off", shutdown_grace_s=grace_s)
    async with aiohttp.ClientSession() as session, running_hub(tmp_path, env, "hub") as hub:
        ann = await register(session, hub, "ann")
        silent = await silent_client(hub, session, ann["access_token"])
        async with session.get(hub.url("/socket.io/?EIO=4&transport=polling")) as response:
            assert response.status == 200  # a polling session that never comes back
        started = time.monotonic()
        code = await hub.stop()
        took = time.monotonic() - started
        silent.close()
    assert code == 0, hub.output()
    assert took < grace_s + 0.5, hub.output()
