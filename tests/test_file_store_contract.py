"""What every file store does (``file_stores.FILE_STORES``), on real storage."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterable

import pytest

from file_stores import file_store as file_store  # each file store in turn (fixture)
from hub.files.store import FileStore, TooLarge

MiB = 1024 * 1024


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)  # as from a socket: other tasks run between chunks
        yield part


def pieces(data: bytes, size: int) -> Iterable[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


async def read_all(store: FileStore, key: str, chunk_size: int = 64 * 1024) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, chunk_size)])


async def test_written_bytes_read_back_with_their_size(file_store: FileStore) -> None:
    data = os.urandom(3 * MiB + 17)
    written = await file_store.write("01HUPLOAD", chunks_of(*pieces(data, 65536)), limit=4 * MiB)
    assert written == len(data)
    assert await file_store.size("01HUPLOAD") == len(data)
    assert await read_all(file_store, "01HUPLOAD") == data


async def test_reads_come_in_chunks_of_at_most_the_size_asked(file_store: FileStore) -> None:
    data = os.urandom(100_000)
    await file_store.write("k", chunks_of(data), limit=MiB)
    chunks = [chunk async for chunk in file_store.read("k", chunk_size=30_000)]
    assert b"".join(chunks) == data
    assert all(len(chunk) <= 30_000 for chunk in chunks) and len(chunks) >= 4


async def test_small_and_empty_chunks_and_an_empty_file(file_store: FileStore) -> None:
    assert await file_store.write("bits", chunks_of(b"a", b"", b"bc", b"d" * 10), limit=13) == 13
    assert await read_all(file_store, "bits") == b"abc" + b"d" * 10
    assert await file_store.write("empty", chunks_of(), limit=10) == 0
    assert await file_store.size("empty") == 0
    assert await read_all(file_store, "empty") == b""


async def test_over_the_limit_is_too_large_and_nothing_is_kept(file_store: FileStore) -> None:
    with pytest.raises(TooLarge):
        await file_store.write("big", chunks_of(b"x" * 600_000, b"x" * 600_000), limit=MiB)
    assert await file_store.size("big") is None
    with pytest.raises(FileNotFoundError):
        await read_all(file_store, "big")
    # Exactly the limit is allowed.
    assert await file_store.write("big", chunks_of(b"x" * MiB), limit=MiB) == MiB


async def test_a_failing_source_leaves_nothing(file_store: FileStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * 300_000
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await file_store.write("cut", broken(), limit=MiB)
    assert await file_store.size("cut") is None


async def test_a_failed_rewrite_keeps_the_old_bytes(file_store: FileStore) -> None:
    await file_store.write("same", chunks_of(b"old"), limit=10)
    with pytest.raises(TooLarge):
        await file_store.write("same", chunks_of(b"new bytes, too many"), limit=10)
    assert await read_all(file_store, "same") == b"old"
    await file_store.write("same", chunks_of(b"new"), limit=10)
    assert await read_all(file_store, "same") == b"new"


async def test_missing_keys(file_store: FileStore) -> None:
    assert await file_store.size("nothing") is None
    with pytest.raises(FileNotFoundError):
        await read_all(file_store, "nothing")
    await file_store.delete("nothing")  # no error


async def test_delete(file_store: FileStore) -> None:
    await file_store.write("doomed", chunks_of(b"bytes"), limit=10)
    await file_store.write("doomed.thumb", chunks_of(b"thumb"), limit=10)
    await file_store.delete("doomed")
    assert await file_store.size("doomed") is None
    assert await read_all(file_store, "doomed.thumb") == b"thumb"


async def test_concurrent_writes_of_different_keys(file_store: FileStore) -> None:
    datas = {f"01HKEY{i:02d}": os.urandom(200_000 + i) for i in range(20)}
    sizes = await asyncio.gather(
        *(
            file_store.write(key, chunks_of(*pieces(data, 16_384)), limit=MiB)
            for key, data in datas.items()
        )
    )
    assert sizes == [len(data) for data in datas.values()]
    for key, data in datas.items():
        stored = await read_all(file_store, key)
        assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest(), key
