"""``LocalFileStore``: the file store on a local directory, the embedded default.

The hub receives and serves the bytes itself (``upload_target`` and
``download_url`` are None), through its signed file routes.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO

from hub.files.store import TooLarge, UploadTarget

# Keys are hub-made ids, never names from a client: one path component, and
# never starting with "." (not "..", and not a temporary file's name).
KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
# Bytes gathered before each write: few trips to a worker thread however small
# the incoming chunks, and a bounded amount in memory.
WRITE_BATCH = 256 * 1024


class LocalFileStore:
    """Files under ``root`` (created if missing), one per key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where the bytes of ``key`` are (for serving them with sendfile);
        ValueError for anything but a hub-made key."""
        if not KEY.fullmatch(key):
            raise ValueError(f"not a file key: {key!r}")
        return self.root / key

    async def write(self, key: str, chunks: AsyncIterable[bytes], limit: int) -> int:
        """Stream ``chunks`` into a temporary file beside the target, then rename
        it into place: a reader sees the whole file or none. TooLarge past
        ``limit`` bytes; on any failure the temporary file is removed."""
        path = self.path(key)
        temporary = path.with_name(f".{key}.{secrets.token_hex(8)}.part")
        file = await asyncio.to_thread(open, temporary, "xb")
        try:
            size = 0
            batch = bytearray()
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"over {limit} bytes")
                batch += chunk
                if len(batch) >= WRITE_BATCH:
                    await asyncio.to_thread(file.write, batch)
                    batch = bytearray()
            await asyncio.to_thread(_finish, file, batch, temporary, path)
        except BaseException:
            # A buffered file's close waits for a write still running in the
            # worker thread (they share its lock), so the unlink comes after it.
            file.close()
            temporary.unlink(missing_ok=True)
            raise
        return size

    def read(self, key: str, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """The bytes of ``key`` in chunks; FileNotFoundError (when iterated) if none."""
        return self._chunks(self.path(key), chunk_size)

    async def _chunks(self, path: Path, chunk_size: int) -> AsyncIterator[bytes]:
        file = await asyncio.to_thread(open, path, "rb")
        try:
            while chunk := await asyncio.to_thread(file.read, chunk_size):
                yield chunk
        finally:
            file.close()

    async def size(self, key: str) -> int | None:
        path = self.path(key)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def upload_target(self, key: str, expires_s: int, mime: str) -> UploadTarget | None:
        return None  # clients PUT to the hub

    async def download_url(
        self, key: str, expires_s: int, *, mime: str, disposition: str
    ) -> str | None:
        return None  # the hub serves the bytes

    async def close(self) -> None:
        pass


def _finish(file: BinaryIO, rest: bytes | bytearray, temporary: Path, path: Path) -> None:
    """Write the last bytes, make them durable, and rename the file into place."""
    file.write(rest)
    file.flush()
    # On disk before the rename: after a crash the key holds the whole file
    # or nothing, never a file the database says is complete but is not.
    os.fsync(file.fileno())
    file.close()
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself
    finally:
        os.close(directory)
