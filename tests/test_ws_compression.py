"""WebSocket permessage-deflate follows HUB_WS_COMPRESSION.

Every browser offers the extension. With ``off`` (the default) the hub declines
it: no ``Sec-WebSocket-Extensions`` in its answer, and the session runs
uncompressed. With ``on`` it accepts, and messages still flow both ways, now
compressed. The clients here offer exactly what Chromium offers.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from users import User

CHROMIUM_OFFER = "permessage-deflate; client_max_window_bits"
ENGINE_IO = "/socket.io/?EIO=4&transport=websocket"
NS = "/conversations"
TEXT = "compressible " * 200  # a frame deflate shrinks a lot, sent both ways


async def handshake_extensions(http: TestClient) -> str | None:
    """The hub's Sec-WebSocket-Extensions answer to Chromium's offer (None: declined)."""
    response = await http.get(
        ENGINE_IO,
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Extensions": CHROMIUM_OFFER,
        },
    )
    try:
        assert response.status == 101, response.status
        return response.headers.get("Sec-WebSocket-Extensions")
    finally:
        response.close()


async def frame(ws: aiohttp.ClientWebSocketResponse, prefix: str) -> str:
    """The next text frame starting with ``prefix`` (pings answered, others skipped)."""
    while True:
        text = await ws.receive_str(timeout=5)
        if text == "2":
            await ws.send_str("3")
        elif text.startswith(prefix):
            return text


async def chat_over_deflate_offer(http: TestClient, ann: User, bob: User) -> int:
    """Bob, on a WebSocket that offered deflate, gets Ann's message and sends one
    (acked); returns the ``compress`` the WebSocket negotiated (0: none)."""
    conversation = await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, 201)
    ws = await http.ws_connect(ENGINE_IO, compress=15)
    try:
        await frame(ws, "0{")
        await ws.send_str(f"40{NS},{json.dumps({'token': bob.token})}")
        await frame(ws, f"40{NS},")
        await ann.send(conversation["id"], TEXT)
        new: list[Any] = json.loads((await frame(ws, f"42{NS},"))[len(f"42{NS},") :])
        assert new[0] == "message:new" and new[1]["text"] == TEXT.strip(), new
        body = {"conversation_id": conversation["id"], "client_msg_id": "m1", "text": TEXT}
        await ws.send_str(f"42{NS},1{json.dumps(['message:send', body])}")
        ack = json.loads((await frame(ws, f"43{NS},1"))[len(f"43{NS},1") :])
        assert ack[0]["ok"] is True and ack[0]["data"]["text"] == TEXT.strip(), ack
        return ws.compress
    finally:
        await ws.close()


async def test_off_by_default_declines_deflate_and_sockets_work(
    http: TestClient, users: Any
) -> None:
    assert await handshake_extensions(http) is None
    ann, bob = await users("ann", "bob")
    assert await chat_over_deflate_offer(http, ann, bob) == 0


@pytest.mark.hub_settings(ws_compression="on")
async def test_on_negotiates_deflate_and_messages_still_arrive(
    http: TestClient, users: Any
) -> None:
    assert await handshake_extensions(http) == "permessage-deflate"
    ann, bob = await users("ann", "bob")
    assert await chat_over_deflate_offer(http, ann, bob) == 15
