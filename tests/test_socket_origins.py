"""Which browser origins may open sockets: the listed ones, and always the hub's own.

A deployer who lists only their app's domain in HUB_CORS_ORIGINS must not
break the page the hub itself serves (a real browser loads it in
tests/test_installed_wheel.py; here the Origin header is set by hand).
"""

from __future__ import annotations

import pytest
import socketio
from aiohttp.test_utils import TestServer

from users import Api

NS = "/conversations"
APP_ORIGIN = "https://app.example.com"


pytestmark = pytest.mark.hub_settings(cors_origins=[APP_ORIGIN])


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
    # Not client.disconnect(): over long-polling it waits for the pending GET, which
    # python-engineio's server answers only at its next ping, 25-30 s later. Closing
    # the engine.io session at once (abort) ends it the way a closed browser tab does.
    await client.eio.disconnect(abort=True)
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
