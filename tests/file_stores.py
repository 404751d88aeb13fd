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
from hub.files.s3 import S3FileStore
from hub.files.store import FileStore
from s3_server import S3Server, shared_s3_server

FILE_STORES = ["local", "s3"]


async def make_file_store(name: str, tmp_path: Path, s3: S3Server | None = None) -> FileStore:
    """An empty file store of the named kind (``s3``: a fresh prefix on that server)."""
    if name == "local":
        return LocalFileStore(tmp_path / "files")
    if name == "s3" and s3 is not None:
        return S3FileStore(s3.url(), endpoint_url=s3.endpoint, config=s3.config)
    raise ValueError(f"unknown file store {name!r}")


@pytest_asyncio.fixture(params=FILE_STORES, ids=FILE_STORES)
async def file_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    """An empty file store, once per kind."""
    # The session's moto server, started only when an s3 test runs.
    s3 = shared_s3_server(request) if request.param == "s3" else None
    store = await make_file_store(request.param, tmp_path, s3)
    try:
        yield store
    finally:
        await store.close()
