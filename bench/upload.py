"""``python -m bench.upload``: the hub's memory while it takes a large upload.

One hub process (the default local file store), one 100 MB upload streamed to
the hub's signed PUT URL, then its completion (the hub reads the file back for
its type and sha256). The hub's RSS is sampled every 20 ms from /proc; the
figure is its growth over the RSS before the upload (target: under 20 MB). A
benchmark, not a test: it prints figures and whether the target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from . import procs

MB = 1_000_000
CHUNK = 256 * 1024
TARGET_GROWTH_MB = 20


class RssSampler:
    """The peak RSS of a process, sampled in a thread while it runs."""

    def __init__(self, pid: int, interval_s: float = 0.02) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak = procs.rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, procs.rss_bytes(self.pid))


async def zip_like(size: int) -> AsyncIterator[bytes]:
    """``size`` bytes that sniff as a zip archive (allowed by default)."""
    yield b"PK\x03\x04" + b"\x00" * (CHUNK - 4)
    sent = CHUNK
    block = os.urandom(CHUNK)
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece


async def run(url: str, size: int) -> dict[str, float]:
    async with aiohttp.ClientSession(base_url=url) as http:
        account = await _post(http, "/api/v1/auth/register", _registration("uploader"))
        other = await _post(http, "/api/v1/auth/register", _registration("reader"))
        auth = {"Authorization": f"Bearer {account['access_token']}"}
        conversation = await _post(
            http, "/api/v1/conversations", {"participant_ids": [other["user"]["id"]]}, auth
        )
        body = {
            "conversation_id": conversation["id"],
            "name": "big.zip",
            "size": size,
            "mime": "application/zip",
        }
        ticket = await _post(http, "/api/v1/uploads", body, auth)
        started = time.perf_counter()
        async with http.put(ticket["upload_url"], data=zip_like(size)) as response:
            assert response.status == 204, await response.text()
        put_s = time.perf_counter() - started
        started = time.perf_counter()
        attachment = await _post(http, f"/api/v1/uploads/{ticket['id']}/complete", None, auth)
        assert attachment["size"] == size, attachment
        return {"put_s": put_s, "complete_s": time.perf_counter() - started}


async def _post(
    http: aiohttp.ClientSession, path: str, body: object, headers: dict[str, str] | None = None
) -> dict[str, object] | object:
    async with http.post(path, json=body, headers=headers) as response:
        assert response.status in (200, 201), (path, response.status, await response.text())
        return await response.json()


def _registration(name: str) -> dict[str, str]:
    return {
        "email": f"{name}@example.com",
        "password": "bench password 1",
        "display_name": name,
        "role": "client",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upload", description=__doc__)
    parser.add_argument("--mb", type=int, default=100, help="upload size in MB (default 100)")
    args = parser.parse_args(argv)
    size = args.mb * MB
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-upload-"))
    hub = procs.start_hub(
        "upload", workdir, secrets.token_urlsafe(48), None, upload_max_bytes=size + MB
    )
    try:
        before = procs.rss_bytes(hub.pid)
        with RssSampler(hub.pid) as rss:
            times = asyncio.run(run(hub.url, size))
        growth = (rss.peak - before) / MB
    finally:
        hub.stop()
    met = "yes" if growth < TARGET_GROWTH_MB else "NO"
    print(f"upload of {args.mb} MB to one hub (local file store):")
    print(f"  hub RSS before {before / MB:.1f} MB, peak {rss.peak / MB:.1f} MB")
    print(f"  growth {growth:.1f} MB (target < {TARGET_GROWTH_MB} MB: {met})")
    print(
        f"  PUT {times['put_s']:.2f} s ({args.mb / times['put_s']:.0f} MB/s),"
        f" complete (type, sha256) {times['complete_s']:.2f} s"
    )
    return 0 if met == "yes" else 1


if __name__ == "__main__":
    sys.exit(main())
