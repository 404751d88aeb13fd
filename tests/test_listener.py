"""``hub serve``'s listening socket: the accept queue is HUB_LISTEN_BACKLOG long."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from hub import cli
from hub.config import Settings
from processes import free_port, hub_env, running_hub


def test_the_backlog_setting_reaches_run_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    seen: dict[str, Any] = {}
    monkeypatch.setattr(cli.web, "run_app", lambda app, **kwargs: seen.update(kwargs))
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        jwt_secret="x" * 64,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path}/hub.db",
        listen_backlog=777,
    )
    assert cli._serve(settings, "127.0.0.1", free_port()) == 0
    assert seen["backlog"] == 777
    assert Settings(_env_file=None).listen_backlog == 4096  # type: ignore[call-arg]


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
@pytest.mark.slow  # a hub process
async def test_the_listening_socket_has_that_backlog(tmp_path: Path):
    async with running_hub(tmp_path, hub_env(tmp_path, listen_backlog=777), "hub") as hub:
        port = hub.base.rsplit(":", 1)[1]
        ss = await asyncio.create_subprocess_exec(
            "ss", "-Hltn", f"sport = :{port}", stdout=asyncio.subprocess.PIPE
        )
        out, _ = await ss.communicate()
        # For a listening socket ss shows the backlog as Send-Q (third column).
        assert [line.split()[2] for line in out.decode().splitlines()] == ["777"]
        await hub.stop()
