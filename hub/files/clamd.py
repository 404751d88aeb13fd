"""A virus scanner on ClamAV's daemon: clamd's INSTREAM command over TCP
(``tcp://host:3310``) or a unix socket (``unix:///run/clamav/clamd.ctl``).

INSTREAM takes the bytes as chunks, each prefixed with its length (4 bytes,
big-endian), ended by a zero length; clamd answers ``stream: OK`` or
``stream: <signature> FOUND``. The bytes are streamed, never held whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from .scanner import ScanFailed, Verdict

CONNECT_TIMEOUT_S = 5.0
# clamd's StreamMaxLength defaults to 25 MB: bigger files need it raised there.
REPLY_TIMEOUT_S = 120.0


class ClamdScanner:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("tcp", "unix"):
            raise ValueError("HUB_CLAMD_URL must be tcp://host:port or unix:///path")
        self.url = parts

    async def scan(self, chunks: AsyncIterator[bytes]) -> Verdict:
        """``clean`` or ``infected``; ScanFailed when clamd has no answer."""
        reader, writer = await self._connect()
        try:
            writer.write(b"zINSTREAM\0")
            async for chunk in chunks:
                writer.write(len(chunk).to_bytes(4, "big") + chunk)
                await writer.drain()
            writer.write(b"\0\0\0\0")
            await writer.drain()
            reply = await asyncio.wait_for(reader.readuntil(b"\0"), REPLY_TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            raise ScanFailed(f"clamd: {exc!r}") from exc
        finally:
            writer.close()
        text = reply.rstrip(b"\0").decode(errors="replace")
        if text.endswith("FOUND"):
            return "infected"
        if text.endswith("OK"):
            return "clean"
        raise ScanFailed(f"clamd: {text}")

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            if self.url.scheme == "unix":
                opening = asyncio.open_unix_connection(self.url.path)
            else:
                opening = asyncio.open_connection(self.url.hostname, self.url.port or 3310)
            return await asyncio.wait_for(opening, CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ScanFailed(f"clamd at {self.url.geturl()}: {exc!r}") from exc
