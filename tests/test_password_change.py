"""Password change (issue 19): the caller's session stays, every other one is
revoked at once (its tokens refused, its sockets dropped within 2 s), here and
on another hub process through Redis.

Real hub on a real port with real python-socketio clients; the last test runs
two real hub processes behind a real redis-server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestClient

from hub.cluster.revocations import CHANNEL as REVOCATIONS_CHANNEL
from processes import hub_env, register, running_hub, running_redis, wait_for_subscribers
from test_sessions import CONV, Watch, Watched, bearer, login, me_status
from test_sessions import watch as watch  # the fixture
from users import PASSWORD, Api

API = "/api/v1"
NEW_PASSWORD = "a much better horse"


async def change(
    http: TestClient, account: dict[str, Any], current: str, new: str
) -> tuple[int, Any]:
    response = await http.post(
        f"{API}/auth/password",
        headers=bearer(account),
        json={"current_password": current, "new_password": new},
    )
    body = await response.json() if response.status != 204 else None
    return response.status, body


async def login_status(http: TestClient, name: str, password: str) -> int:
    response = await http.post(
        f"{API}/auth/login", json={"email": f"{name}@example.com", "password": password}
    )
    return response.status


def named_fields(problem: dict[str, Any]) -> set[str]:
    return {f["field"] for f in problem["details"]["fields"]}


async def test_a_wrong_current_password_is_422_naming_it_and_changes_nothing(
    http: TestClient, api: Api
) -> None:
    account = await api.register("ann")
    other = await login(http, "ann")

    status, problem = await change(http, account, "not my password", NEW_PASSWORD)

    assert status == 422 and problem["code"] == "validation_failed", problem
    assert named_fields(problem) == {"current_password"}
    assert await login_status(http, "ann", PASSWORD) == 200
    assert await login_status(http, "ann", NEW_PASSWORD) == 401
    assert await me_status(http, other) == 200  # no session was revoked


async def test_a_weak_new_password_is_422_naming_it_as_register_does(
    http: TestClient, api: Api
) -> None:
    account = await api.register("bo")

    for weak in ["short", "", "x" * 7]:
        status, problem = await change(http, account, PASSWORD, weak)
        assert status == 422 and problem["code"] == "validation_failed", problem
        assert named_fields(problem) == {"new_password"}
    register = await http.post(
        f"{API}/auth/register",
        json={"email": "x@example.com", "password": "short", "display_name": "x", "role": "client"},
    )
    assert register.status == 422  # the same rule
    assert await login_status(http, "bo", PASSWORD) == 200


async def test_a_change_revokes_every_other_session_and_keeps_the_callers(
    http: TestClient, api: Api, watch: Watch
) -> None:
    current = await api.register("cy")
    phone = await login(http, "cy", agent="phone")
    laptop = await login(http, "cy", agent="laptop")
    phone_socket = await watch(phone)
    laptop_socket = await watch(laptop)
    current_socket = await watch(current)

    status, _ = await change(http, current, PASSWORD, NEW_PASSWORD)

    assert status == 204
    await phone_socket.dropped()
    await laptop_socket.dropped()
    for gone in (phone, laptop):
        assert await me_status(http, gone) == 401
        refresh = await http.post(
            f"{API}/auth/refresh", json={"refresh_token": gone["refresh_token"]}
        )
        assert refresh.status == 401
    assert await me_status(http, current) == 200
    await current_socket.still_serves()
    refreshed = await http.post(
        f"{API}/auth/refresh", json={"refresh_token": current["refresh_token"]}
    )
    assert refreshed.status == 200
    assert await login_status(http, "cy", PASSWORD) == 401
    assert await login_status(http, "cy", NEW_PASSWORD) == 200


async def test_someone_elses_sessions_are_untouched(
    http: TestClient, api: Api, watch: Watch
) -> None:
    dee = await api.register("dee")
    eve = await api.register("eve")
    eve_socket = await watch(eve)

    assert (await change(http, dee, PASSWORD, NEW_PASSWORD))[0] == 204

    assert await me_status(http, eve) == 200
    await eve_socket.still_serves()


async def test_a_revoked_sessions_token_cannot_change_the_password(
    http: TestClient, api: Api
) -> None:
    first = await api.register("fay")
    second = await login(http, "fay")
    assert (await change(http, first, PASSWORD, NEW_PASSWORD))[0] == 204

    status, problem = await change(http, second, NEW_PASSWORD, "yet another horse")

    assert status == 401 and problem["code"] == "unauthorized"
    assert await login_status(http, "fay", NEW_PASSWORD) == 200


@pytest.mark.slow  # two hub processes
@pytest.mark.redis
async def test_a_change_on_one_process_drops_the_sockets_on_another(tmp_path: Path) -> None:
    async with running_redis(tmp_path) as redis:
        env = hub_env(tmp_path, redis_url=redis.url, rate_limits="off")
        async with (
            running_hub(tmp_path, env, "a") as node_a,
            running_hub(tmp_path, env, "b") as node_b,
            aiohttp.ClientSession() as http,
        ):
            await wait_for_subscribers(redis.url, 2, REVOCATIONS_CHANNEL)
            account = await register(http, node_a, "gil")
            async with http.post(
                node_b.url(f"{API}/auth/login"),
                json={"email": "gil@example.com", "password": PASSWORD},
            ) as response:
                other = await response.json()
            client = socketio.AsyncClient(reconnection=False)
            watched = Watched(client, [CONV])
            try:
                await client.connect(
                    node_b.url(),
                    namespaces=[CONV],
                    auth={"token": other["access_token"]},
                    transports=["websocket"],
                    wait_timeout=5,
                )
                async with http.post(
                    node_a.url(f"{API}/auth/password"),
                    headers=bearer(account),
                    json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                ) as response:
                    assert response.status == 204, await response.text()

                await watched.dropped()
                async with http.get(node_b.url(f"{API}/auth/me"), headers=bearer(other)) as me:
                    assert me.status == 401
                async with http.get(node_b.url(f"{API}/auth/me"), headers=bearer(account)) as me:
                    assert me.status == 200
            finally:
                await client.disconnect()
