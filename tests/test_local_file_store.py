"""What only the local directory store does: its files, its keys, no URLs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.files.local import LocalFileStore
from hub.files.store import TooLarge

BAD_KEYS = [
    "",
    ".",
    "..",
    "../escape",
    "a/b",
    "a\\b",
    "/etc/passwd",
    ".hidden",
    ".key.0123.part",
    "name with space",
    "caf\u00e9",
    "nul\x00byte",
    "x" * 201,
]


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files")


def test_the_root_is_made(tmp_path: Path) -> None:
    LocalFileStore(tmp_path / "data" / "files")
    assert (tmp_path / "data" / "files").is_dir()


async def test_a_key_is_one_file_under_the_root(store: LocalFileStore) -> None:
    await store.write("01HABC.thumb", chunks_of(b"thumb"), limit=10)
    assert store.path("01HABC.thumb") == store.root / "01HABC.thumb"
    assert (store.root / "01HABC.thumb").read_bytes() == b"thumb"
    assert [p.name for p in store.root.iterdir()] == ["01HABC.thumb"]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_that_are_not_hub_ids_are_refused(store: LocalFileStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.write(key, chunks_of(b"x"), limit=10)
    with pytest.raises(ValueError):
        store.read(key)
    with pytest.raises(ValueError):
        await store.size(key)
    with pytest.raises(ValueError):
        await store.delete(key)
    assert list(store.root.parent.rglob("*")) == [store.root]


async def test_too_large_leaves_no_temporary_file(store: LocalFileStore) -> None:
    with pytest.raises(TooLarge):
        await store.write("big", chunks_of(b"x" * 300_000, b"x" * 300_000), limit=500_000)
    assert list(store.root.iterdir()) == []


async def test_a_cancelled_write_leaves_no_temporary_file(store: LocalFileStore) -> None:
    started = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 300_000
            started.set()

    write = asyncio.create_task(store.write("slow", endless(), limit=1 << 40))
    await started.wait()
    await asyncio.sleep(0.01)
    write.cancel()
    with pytest.raises(asyncio.CancelledError):
        await write
    assert list(store.root.iterdir()) == []


async def test_the_hub_moves_the_bytes_itself(store: LocalFileStore) -> None:
    assert await store.upload_target("k", 300, "image/png") is None
    assert await store.download_url("k", 300, mime="image/png", disposition="inline") is None
    await store.close()
