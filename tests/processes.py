"""Real processes for tests: ``python -m hub serve`` and ``redis-server``.

Every wait is bounded; every process is killed when its context exits.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from users import registration
from waits import eventually

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
TEST_SECRET = "process-test-secret-that-is-long-enough-0123456789"
# Set by conftest.py for each test: whether it is marked ``redis`` (and so may start one).
redis_allowed = True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hub_env(
    tmp_path: Path, jwt_secret: str | None = TEST_SECRET, **settings: Any
) -> dict[str, str]:
    """The environment of a hub process: this machine's, minus any HUB_*, plus ours.

    ``settings`` are extra HUB_* values by field name: ``redis_url="redis://..."``.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
    env.update(
        {
            "HUB_DATABASE_URL": f"sqlite:///{tmp_path}/hub.db",
            "HUB_DATA_DIR": str(tmp_path / "data"),
            "HUB_PASSWORD_HASH_MEMORY_KIB": "1024",
            "HUB_PASSWORD_HASH_TIME_COST": "1",
            "HUB_ENV": "development",
            "PYTHONPATH": str(ROOT),
        }
    )
    if jwt_secret is not None:
        env["HUB_JWT_SECRET"] = jwt_secret
    env.update({f"HUB_{name.upper()}": str(value) for name, value in settings.items()})
    return env


class RunningHub:
    def __init__(self, process: asyncio.subprocess.Process, base: str, log: Path) -> None:
        self.process = process
        self.base = base
        self.log = log

    def url(self, path: str = "/") -> str:
        return self.base + path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def log_lines(self) -> list[str]:
        """The complete lines written so far: the hub may be mid-line when read."""
        text = self.log.read_text(errors="replace")
        return text[: text.rfind("\n") + 1].splitlines()

    async def stop(self) -> int:
        """SIGTERM, then wait (bounded) for a clean exit."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(
                f"hub ignored SIGTERM for {STOP_TIMEOUT_S} s:\n{self.output()}"
            ) from None

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing."""
        self.process.kill()
        await self.process.wait()

    def rss_mb(self) -> float:
        """The process's resident memory."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kib) / 1024

    async def metric(self, session: aiohttp.ClientSession, name: str, **labels: str) -> float:
        """A sample of its /metrics (0 when it has none yet)."""
        async with session.get(self.url("/metrics")) as response:
            return sample(await response.text(), name, **labels)


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of ``name{labels}`` in a Prometheus text exposition, or 0."""
    wanted = name + (
        "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""
    )
    for line in exposition.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    return 0.0


ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"


async def create_admin(tmp_path: Path, env: dict[str, str]) -> None:
    """``hub create-admin`` on the database of ``env``, as an operator runs it."""
    process = await asyncio.create_subprocess_exec(
        str(PYTHON),
        "-m",
        "hub",
        "create-admin",
        "--email",
        ADMIN_EMAIL,
        cwd=tmp_path,
        env={**env, "HUB_ADMIN_PASSWORD": ADMIN_PASSWORD},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, output.decode()


async def register(
    session: aiohttp.ClientSession, hub: RunningHub | str, name: str, role: str = "client"
) -> dict[str, Any]:
    """Register ``name`` on a hub (or at a base URL): the register response."""
    base = hub.base if isinstance(hub, RunningHub) else hub.rstrip("/")
    async with session.post(
        f"{base}/api/v1/auth/register", json=registration(name, role)
    ) as response:
        assert response.status == 201, await response.text()
        return await response.json()


@asynccontextmanager
async def running_hub(tmp_path: Path, env: dict[str, str], name: str) -> AsyncIterator[RunningHub]:
    """``python -m hub serve`` on a free port, healthy when entered."""
    python = PYTHON if PYTHON.exists() else Path(sys.executable)
    async with serving([str(python), "-m", "hub"], tmp_path, env, tmp_path / f"{name}.log") as hub:
        yield hub


@asynccontextmanager
async def serving(
    hub_command: list[str], cwd: Path, env: dict[str, str], log: Path
) -> AsyncIterator[RunningHub]:
    """``<hub_command> serve`` on a free loopback port from ``cwd``, its output in
    ``log``; healthy when entered, killed if still running on exit."""
    port = free_port()
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *hub_command,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=sink,
        )
    hub = RunningHub(process, f"http://127.0.0.1:{port}", log)
    try:
        await wait_until_healthy(hub)
        yield hub
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def wait_until_healthy(hub: RunningHub, path: str = "/healthz") -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
        while time.monotonic() < deadline:
            if hub.process.returncode is not None:
                raise AssertionError(f"hub exited with {hub.process.returncode}:\n{hub.output()}")
            try:
                async with session.get(hub.url(path)) as response:
                    if response.status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"hub not healthy after {START_TIMEOUT_S} s:\n{hub.output()}")


class RedisServer:
    """A real ``redis-server`` on a free loopback port, with no persistence."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        if not redis_allowed:
            raise AssertionError("a test that starts redis-server must be marked redis")
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run ./scripts/test")
        self.process = await asyncio.create_subprocess_exec(
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await self._wait_for_pong()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self.process = None

    async def _wait_for_pong(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(b"PING\r\n")
                await writer.drain()
                line = await asyncio.wait_for(reader.readline(), 1)
                writer.close()
                if line.startswith(b"+PONG"):
                    return
            except OSError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING within 10 s")


@asynccontextmanager
async def running_redis(workdir: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(workdir)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def wait_for_subscribers(redis_url: str, count: int, *channels: str) -> None:
    """Until every one of ``channels`` has ``count`` subscribers (each hub process
    listens before a test begins)."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        await eventually(
            lambda: client.pubsub_numsub(*channels),
            lambda counts: all(n >= count for _, n in counts),
            timeout=10,
            message=f"subscribers of {channels}",
        )
    finally:
        await client.aclose()
