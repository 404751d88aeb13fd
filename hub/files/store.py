"""The file store port: where uploaded bytes live, keyed by upload id.

Two adapters implement it: ``LocalFileStore`` (a directory, the embedded
default under ``./data/files``; the hub itself receives and serves the bytes
through HMAC-signed URLs) and ``S3FileStore`` (S3-compatible object storage;
clients PUT and GET through presigned URLs, so bytes do not pass through the
hub). Keys are made by the hub (``<upload id>`` and ``<upload id>.thumb``),
never from a client's file name.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


class TooLarge(Exception):
    """The bytes went over the limit; nothing was kept."""


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """Where a client PUTs an upload's bytes directly (a presigned URL)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)


class FileStore(Protocol):
    async def write(self, key: str, chunks: AsyncIterable[bytes], limit: int) -> int:
        """Store the bytes of ``chunks`` under ``key``, streaming (never the
        whole file in memory); the byte count. Over ``limit`` bytes: TooLarge,
        and nothing is left under ``key``."""

    def read(self, key: str, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """The bytes under ``key``, in chunks; FileNotFoundError if none."""

    async def size(self, key: str) -> int | None:
        """The stored size, or None if nothing is stored under ``key``."""

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""

    async def upload_target(self, key: str, expires_s: int, mime: str) -> UploadTarget | None:
        """A presigned PUT for ``key``; None when the bytes go through the hub."""

    async def download_url(
        self, key: str, expires_s: int, *, mime: str, disposition: str
    ) -> str | None:
        """A presigned GET that answers with ``mime`` and ``disposition``;
        None when the hub serves the bytes itself."""

    async def close(self) -> None: ...
