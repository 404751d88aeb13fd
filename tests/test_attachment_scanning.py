"""Virus scanning of uploads through clamd's INSTREAM protocol, against a clamd
written here (no ClamAV signature database can be fetched on this machine): it
speaks the protocol over a real socket and finds the EICAR test string."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from conftest import hub_settings_of, make_settings
from hub.config import Settings
from users import Users

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class FakeClamd:
    """clamd's INSTREAM: chunks prefixed with their length, a zero length ends
    them; answers ``stream: OK`` or ``stream: Eicar-Signature FOUND``."""

    def __init__(self) -> None:
        self.scanned: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readuntil(b"\0") == b"zINSTREAM\0"
        data = b""
        while size := int.from_bytes(await reader.readexactly(4), "big"):
            data += await reader.readexactly(size)
        self.scanned.append(data)
        verdict = b"Eicar-Signature FOUND" if EICAR in data else b"OK"
        writer.write(b"stream: " + verdict + b"\0")
        await writer.drain()
        writer.close()


@pytest_asyncio.fixture
async def clamd() -> AsyncIterator[FakeClamd]:
    fake = FakeClamd()
    await fake.start()
    yield fake
    assert fake.server is not None
    fake.server.close()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, clamd: FakeClamd) -> Settings:
    assert clamd.server is not None
    port = clamd.server.sockets[0].getsockname()[1]
    return make_settings(
        tmp_path, clamd_url=f"tcp://127.0.0.1:{port}", **hub_settings_of(request.node)
    )


async def test_clean_files_are_served_and_infected_ones_refused(
    users: Users, clamd: FakeClamd
) -> None:
    ann, bob = await users("ann", "bob")
    cid = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    clean = await ann.attachment(cid, b"just some notes\n", "notes.txt", "text/plain")
    assert clean["scan_status"] == "clean"
    assert clamd.scanned == [b"just some notes\n"]

    ticket = await ann.upload(cid, EICAR + b"\n", "eicar.txt", "text/plain")
    problem = await ann.fails(
        "POST", f"/uploads/{ticket['id']}/complete", status=422, code="validation_failed"
    )
    assert "virus" in problem["detail"]
    await ann.fails("POST", f"/uploads/{ticket['id']}/complete", status=404, code="not_found")


async def test_an_unreachable_scanner_keeps_the_upload_for_a_retry(
    users: Users, clamd: FakeClamd
) -> None:
    ann, bob = await users("ann", "bob")
    cid = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    ticket = await ann.upload(cid, b"notes\n", "notes.txt", "text/plain")
    assert clamd.server is not None
    port = clamd.server.sockets[0].getsockname()[1]
    clamd.server.close()
    await clamd.server.wait_closed()
    await ann.fails("POST", f"/uploads/{ticket['id']}/complete", status=503, code="unavailable")

    await clamd.start(port)  # back: the same upload completes
    attachment = await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    assert attachment["scan_status"] == "clean"
