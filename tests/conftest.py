"""Shared fixtures: a real hub on a real TCP port, real clients, real stores.

One fixture set for every in-process test:

- ``settings``: ``make_settings`` plus every ``@pytest.mark.hub_settings(...)`` on
  the test, its class and its module (the nearest wins), and ``redis_url`` when
  the test takes ``redis_server``; ``app``, ``server`` and ``http`` run the hub on it;
- ``users``: registers accounts as ``users.User``s (REST calls, sockets,
  notifications, wallet); ``api`` registers them as plain register responses;
- ``connect``: a connected python-socketio client.

Markers (pyproject.toml): ``browser``, ``redis`` and ``slow``, on a test or a
module, or added here by the fixtures a test takes (``MARKED_BY_FIXTURE``: every
test that takes ``redis_server`` is ``redis``, ``chromium`` ``browser``); a test
that starts a redis-server without the marker fails, so ``-m "not redis"`` never
needs one.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp.web_app
import pytest
import pytest_asyncio
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import handlers
import processes
from browser import chromium as chromium  # headless Chromium (fixture)
from engines import drop_store, make_store
from engines import store as store  # the store of each engine (fixture)
from handlers import ROUTES
from hub.app import create_app
from hub.config import Settings
from hub.context import HUB
from installed import installed_hub as installed_hub  # the wheel in a fresh venv (fixture)
from node_client import ensure_node
from openapi_responses import ResponseCheck, share_openapi_documents
from processes import RedisServer, free_port, running_redis
from storage.sqlite import SqliteStore
from users import Api, SocketFactory, Users
from webrtc import loopback_ice as loopback_ice  # ICE on 127.0.0.1 only (fixture)

documents_changed = share_openapi_documents()

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: files under tmp_path, cheap password hashing, rate
    limits off (tests send bursts) unless a caller turns them on, and a free port
    (the ``server`` fixture listens on it: the sandbox payment provider delivers
    its webhooks to ``http://127.0.0.1:<port>``)."""
    values: dict[str, Any] = {
        "port": free_port(),
        "data_dir": tmp_path / "data",
        "database_url": f"sqlite:///{tmp_path}/hub.db",
        "jwt_secret": TEST_JWT_SECRET,
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "rate_limits": "off",
        "sqlite_synchronous": "FULL",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def forget_middlewares() -> None:
    """Let a finished test's app be freed. aiohttp caches each app's middleware
    chains in a module-level lru_cache of 1,024 entries (aio-libs/aiohttp#9158,
    ``web_app._cached_build_middleware``, private, no public API): harmless for a server's
    one app, but in a run of hundreds of apps it keeps up to 1,024 of them (with
    their stores and documents) alive, and the whole run slows down."""
    cached = getattr(aiohttp.web_app, "_cached_build_middleware", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def shared_openapi_documents_stay_unchanged() -> Iterator[None]:
    """The OpenAPI documents are shared by every test (openapi_responses.py)."""
    yield
    assert documents_changed() == [], "a test changed a shared OpenAPI document"


@pytest.fixture(scope="session")
def node() -> str:
    """Path of Node.js with the locked npm packages (tests/js/*.mjs)."""
    return ensure_node()


# A test that takes one of these fixtures gets the marker.
MARKED_BY_FIXTURE = {
    "redis_server": pytest.mark.redis,
    "chromium": pytest.mark.browser,
    "installed_hub": pytest.mark.slow,  # builds the wheel and a venv once per run (~20 s)
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            if fixture in MARKED_BY_FIXTURE:
                item.add_marker(MARKED_BY_FIXTURE[fixture])


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Only tests marked ``redis`` may start a redis-server (processes.RedisServer)."""
    processes.redis_allowed = item.get_closest_marker("redis") is not None


def hub_settings_of(node: pytest.Item) -> dict[str, Any]:
    """The fields of every ``hub_settings`` marker on ``node``, the nearest winning."""
    fields: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("hub_settings"))):
        fields.update(marker.kwargs)
    return fields


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The hub's settings: ``make_settings`` with the test's ``hub_settings`` markers,
    on the test's ``redis_server`` if it takes one."""
    fields = hub_settings_of(request.node)
    if "redis_server" in request.fixturenames:
        fields.setdefault("redis_url", request.getfixturevalue("redis_server").url)
    return make_settings(tmp_path, **fields)


@pytest_asyncio.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A real redis-server on a free port (the test is marked ``redis``)."""
    async with running_redis(tmp_path) as server:
        yield server


@pytest.fixture
def store_engine(request: pytest.FixtureRequest) -> str:
    """The engine the app runs on: SQLite, or each in turn with ``engines.ON_BOTH_ENGINES``."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the run's migrated, empty SQLite database is made (``migrated_once``)."""
    return tmp_path_factory.mktemp("migrated") / "hub.db"


async def migrated_once(path: Path) -> Path:
    """An empty database the hub's own SqliteStore has migrated, made once per run.

    Each in-process test's hub opens a copy: the same schema and no rows, as on a
    restart, without running every migration again (most of a hub's start-up:
    about 6 ms a test). The migrations from an empty file run here, and in the
    store contract tests (``store``), on every run."""
    if not path.exists():
        store = SqliteStore(path)
        await store.open()
        await store.close()
    return path


@pytest_asyncio.fixture
async def app(
    settings: Settings, store_engine: str, tmp_path: Path, migrated: Path
) -> AsyncIterator[web.Application]:
    """The hub's app on the engine of ``store_engine``; every REST response it
    gives during the test must match its OpenAPI document (ResponseCheck)."""
    if store_engine == "sqlite":
        shutil.copyfile(await migrated_once(migrated), tmp_path / "hub.db")
    store = make_store(store_engine, tmp_path, settings.sqlite_synchronous)
    app = create_app(settings, store=store)
    check = ResponseCheck(handlers.build_openapi(ROUTES, version="0.1.0", settings=settings))
    app.middlewares.insert(0, check.middleware)
    yield app
    if store_engine == "mongo":
        await drop_store(store)
    forget_middlewares()
    assert check.violations == [], "responses that break the OpenAPI document"


@pytest_asyncio.fixture
async def server(app: web.Application, aiohttp_server: Any) -> TestServer:
    """The hub listening on its settings' (free) loopback port."""
    return await aiohttp_server(app, port=app[HUB].settings.port)


@pytest_asyncio.fixture
async def http(server: TestServer, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(server)


@pytest.fixture
def api(http: TestClient) -> Api:
    """Registers accounts: ``await api.register("ann")`` is the register response."""
    return Api(http)


@pytest.fixture
def users(app: web.Application, api: Api, connect: SocketFactory) -> Users:
    """``ann, bob = await users("ann", "bob")``: ``User``s, with REST calls and sockets."""
    return Users(api, connect, app)


@pytest_asyncio.fixture
async def connect(server: TestServer, http: TestClient) -> AsyncIterator[SocketFactory]:
    """``await connect(token, namespaces=[...])``: a connected python-socketio client
    (``before(client)``, if given, runs before it connects: to watch from the start).

    Depends on ``http`` so that its clients disconnect before the test client
    closes the server (a client left connected to a closed server hangs).
    """
    clients: list[socketio.AsyncClient] = []

    async def factory(
        token: str | None,
        namespaces: list[str],
        before: Callable[[socketio.AsyncClient], Any] | None = None,
        **kwargs: Any,
    ) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        clients.append(client)
        if before is not None:
            before(client)
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
