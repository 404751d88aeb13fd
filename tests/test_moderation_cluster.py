"""Done when (issue 20): a report -> queue -> ban on one hub process disconnects
the banned user's sockets on a second process within 2 s (Redis)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from hub.cluster.revocations import CHANNEL as REVOCATIONS_CHANNEL
from processes import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    create_admin,
    hub_env,
    register,
    running_hub,
    running_redis,
    wait_for_subscribers,
)
from users import API, PASSWORD

CONV = "/conversations"
DROPPED_WITHIN_S = 2.0


def bearer(account: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {account['access_token']}"}


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    account: dict[str, Any] | None = None,
    body: Any = None,
    status: int = 200,
) -> Any:
    headers = bearer(account) if account is not None else {}
    async with http.request(method, url, json=body, headers=headers) as response:
        assert response.status == status, await response.text()
        return await response.json()


@pytest.mark.slow  # two hub processes
@pytest.mark.redis
async def test_a_ban_on_one_process_drops_the_users_sockets_on_another(tmp_path: Path) -> None:
    async with running_redis(tmp_path) as redis:
        env = hub_env(tmp_path, redis_url=redis.url, rate_limits="off")
        await create_admin(tmp_path, env)
        async with (
            running_hub(tmp_path, env, "a") as node_a,
            running_hub(tmp_path, env, "b") as node_b,
            aiohttp.ClientSession() as http,
        ):
            await wait_for_subscribers(redis.url, 2, REVOCATIONS_CHANNEL)
            ann = await register(http, node_a, "ann")
            mal = await register(http, node_a, "mal")
            admin = await call(
                http,
                "POST",
                node_a.url(f"{API}/auth/login"),
                body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            )
            conversation = await call(
                http,
                "POST",
                node_a.url(f"{API}/conversations"),
                mal,
                {"participant_ids": [ann["user"]["id"]], "type": "direct"},
                201,
            )
            message = await call(
                http,
                "POST",
                node_a.url(f"{API}/conversations/{conversation['id']}/messages"),
                mal,
                {"text": "send the money to my paypal instead"},
                201,
            )

            client = socketio.AsyncClient(reconnection=False)
            gone = asyncio.Event()
            client.on("disconnect", lambda *reason: gone.set(), namespace=CONV)
            await client.connect(
                node_b.url(),
                namespaces=[CONV],
                auth={"token": mal["access_token"]},
                transports=["websocket"],
                wait_timeout=5,
            )
            try:
                report = await call(
                    http,
                    "POST",
                    node_a.url(f"{API}/reports"),
                    ann,
                    {"target": {"type": "message", "id": message["id"]}, "reason": "scam"},
                    201,
                )
                queue = await call(
                    http, "GET", node_a.url(f"{API}/admin/reports?status=open"), admin
                )
                assert [r["id"] for r in queue["items"]] == [report["id"]]
                context = await call(
                    http, "GET", node_a.url(f"{API}/admin/reports/{report['id']}/context"), admin
                )
                assert context["message"]["id"] == message["id"]

                started = time.monotonic()
                await call(
                    http,
                    "POST",
                    node_a.url(f"{API}/admin/reports/{report['id']}/resolve"),
                    admin,
                    {"action": "ban", "note": "scam"},
                )
                await asyncio.wait_for(gone.wait(), DROPPED_WITHIN_S)
                assert time.monotonic() - started < DROPPED_WITHIN_S
            finally:
                await client.disconnect()

            async with http.post(
                node_b.url(f"{API}/auth/login"),
                json={"email": "mal@example.com", "password": PASSWORD},
            ) as response:
                assert response.status == 403
                assert (await response.json())["code"] == "account_suspended"
            audit = await call(http, "GET", node_b.url(f"{API}/admin/audit"), admin)
            assert [e["action"] for e in reversed(audit["items"])] == [
                "user.role",  # hub create-admin
                "report.context_read",
                "report.ban",
                "user.ban",
            ]
