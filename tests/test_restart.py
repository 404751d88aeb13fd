"""The real CLI server (``python -m hub serve``) keeps its data and dev secret across restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import jwt

from hub.config import DEV_SECRET_FILE

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=5)
SECRET = "restart-test-secret-that-is-long-enough-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hub_env(tmp_path: Path, jwt_secret: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
    env.update({
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path}/hub.db",
        "HUB_DATA_DIR": str(tmp_path / "data"),
        "HUB_PASSWORD_HASH_MEMORY_KIB": "1024",
        "HUB_PASSWORD_HASH_TIME_COST": "1",
        "HUB_ENV": "development",
        "PYTHONPATH": str(ROOT),
    })
    if jwt_secret is not None:
        env["HUB_JWT_SECRET"] = jwt_secret
    return env


class RunningHub:
    def __init__(self, process: asyncio.subprocess.Process, base: str, log: Path) -> None:
        self.process = process
        self.base = base
        self.log = log

    def url(self, path: str) -> str:
        return self.base + path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def stop(self) -> int:
        """SIGTERM, then wait (bounded) for a clean exit."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"hub ignored SIGTERM for {STOP_TIMEOUT_S} s:\n{self.output()}")
        return code


@asynccontextmanager
async def running_hub(tmp_path: Path, env: dict[str, str], name: str) -> AsyncIterator[RunningHub]:
    """``python -m hub serve`` on a free port, ready (``/healthz``) when entered."""
    port = free_port()
    log = tmp_path / f"{name}.log"
    python = PYTHON if PYTHON.exists() else Path(sys.executable)
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            str(python), "-m", "hub", "serve", "--host", "127.0.0.1", "--port", str(port),
            cwd=tmp_path, env=env, stdout=sink, stderr=sink,
        )
    hub = RunningHub(process, f"http://127.0.0.1:{port}", log)
    try:
        await wait_until_healthy(hub)
        yield hub
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def wait_until_healthy(hub: RunningHub) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
        while time.monotonic() < deadline:
            if hub.process.returncode is not None:
                raise AssertionError(f"hub exited with {hub.process.returncode}:\n{hub.output()}")
            try:
                async with session.get(hub.url("/healthz")) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"hub not healthy after {START_TIMEOUT_S} s:\n{hub.output()}")


async def call(session: aiohttp.ClientSession, method: str, url: str,
               **kwargs: Any) -> tuple[int, Any]:
    async with session.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None) if response.status != 204 else None
        return response.status, body


async def register(session: aiohttp.ClientSession, hub: RunningHub) -> dict[str, Any]:
    status, body = await call(session, "POST", hub.url("/api/v1/auth/register"), json={
        "email": "keep@example.com", "password": "correct horse", "display_name": "Keep",
        "role": "freelancer",
    })
    assert status == 201, body
    return body


async def me(session: aiohttp.ClientSession, hub: RunningHub, token: str) -> tuple[int, Any]:
    return await call(session, "GET", hub.url("/api/v1/auth/me"),
                      headers={"Authorization": f"Bearer {token}"})


async def test_accounts_survive_a_restart(tmp_path: Path) -> None:
    env = hub_env(tmp_path, SECRET)
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        async with running_hub(tmp_path, env, "first") as hub:
            account = await register(session, hub)
            status, _ = await call(session, "PATCH", hub.url("/api/v1/users/me"),
                                   json={"headline": "persisted"},
                                   headers={"Authorization": f"Bearer {account['access_token']}"})
            assert status == 200
            assert await hub.stop() == 0, hub.output()

        assert (tmp_path / "hub.db").exists()

        async with running_hub(tmp_path, env, "second") as hub:
            status, body = await call(session, "POST", hub.url("/api/v1/auth/login"),
                                      json={"email": "keep@example.com",
                                            "password": "correct horse"})
            assert status == 200, body
            status, mine = await me(session, hub, body["access_token"])
            assert status == 200, mine
            assert mine["id"] == account["user"]["id"]
            assert mine["email"] == "keep@example.com"
            assert mine["role"] == "freelancer"
            assert mine["headline"] == "persisted"
            assert mine["created_at"] == account["user"]["created_at"]

            # Refresh tokens are stored too: the one issued before the restart rotates.
            status, rotated = await call(session, "POST", hub.url("/api/v1/auth/refresh"),
                                         json={"refresh_token": account["refresh_token"]})
            assert status == 200, rotated
            # The duplicate check sees the old row.
            status, body = await call(session, "POST", hub.url("/api/v1/auth/register"), json={
                "email": "keep@example.com", "password": "correct horse",
                "display_name": "Again", "role": "client"})
            assert status == 409, body
            assert await hub.stop() == 0, hub.output()


async def test_dev_jwt_secret_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    env = hub_env(tmp_path, jwt_secret=None)
    assert "HUB_JWT_SECRET" not in env
    secret_file = tmp_path / "data" / DEV_SECRET_FILE
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        async with running_hub(tmp_path, env, "first") as hub:
            account = await register(session, hub)
            assert await hub.stop() == 0, hub.output()

        assert secret_file.exists()
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        secret = secret_file.read_text().strip()
        assert len(secret) >= 32
        # The token was signed with the generated secret kept in the data directory.
        claims = jwt.decode(account["access_token"], secret, algorithms=["HS256"])
        assert claims["sub"] == account["user"]["id"]

        async with running_hub(tmp_path, env, "second") as hub:
            status, mine = await me(session, hub, account["access_token"])
            assert status == 200, mine
            assert mine["id"] == account["user"]["id"]
            assert await hub.stop() == 0, hub.output()
        assert secret_file.read_text().strip() == secret, "the secret was regenerated"

