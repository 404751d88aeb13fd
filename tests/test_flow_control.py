"""Nothing a client does grows the hub's memory without bound.

- A client that stops reading is disconnected as a slow consumer once its
  unsent data passes HUB_SOCKET_SEND_BUFFER_BYTES, and what was queued for it
  is freed; clients that read are not affected.
- A long-polling POST over HUB_MAX_PAYLOAD_BYTES is answered 413 at once,
  whether or not it names a session, and holds nothing up at shutdown.

Against a real hub process, so that its memory (RSS) can be read.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import aiohttp
import pytest
import socketio

from processes import hub_env, register, running_hub
from raw_socket import silent_client
from waits import eventually

pytestmark = pytest.mark.slow  # a hub process

NS = "/conversations"
CAP = 64 * 1024
TEXT = 60_000  # characters per message (HUB_MAX_TEXT_LENGTH raised for the test)


async def test_a_client_that_stops_reading_is_dropped_and_costs_nothing(tmp_path: Path) -> None:
    env = hub_env(
        tmp_path,
        rate_limits="off",
        socket_send_buffer_bytes=CAP,
        max_text_length=TEXT,
        max_payload_bytes=4 * TEXT,
    )
    async with aiohttp.ClientSession() as session, running_hub(tmp_path, env, "hub") as hub:
        ann, bob, cy = [await register(session, hub, n) for n in ("ann", "bob", "cy")]
        async with session.post(
            hub.url("/api/v1/conversations"),
            json={"participant_ids": [bob["user"]["id"], cy["user"]["id"]], "type": "group"},
            headers={"Authorization": f"Bearer {ann['access_token']}"},
        ) as response:
            conversation_id = (await response.json())["id"]
        slow = await silent_client(hub, session, bob["access_token"], receive_buffer=4096)
        reader = socketio.AsyncClient(reconnection=False)
        received: list[int] = []
        reader.on("message:new", lambda message: received.append(message["seq"]), namespace=NS)
        await reader.connect(
            hub.url(), namespaces=[NS], auth={"token": cy["access_token"]}, transports=["websocket"]
        )
        sender = socketio.AsyncClient(reconnection=False)
        await sender.connect(
            hub.url(),
            namespaces=[NS],
            auth={"token": ann["access_token"]},
            transports=["websocket"],
        )
        before = hub.rss_mb()
        count = 400  # 24 MB for the client that does not read
        for n in range(count):
            ack = await sender.call(
                "message:send",
                {
                    "conversation_id": conversation_id,
                    "client_msg_id": f"m{n}",
                    "text": f"{n:05d}" + "x" * (TEXT - 5),
                },
                namespace=NS,
                timeout=10,
            )
            assert ack["ok"], ack
        grown = hub.rss_mb() - before
        try:
            await eventually(lambda: len(received) >= count)
        except AssertionError:
            pass  # the assertion on received below says what is missing
        slow_consumers = await hub.metric(session, "hub_client_faults_total", kind="slow_consumer")
        dropped = await asyncio.to_thread(read_until_closed, slow)
        assert reader.connected and sender.connected
        await reader.disconnect()
        await sender.disconnect()

    assert slow_consumers == 1.0
    assert dropped, "the hub never closed the connection of the client that stopped reading"
    assert received == list(range(1, count + 1))  # a client that reads misses nothing
    # Queued for the slow client without the cap: all 24 MB.
    assert grown < 12, f"RSS grew {grown:.1f} MB"


def read_until_closed(sock: socket.socket, timeout_s: float = 10.0) -> bool:
    """Read what the hub had sent; True once the hub has closed the connection."""
    sock.settimeout(timeout_s)
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    finally:
        sock.close()
    return True


async def test_an_oversized_long_polling_post_is_413_at_once(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    async with aiohttp.ClientSession() as session, running_hub(tmp_path, env, "hub") as hub:
        async with session.get(hub.url("/socket.io/?EIO=4&transport=polling")) as response:
            sid = json.loads((await response.text())[1:])["sid"]
        port = int(hub.base.rsplit(":", 1)[1])
        for query in (f"EIO=4&transport=polling&sid={sid}", "EIO=4&transport=polling"):
            started = time.monotonic()
            status = await asyncio.to_thread(post_oversized, port, query, 2 * 1024 * 1024)
            assert status == 413, query
            assert time.monotonic() - started < 2
        assert await hub.metric(session, "hub_client_faults_total", kind="payload_too_large") == 2.0
        started = time.monotonic()
        assert await hub.stop() == 0
    assert time.monotonic() - started < 5  # nothing left waiting for that body


def post_oversized(port: int, query: str, size: int) -> int:
    """Start POSTing a body of ``size`` bytes; the status of the answer, which
    comes before the body is sent (aiohttp then reads and drops what the
    client still sends for a bounded time before closing: lingering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"POST /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {size}\r\n\r\n".encode()
            + b"4" * 1024
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert b"Connection: close" in answer, answer
    return int(answer.split(b" ", 2)[1])
