"""Shared fixtures: a real hub on a real TCP port, real clients, real stores."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engines import drop_store, make_store
from engines import store as store  # the store of each engine (fixture)
from handlers import ROUTES, build_openapi
from hub.app import create_app
from hub.config import Settings
from installed import installed_hub as installed_hub  # the wheel in a fresh venv (fixture)
from node_client import ensure_node
from openapi_responses import ResponseCheck
from webrtc import loopback_ice as loopback_ice  # ICE on 127.0.0.1 only (fixture)

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: files under tmp_path, cheap password hashing, and
    rate limits off (tests send bursts) unless a caller turns them on."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": f"sqlite:///{tmp_path}/hub.db",
        "jwt_secret": TEST_JWT_SECRET,
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "rate_limits": "off",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def node() -> str:
    """Path of Node.js with the locked npm packages (tests/js/*.mjs)."""
    return ensure_node()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def store_engine() -> str:
    """The engine the app runs on; parametrize it indirectly to cover both."""
    return "sqlite"


@pytest_asyncio.fixture
async def app(
    settings: Settings, store_engine: str, tmp_path: Path
) -> AsyncIterator[web.Application]:
    """The hub's app on the engine of ``store_engine``; every REST response it
    gives during the test must match its OpenAPI document (ResponseCheck)."""
    store = make_store(store_engine, tmp_path)
    app = create_app(settings, store=store)
    check = ResponseCheck(build_openapi(ROUTES, version="0.1.0", settings=settings))
    app.middlewares.insert(0, check.middleware)
    yield app
    if store_engine == "mongo":
        await drop_store(store)
    assert check.violations == [], "responses that break the OpenAPI document"


@pytest_asyncio.fixture
async def server(app: web.Application, aiohttp_server: Any) -> TestServer:
    """The hub listening on a free loopback port."""
    return await aiohttp_server(app)


@pytest_asyncio.fixture
async def http(server: TestServer, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(server)


class Api:
    """Small REST helpers over the test client."""

    def __init__(self, http: TestClient) -> None:
        self.http = http
        self._count = 0

    async def register(self, name: str | None = None, role: str = "client") -> dict[str, Any]:
        self._count += 1
        name = name or f"user{self._count}"
        response = await self.http.post(
            "/api/v1/auth/register",
            json={
                "email": f"{name}@example.com",
                "password": "correct horse",
                "display_name": name,
                "role": role,
            },
        )
        assert response.status == 201, await response.text()
        return await response.json()

    @staticmethod
    def auth(account: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {account['access_token']}"}


@pytest.fixture
def api(http: TestClient) -> Api:
    return Api(http)


SocketFactory = Callable[..., Awaitable[socketio.AsyncClient]]


@pytest_asyncio.fixture
async def connect(server: TestServer, http: TestClient) -> AsyncIterator[SocketFactory]:
    """``await connect(token, namespaces=[...])``: a connected python-socketio client.

    Depends on ``http`` so that its clients disconnect before the test client
    closes the server (a client left connected to a closed server hangs).
    """
    clients: list[socketio.AsyncClient] = []

    async def factory(
        token: str | None, namespaces: list[str], **kwargs: Any
    ) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        clients.append(client)
        auth = {"token": token} if token is not None else None
        await client.connect(
            str(server.make_url("/")),
            namespaces=namespaces,
            auth=auth,
            transports=["websocket"],
            wait_timeout=5,
            **kwargs,
        )
        return client

    yield factory
    for client in clients:
        await client.disconnect()
