"""The virus scanner port: ``ClamdScanner`` (hub/files/clamd.py) implements it
when ``HUB_CLAMD_URL`` is set; without one, files are not scanned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

Verdict = Literal["clean", "infected"]


class ScanFailed(Exception):
    """The scanner gave no verdict (unreachable, timed out, an error)."""


class Scanner(Protocol):
    async def scan(self, chunks: AsyncIterator[bytes]) -> Verdict:
        """The verdict on the bytes of ``chunks``; ScanFailed without one."""
