"""Which browser origins may open sockets: the listed ones, and always the hub's own.

A deployer who lists only their app's domain in HUB_CORS_ORIGINS must not
break the page the hub itself serves (a real browser loads it in
tests/test_installed_wheel.py; here the Origin header is set by hand).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import socketio
from aiohttp.test_utils import TestServer

from conftest import Api, make_settings
from hub.config import Settings

NS = "/conversations"
APP_ORIGIN = "https://app.example.com"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, cors_origins=[APP_ORIGIN])


async def connects(
    server: TestServer, token: str, origin: str, transport: str = "websocket"
) -> bool:
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(
            str(server.make_url("/")),
            namespaces=[NS],
            auth={"token": token},
            transports=[transport],
            headers={"Origin": origin},
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        return False
    await client.disconnect()
    return True


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_own_origin_and_listed_origins_connect(
    server: TestServer, api: Api, transport: str
) -> None:
    token = (await api.register("ann"))["access_token"]
    own = str(server.make_url("")).rstrip("/")
    assert await connects(server, token, own, transport)
    assert await connects(server, token, APP_ORIGIN, transport)
    assert not await connects(server, token, "https://evil.example", transport)
    # The same host on another port is another origin.
    assert not await connects(server, token, "http://127.0.0.1:1", transport)
