"""A hand-driven Socket.IO client: it sends exactly the frames a test writes.

The official clients refuse to send what hostile clients send (reserved event
names, broken JSON, lying binary headers), so the tests that play such clients
speak Engine.IO v4 over a WebSocket themselves.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from typing import Any

import aiohttp

from processes import RunningHub
from waits import eventually

WAIT_S = 5.0


class RawSocket:
    """One Engine.IO WebSocket session; ``frames`` are what the hub sent."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._session = session
        self.ws = ws
        self.frames: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls, base_url: str, token: str | None = None, namespaces: tuple[str, ...] = ()
    ) -> RawSocket:
        """Open a session and connect ``namespaces`` with ``token``."""
        session = aiohttp.ClientSession()
        url = base_url.rstrip("/") + "/socket.io/?EIO=4&transport=websocket"
        ws = await session.ws_connect(url)
        socket = cls(session, ws)
        opened = await socket.next_frame()
        assert isinstance(opened, str) and opened.startswith("0"), opened
        for namespace in namespaces:
            await socket.send(f"40{namespace}," + json.dumps({"token": token}))
            reply = await socket.next_frame()
            assert isinstance(reply, str) and reply.startswith(f"40{namespace},"), reply
        return socket

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                if message.data == "2":  # Engine.IO ping
                    await self.ws.send_str("3")
                    continue
                await self.frames.put(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await self.frames.put(message.data)
        await self.frames.put(None)  # closed

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def next_frame(self, timeout: float = WAIT_S) -> str | bytes | None:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def ack(self, namespace: str, ack_id: int, timeout: float = WAIT_S) -> Any:
        """The ack data of ``ack_id`` on ``namespace`` (other frames are skipped)."""
        prefix = f"43{namespace},{ack_id}["
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.next_frame(max(0.01, deadline - loop.time()))
            if frame is None:
                raise ConnectionError("the hub closed the socket before acking")
            if isinstance(frame, str) and frame.startswith(prefix):
                return json.loads(frame[len(prefix) - 1 :])[0]

    async def call(self, namespace: str, ack_id: int, body: str) -> Any:
        """Send ``42<namespace>,<ack_id><body>`` (``body`` sent as written) and
        return the ack's data."""
        await self.send(f"42{namespace},{ack_id}{body}")
        return await self.ack(namespace, ack_id)

    @property
    def closed(self) -> bool:
        return self._reader.done()

    async def close(self) -> None:
        await self.ws.close()
        await self._session.close()
        self._reader.cancel()


async def silent_client(
    hub: RunningHub,
    session: aiohttp.ClientSession,
    token: str,
    receive_buffer: int | None = None,
) -> socket.socket:
    """A raw TCP client: WebSocket upgrade, /conversations connect, then silence:
    it never reads or answers again (the hub's replies wait unread, in a receive
    buffer of ``receive_buffer`` bytes if given). Returns once the hub counts it
    among its connected sockets (the first one: call it before any other)."""
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    port = int(hub.base.rsplit(":", 1)[1])
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += await asyncio.to_thread(sock.recv, 4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.sendall(masked_text_frame("40/conversations," + json.dumps({"token": token})))
    await eventually(
        lambda: hub.metric(session, "hub_connected_sockets", namespace="/conversations"),
        lambda connected: connected >= 1,
    )
    return sock


def masked_text_frame(text: str) -> bytes:
    """One WebSocket text frame as a client sends it (masked)."""
    payload = text.encode()
    assert len(payload) < 65536
    mask = os.urandom(4)
    header = (
        bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(payload))
        if len(payload) > 125
        else bytes([0x81, 0x80 | len(payload)])
    )
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
