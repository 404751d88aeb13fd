"""The ``file_store`` fixture: every test that takes it runs once per file store.

A test module imports it (``from file_stores import file_store as file_store``).
Each store starts empty and is closed afterwards. Another store joins by adding
its name to ``FILE_STORES`` and a branch to ``make_file_store``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from hub.files.local import LocalFileStore
from hub.files.store import FileStore

FILE_STORES = ["local"]


async def make_file_store(name: str, tmp_path: Path) -> FileStore:
    """An empty file store of the named kind."""
    if name == "local":
        return LocalFileStore(tmp_path / "files")
    raise ValueError(f"unknown file store {name!r}")


@pytest_asyncio.fixture(params=FILE_STORES, ids=FILE_STORES)
async def file_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    """An empty file store, once per kind."""
    store = await make_file_store(request.param, tmp_path)
    try:
        yield store
    finally:
        await store.close()
