"""The ``hub`` command as a deployer runs it (``python -m hub``, real subprocesses).

A setting the hub cannot run with is one line on stderr naming the HUB_*
variable and exit status 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import make_settings
from processes import PYTHON, ROOT, free_port, hub_env, running_hub

pytestmark = pytest.mark.slow  # python -m hub in a subprocess, nearly every test

COMMAND_TIMEOUT_S = 60
# The contract: an unreachable MongoDB or Redis stops the hub within 10 s.
UNREACHABLE_BOUND_S = 10.0
PASSWORD = "s3cret-in-the-url"


def run_hub(
    tmp_path: Path,
    *args: str,
    stdin: Any = subprocess.DEVNULL,
    input: str | None = None,
    **settings: Any,
) -> subprocess.CompletedProcess[str]:
    env = hub_env(tmp_path, payments_webhook_secret="webhook-secret-for-the-cli-tests", **settings)
    if input is not None:
        stdin = None  # subprocess.run feeds input through a pipe
    return subprocess.run(
        [str(PYTHON), "-m", "hub", *args],
        cwd=tmp_path,
        env=env,
        stdin=stdin,
        input=input,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], variable: str) -> str:
    output = f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    assert done.returncode == 2, output
    assert "Traceback" not in done.stdout + done.stderr, output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith(f"hub: {variable}"), output
    return lines[0]


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    return free_port()


@pytest.mark.parametrize("level", ["loud", "", "20"])
def test_invalid_log_level(tmp_path: Path, level: str) -> None:
    line = assert_one_line_error(run_hub(tmp_path, "serve", log_level=level), "HUB_LOG_LEVEL:")
    assert "'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'" in line


def test_log_level_is_case_insensitive(tmp_path: Path) -> None:
    assert make_settings(tmp_path, log_level="warning").log_level == "WARNING"


def test_invalid_ws_compression(tmp_path: Path) -> None:
    line = assert_one_line_error(
        run_hub(tmp_path, "serve", ws_compression="gzip"), "HUB_WS_COMPRESSION:"
    )
    assert "'off' or 'on'" in line


def test_ws_compression_is_case_insensitive(tmp_path: Path) -> None:
    assert make_settings(tmp_path, ws_compression=" ON ").ws_compression == "on"


def test_each_settings_error_is_a_line_naming_its_variable(tmp_path: Path) -> None:
    done = run_hub(tmp_path, "serve", port="http", max_group_size="1")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert sorted(done.stderr.strip().splitlines()) == [
        "hub: HUB_MAX_GROUP_SIZE: Input should be greater than or equal to 2",
        "hub: HUB_PORT: Input should be a valid integer, unable to parse string as an integer",
    ]


def test_port_in_use_stops_before_the_hub_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_hub(tmp_path, "serve", "--host", "127.0.0.1", "--port", str(port))
    line = assert_one_line_error(done, "HUB_PORT:")
    assert line == f"hub: HUB_PORT: 127.0.0.1:{port} is already in use"
    assert "hub started" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("setting", "url", "credentials"),
    [
        ("database_url", "mongodb://hub:{password}@127.0.0.1:{port}/hub", "hub:{password}"),
        ("redis_url", "redis://:{password}@127.0.0.1:{port}/0", ":{password}"),
    ],
    ids=["mongodb", "redis"],
)
def test_unreachable_database_or_redis(
    tmp_path: Path, setting: str, url: str, credentials: str
) -> None:
    url = url.format(password=PASSWORD, port=closed_port())
    started = time.monotonic()
    done = run_hub(
        tmp_path, "serve", "--host", "127.0.0.1", "--port", str(free_port()), **{setting: url}
    )
    elapsed = time.monotonic() - started
    line = assert_one_line_error(done, f"HUB_{setting.upper()}:")
    assert url.replace(credentials.format(password=PASSWORD), "***") in line
    assert PASSWORD not in done.stdout + done.stderr
    assert "hub started" not in done.stdout + done.stderr
    assert elapsed < UNREACHABLE_BOUND_S, f"{elapsed:.1f} s"


def test_production_refuses_a_short_jwt_secret(tmp_path: Path) -> None:
    done = run_hub(tmp_path, "serve", env="production", jwt_secret="x" * 31)
    assert "at least 32 bytes" in assert_one_line_error(done, "HUB_JWT_SECRET")


def test_production_refuses_the_development_secret(tmp_path: Path) -> None:
    development = make_settings(tmp_path, jwt_secret=None)
    development.ensure_jwt_secret()  # what development mode writes to <data_dir>/jwt-dev-secret
    assert development.jwt_secret is not None
    done = run_hub(
        tmp_path, "serve", env="production", jwt_secret=development.jwt_secret.get_secret_value()
    )
    assert "development secret" in assert_one_line_error(done, "HUB_JWT_SECRET")


def test_production_refuses_the_placeholder_of_env_example(tmp_path: Path) -> None:
    example = (ROOT / ".env.example").read_text()
    (placeholder,) = re.findall(r"^# HUB_JWT_SECRET=(\S+)$", example, re.MULTILINE)
    done = run_hub(tmp_path, "serve", env="production", jwt_secret=placeholder)
    assert ".env.example" in assert_one_line_error(done, "HUB_JWT_SECRET")


def test_version(tmp_path: Path) -> None:
    done = run_hub(tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"hub {metadata.version('freelance-hub')}"


def test_create_admin_without_a_password_source(tmp_path: Path) -> None:
    done = run_hub(tmp_path, "create-admin", "--email", "admin@example.com")
    assert "HUB_ADMIN_PASSWORD" in assert_one_line_error(done, "create-admin: no password")


def test_create_admin_with_a_bad_password(tmp_path: Path) -> None:
    done = run_hub(
        tmp_path,
        "create-admin",
        "--email",
        "admin@example.com",
        "--password-stdin",
        input="short\n",
    )
    assert_one_line_error(done, "create-admin: password:")


def test_create_admin_with_unreachable_mongodb(tmp_path: Path) -> None:
    url = f"mongodb://hub:{PASSWORD}@127.0.0.1:{closed_port()}/hub"
    done = run_hub(
        tmp_path,
        "create-admin",
        "--email",
        "admin@example.com",
        "--password-stdin",
        input="a long password\n",
        database_url=url,
    )
    assert_one_line_error(done, "HUB_DATABASE_URL:")
    assert PASSWORD not in done.stdout + done.stderr


def _create_admin_in_a_terminal(tmp_path: Path, email: str, password: str) -> str:
    """create-admin with a pseudo-terminal as its controlling terminal, typing
    the password at the prompt; returns what the terminal showed."""
    import fcntl
    import termios

    controller, terminal = os.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = hub_env(tmp_path, payments_webhook_secret="webhook-secret-for-the-cli-tests")
    process = subprocess.Popen(
        [str(PYTHON), "-m", "hub", "create-admin", "--email", email],
        cwd=tmp_path,
        env=env,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=take_terminal,
    )
    os.close(terminal)
    shown = b""
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    while b"Password" not in shown and time.monotonic() < deadline:
        shown += os.read(controller, 1024)
    os.write(controller, password.encode() + b"\n")
    stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT_S)
    while True:  # the rest of what the terminal showed; EIO once the child is gone
        try:
            chunk = os.read(controller, 1024)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.returncode == 0, stderr
    assert stdout.startswith(f"created admin {email}"), stdout
    return shown.decode()


async def test_create_admin_password_sources(tmp_path: Path) -> None:
    """Each way of giving the password sets it: the admins log in with them."""
    admins = {"stdin@example.com": "from standard input", "env@example.com": "from the env"}
    done = run_hub(
        tmp_path,
        "create-admin",
        "--email",
        "stdin@example.com",
        "--password-stdin",
        input="from standard input\n",
    )
    assert done.returncode == 0 and done.stdout.startswith("created admin"), done.stderr
    env_done = subprocess.run(
        [str(PYTHON), "-m", "hub", "create-admin", "--email", "env@example.com"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        env={**hub_env(tmp_path), "HUB_ADMIN_PASSWORD": "from the env"},
    )
    assert env_done.returncode == 0 and "created admin" in env_done.stdout, env_done.stderr
    admins["tty@example.com"] = "typed at the prompt"
    shown = await asyncio.to_thread(
        _create_admin_in_a_terminal, tmp_path, "tty@example.com", "typed at the prompt"
    )
    assert "Password for the admin:" in shown and "typed at the prompt" not in shown  # no echo

    async with running_hub(tmp_path, hub_env(tmp_path), "hub") as hub:
        async with aiohttp.ClientSession() as session:
            for email, password in admins.items():
                async with session.post(
                    hub.url("/api/v1/auth/login"), json={"email": email, "password": password}
                ) as answer:
                    assert answer.status == 200, await answer.text()
                    assert (await answer.json())["user"]["role"] == "admin"
        assert await hub.stop() == 0
