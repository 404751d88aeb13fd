"""The real CLI server (``python -m hub serve``) keeps its data and dev secret across restarts."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from hub.config import DEV_SECRET_FILE
from processes import RunningHub, hub_env, register, running_hub

pytestmark = pytest.mark.slow  # hub processes

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=5)
SECRET = "restart-test-secret-that-is-long-enough-0123456789"


async def call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    async with session.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None) if response.status != 204 else None
        return response.status, body


async def me(session: aiohttp.ClientSession, hub: RunningHub, token: str) -> tuple[int, Any]:
    return await call(
        session, "GET", hub.url("/api/v1/auth/me"), headers={"Authorization": f"Bearer {token}"}
    )


async def test_accounts_survive_a_restart(tmp_path: Path) -> None:
    env = hub_env(tmp_path, SECRET)
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        async with running_hub(tmp_path, env, "first") as hub:
            account = await register(session, hub, "keep", role="freelancer")
            status, _ = await call(
                session,
                "PATCH",
                hub.url("/api/v1/users/me"),
                json={"headline": "persisted"},
                headers={"Authorization": f"Bearer {account['access_token']}"},
            )
            assert status == 200
            assert await hub.stop() == 0, hub.output()

        assert (tmp_path / "hub.db").exists()

        async with running_hub(tmp_path, env, "second") as hub:
            status, body = await call(
                session,
                "POST",
                hub.url("/api/v1/auth/login"),
                json={"email": "keep@example.com", "password": "correct horse"},
            )
            assert status == 200, body
            status, mine = await me(session, hub, body["access_token"])
            assert status == 200, mine
            assert mine["id"] == account["user"]["id"]
            assert mine["email"] == "keep@example.com"
            assert mine["role"] == "freelancer"
            assert mine["headline"] == "persisted"
            assert mine["created_at"] == account["user"]["created_at"]

            # Refresh tokens are stored too: the one issued before the restart rotates.
            status, rotated = await call(
                session,
                "POST",
                hub.url("/api/v1/auth/refresh"),
                json={"refresh_token": account["refresh_token"]},
            )
            assert status == 200, rotated
            # The duplicate check sees the old row.
            status, body = await call(
                session,
                "POST",
                hub.url("/api/v1/auth/register"),
                json={
                    "email": "keep@example.com",
                    "password": "correct horse",
                    "display_name": "Again",
                    "role": "client",
                },
            )
            assert status == 409, body
            assert await hub.stop() == 0, hub.output()


async def test_dev_jwt_secret_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    env = hub_env(tmp_path, jwt_secret=None)
    assert "HUB_JWT_SECRET" not in env
    secret_file = tmp_path / "data" / DEV_SECRET_FILE
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        async with running_hub(tmp_path, env, "first") as hub:
            account = await register(session, hub, "keep", role="freelancer")
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
