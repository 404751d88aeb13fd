"""storage/sqlite/database.py's write transaction under cancellation: a task
cancelled anywhere in a write (a request whose client went away, a worker
stopped by shutdown) must leave the shared writer connection usable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from storage.sqlite.database import Database


@pytest_asyncio.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(tmp_path / "hub.db")
    await db.open()
    await db.write("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    yield db
    await db.close()


async def slow_write(db: Database, started: asyncio.Event) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO notes (text) VALUES ('never committed')")
        started.set()
        await asyncio.sleep(60)


@pytest.mark.parametrize("yields", [1, 2, 3, 5])
async def test_a_write_cancelled_while_it_begins_leaves_no_transaction_open(
    database: Database, yields: int
) -> None:
    task = asyncio.ensure_future(database.write("INSERT INTO notes (text) VALUES ('maybe')"))
    for _ in range(yields):  # cancelled at some point of BEGIN, INSERT or COMMIT
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert await database.write("INSERT INTO notes (text) VALUES ('next')") == 1
    texts = [row["text"] for row in await database.fetch_all("SELECT text FROM notes")]
    assert "next" in texts and set(texts) <= {"maybe", "next"}


async def test_a_write_cancelled_inside_its_block_is_rolled_back(database: Database) -> None:
    started = asyncio.Event()
    task = asyncio.ensure_future(slow_write(database, started))
    await started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert await database.write("INSERT INTO notes (text) VALUES ('next')") == 1
    texts = [row["text"] for row in await database.fetch_all("SELECT text FROM notes")]
    assert texts == ["next"]
