"""The ``store`` fixture: every test that takes it runs once per storage engine.

conftest.py makes it available to every test module.
MongoDB runs against a real server when HUB_TEST_MONGODB_URL is set and
against the mongomock test double (see ``mongo_double``) otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from mongo_double import AsyncMongomockDatabase
from storage.interfaces import Store
from storage.mongo import MongoStore
from storage.records import UserRecord
from storage.sqlite import SqliteStore

ENGINES = ["sqlite", "mongo"]
# On a test or module: the hub under test (the ``app`` fixture) runs once per engine.
ON_BOTH_ENGINES = pytest.mark.parametrize("store_engine", ENGINES, indirect=True)
MONGODB_URL_ENV = "HUB_TEST_MONGODB_URL"


def _with_database(url: str, name: str) -> str:
    # The database is the URL path; the query string (options) is kept as is.
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def make_store(engine: str, tmp_path: Path, synchronous: str = "FULL") -> Store:
    """A store of the named engine, not yet opened.

    A real-server Mongo store gets a fresh, uniquely named database; call
    ``drop_store`` when done with it.
    """
    if engine == "sqlite":
        return SqliteStore(tmp_path / "hub.db", synchronous)
    if engine == "mongo":
        url = os.environ.get(MONGODB_URL_ENV)
        name = f"hub_test_{uuid.uuid4().hex[:12]}"
        if url:
            return MongoStore.from_url(_with_database(url, name))
        return MongoStore(AsyncMongomockDatabase(name))
    raise ValueError(f"unknown engine {engine!r}")


async def drop_store(store: Store) -> None:
    """Close ``store``, first dropping its database if it is on a real server."""
    if isinstance(store, MongoStore) and store.client is not None:
        await store.client.drop_database(store.database.name)
    await store.close()


async def add_users(store: Store, *user_ids: str) -> None:
    """Users the records under test can refer to (the stores' foreign keys)."""
    for user_id in user_ids:
        await store.users.create(
            UserRecord(
                id=user_id,
                email=f"{user_id}@example.com",
                password_hash="hash",
                display_name=user_id,
                role="client",
                created_at="2024-01-01T00:00:00+00:00",
                updated_at="2024-01-01T00:00:00+00:00",
            )
        )


@pytest_asyncio.fixture(params=ENGINES, ids=ENGINES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An opened store, once per engine; its data is discarded afterwards."""
    opened = make_store(request.param, tmp_path)
    await opened.open()
    try:
        yield opened
    finally:
        await drop_store(opened)
