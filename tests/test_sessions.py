"""Sessions and their revocation: REST, sockets, and across processes through Redis.

Real hub on a real port with real python-socketio clients; the last test runs
two real hub processes behind a real redis-server.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engines import ON_BOTH_ENGINES
from hub.clock import iso, new_id, utc_now
from hub.cluster.revocations import CHANNEL as REVOCATIONS_CHANNEL
from hub.config import Settings
from hub.context import HUB
from hub.tokens import TokenIssuer
from processes import (
    TEST_SECRET,
    hub_env,
    register,
    running_hub,
    running_redis,
    wait_for_subscribers,
)
from storage.records import RefreshTokenRecord, SessionRecord
from users import Api, SocketFactory

API = "/api/v1"
PASSWORD = "correct horse"
CONV = "/conversations"
NOTIFICATIONS = "/notifications"
# The contract: a revoked session's sockets are gone within 2 s, on every process.
REVOKED_WITHIN_S = 2.0
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def bearer(account: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {account['access_token']}"}


def session_of(settings: Settings, account: dict[str, Any]) -> str:
    """The session of a login: the sid of its access token."""
    return TokenIssuer(settings).verify(account["access_token"]).session_id


async def login(http: TestClient, name: str, agent: str = "test-agent") -> dict[str, Any]:
    response = await http.post(
        f"{API}/auth/login",
        headers={"User-Agent": agent},
        json={"email": f"{name}@example.com", "password": PASSWORD},
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def list_sessions(http: TestClient, account: dict[str, Any]) -> list[dict[str, Any]]:
    response = await http.get(f"{API}/auth/sessions", headers=bearer(account))
    assert response.status == 200, await response.text()
    return (await response.json())["items"]


async def me_status(http: TestClient, account: dict[str, Any]) -> int:
    return (await http.get(f"{API}/auth/me", headers=bearer(account))).status


class Watched:
    """A connected client and what the server told each of its namespaces."""

    def __init__(self, client: socketio.AsyncClient, namespaces: list[str]) -> None:
        self.client = client
        self.revoked = {ns: asyncio.Event() for ns in namespaces}
        self.disconnected = {ns: asyncio.Event() for ns in namespaces}
        for ns in namespaces:
            client.on("auth:revoked", lambda data, ns=ns: self.revoked[ns].set(), namespace=ns)
            client.on(
                "disconnect", lambda *reason, ns=ns: self.disconnected[ns].set(), namespace=ns
            )

    async def dropped(self) -> None:
        """Every namespace got auth:revoked and was disconnected, in time."""
        events = [*self.revoked.values(), *self.disconnected.values()]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), REVOKED_WITHIN_S)

    async def still_serves(self) -> None:
        """Still connected everywhere, and still answered."""
        assert self.client.connected
        assert not any(e.is_set() for e in [*self.revoked.values(), *self.disconnected.values()])
        ack = await self.client.call("conversation:list", {}, namespace=CONV, timeout=3)
        assert ack["ok"] is True, ack


Watch = Callable[..., Awaitable[Watched]]


@pytest.fixture
def watch(connect: SocketFactory) -> Watch:
    """``await watch(account)``: a client connected with the account's access
    token to /conversations and /notifications, watched from before its connect."""

    async def factory(
        account: dict[str, Any], namespaces: tuple[str, ...] = (CONV, NOTIFICATIONS)
    ) -> Watched:
        watched: list[Watched] = []
        await connect(
            account["access_token"],
            list(namespaces),
            before=lambda client: watched.append(Watched(client, list(namespaces))),
        )
        return watched[0]

    return factory


async def refused_on_connect(url: str, token: str) -> dict[str, Any]:
    client = socketio.AsyncClient(reconnection=False)
    errors: asyncio.Queue[Any] = asyncio.Queue()
    client.on("connect_error", errors.put_nowait, namespace=CONV)
    try:
        await client.connect(
            url, namespaces=[CONV], auth={"token": token}, transports=["websocket"], wait_timeout=3
        )
    except socketio.exceptions.ConnectionError:
        return await asyncio.wait_for(errors.get(), 3)
    finally:
        await client.disconnect()
    raise AssertionError("the connect was accepted")


# --- listing --------------------------------------------------------------------------------


async def test_each_login_is_a_session_and_current_marks_the_callers(
    http: TestClient, api: Api, settings: Settings
) -> None:
    await api.register("ana")
    phone = await login(http, "ana", agent="phone")
    laptop = await login(http, "ana", agent="laptop " + "x" * 300)

    seen_by_laptop = await list_sessions(http, laptop)
    seen_by_phone = await list_sessions(http, phone)

    # Newest first: laptop, phone, then the registration's own session.
    ids = [session_of(settings, laptop), session_of(settings, phone)]
    assert [s["id"] for s in seen_by_laptop][:2] == ids
    assert len(seen_by_laptop) == 3
    assert [s["current"] for s in seen_by_laptop] == [True, False, False]
    assert [s["current"] for s in seen_by_phone] == [False, True, False]
    laptop_session, phone_session = seen_by_laptop[0], seen_by_laptop[1]
    assert set(phone_session) == {"id", "created_at", "last_used_at", "user_agent", "ip", "current"}
    assert phone_session["user_agent"] == "phone"
    assert laptop_session["user_agent"] == ("laptop " + "x" * 300)[:256]
    assert phone_session["ip"] == "127.0.0.1"
    assert ISO_MS_Z.match(phone_session["created_at"])
    assert phone_session["last_used_at"] == phone_session["created_at"]


async def test_a_refresh_moves_last_used_at_and_keeps_the_session(
    http: TestClient, api: Api, settings: Settings
) -> None:
    account = await api.register("bo")
    before = (await list_sessions(http, account))[0]
    await asyncio.sleep(0.01)  # on purpose: a later millisecond for last_used_at

    response = await http.post(
        f"{API}/auth/refresh", json={"refresh_token": account["refresh_token"]}
    )
    refreshed = await response.json()

    assert session_of(settings, refreshed) == session_of(settings, account)
    [after] = await list_sessions(http, refreshed)
    assert (after["id"], after["created_at"]) == (before["id"], before["created_at"])
    assert after["last_used_at"] > before["last_used_at"]


# --- revoking -------------------------------------------------------------------------------


async def test_revoking_a_session_ends_its_tokens_and_sockets_only(
    http: TestClient, api: Api, watch: Watch, settings: Settings
) -> None:
    await api.register("cy")
    phone = await login(http, "cy", agent="phone")
    laptop = await login(http, "cy", agent="laptop")
    phone_socket = await watch(phone)
    laptop_socket = await watch(laptop)

    response = await http.delete(
        f"{API}/auth/sessions/{session_of(settings, phone)}", headers=bearer(laptop)
    )

    assert response.status == 204
    await phone_socket.dropped()
    assert await me_status(http, phone) == 401
    refresh = await http.post(f"{API}/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert refresh.status == 401
    assert await me_status(http, laptop) == 200
    await laptop_socket.still_serves()
    assert session_of(settings, phone) not in {s["id"] for s in await list_sessions(http, laptop)}


async def test_a_session_can_revoke_itself(http: TestClient, api: Api, settings: Settings) -> None:
    account = await api.register("di")

    response = await http.delete(
        f"{API}/auth/sessions/{session_of(settings, account)}", headers=bearer(account)
    )

    assert response.status == 204
    assert await me_status(http, account) == 401


async def test_someone_elses_unknown_or_revoked_session_is_404(
    http: TestClient, api: Api, settings: Settings
) -> None:
    mine = await api.register("ed")
    theirs = await api.register("flo")
    old = await login(http, "ed")
    assert (
        await http.delete(f"{API}/auth/sessions/{session_of(settings, old)}", headers=bearer(mine))
    ).status == 204

    for session_id in (session_of(settings, theirs), "no-such-session", session_of(settings, old)):
        response = await http.delete(f"{API}/auth/sessions/{session_id}", headers=bearer(mine))
        assert response.status == 404, session_id
        assert (await response.json(content_type=None))["code"] == "not_found"
    assert await me_status(http, theirs) == 200


async def test_logout_ends_the_refresh_tokens_session(
    http: TestClient, api: Api, watch: Watch
) -> None:
    account = await api.register("gus")
    other = await login(http, "gus")
    socket = await watch(account)
    other_socket = await watch(other)

    response = await http.post(
        f"{API}/auth/logout", json={"refresh_token": account["refresh_token"]}
    )

    assert response.status == 204
    await socket.dropped()
    assert await me_status(http, account) == 401
    assert await me_status(http, other) == 200
    await other_socket.still_serves()


async def test_logout_all_ends_every_session_this_one_too(
    http: TestClient, api: Api, watch: Watch
) -> None:
    first = await api.register("hal")
    second = await login(http, "hal")
    sockets = [await watch(first), await watch(second)]

    response = await http.post(f"{API}/auth/logout-all", headers=bearer(second))

    assert response.status == 204
    for socket in sockets:
        await socket.dropped()
    assert [await me_status(http, a) for a in (first, second)] == [401, 401]
    fresh = await login(http, "hal")
    assert [s["current"] for s in await list_sessions(http, fresh)] == [True]


async def test_reusing_a_refresh_token_ends_the_session_and_its_sockets(
    http: TestClient, api: Api, watch: Watch
) -> None:
    account = await api.register("ida")
    rotated = await (
        await http.post(f"{API}/auth/refresh", json={"refresh_token": account["refresh_token"]})
    ).json()
    socket = await watch(rotated)

    reuse = await http.post(f"{API}/auth/refresh", json={"refresh_token": account["refresh_token"]})

    assert reuse.status == 401
    await socket.dropped()
    assert await me_status(http, rotated) == 401


async def test_auth_refresh_with_a_revoked_sessions_token_is_refused(
    http: TestClient, api: Api, watch: Watch, settings: Settings
) -> None:
    account = await api.register("jo")
    doomed = await login(http, "jo")
    socket = await watch(account, (CONV,))
    await http.delete(
        f"{API}/auth/sessions/{session_of(settings, doomed)}", headers=bearer(account)
    )

    ack = await socket.client.call(
        "auth:refresh", {"token": doomed["access_token"]}, namespace=CONV, timeout=3
    )

    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
    await socket.still_serves()


async def test_a_connection_follows_the_session_of_its_newest_token(
    http: TestClient, api: Api, watch: Watch, settings: Settings
) -> None:
    account = await api.register("kai")
    newer = await login(http, "kai")
    socket = await watch(account, (CONV,))
    ack = await socket.client.call(
        "auth:refresh", {"token": newer["access_token"]}, namespace=CONV, timeout=3
    )
    assert ack["ok"] is True

    # Revoking the session it connected with leaves it alone...
    await http.delete(f"{API}/auth/sessions/{session_of(settings, account)}", headers=bearer(newer))
    await socket.still_serves()
    # ...revoking the one it now uses drops it.
    await http.delete(f"{API}/auth/sessions/{session_of(settings, newer)}", headers=bearer(newer))
    await socket.dropped()


# --- tokens that no session backs ------------------------------------------------------------


async def test_a_signed_token_of_a_user_that_does_not_exist_is_refused(
    http: TestClient, server: TestServer, settings: Settings
) -> None:
    ghost = TokenIssuer(settings).issue(new_id(), "client", new_id())

    response = await http.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {ghost}"})
    assert response.status == 401
    assert (await response.json(content_type=None))["code"] == "unauthorized"
    error = await refused_on_connect(str(server.make_url("/")), ghost)
    assert error["code"] == "unauthorized"


async def test_a_token_naming_another_users_session_is_refused(
    http: TestClient, api: Api, server: TestServer, settings: Settings
) -> None:
    victim = await api.register("lu")
    forger = await api.register("max")
    forged = TokenIssuer(settings).issue(
        forger["user"]["id"], "client", session_of(settings, victim)
    )

    assert (
        await http.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {forged}"})
    ).status == 401
    assert (await refused_on_connect(str(server.make_url("/")), forged))["code"] == "unauthorized"


async def test_a_revoked_sessions_token_cannot_connect(
    http: TestClient, api: Api, server: TestServer
) -> None:
    account = await api.register("ned")
    await http.post(f"{API}/auth/logout", json={"refresh_token": account["refresh_token"]})

    error = await refused_on_connect(str(server.make_url("/")), account["access_token"])

    assert error["code"] == "unauthorized" and error["message"] == "Access token revoked"


@pytest.mark.hub_settings(rate_limits="on", rate_limit_rest="3/1h")
async def test_rest_rate_limits_count_a_revoked_token_per_ip(http: TestClient, api: Api) -> None:
    """A revoked token is no user identity for the rate limiter either."""
    account = await api.register("ola")
    await http.post(f"{API}/auth/logout-all", headers=bearer(account))  # 1st of the user's 3

    statuses = [
        (await http.get(f"{API}/auth/me", headers=bearer(account))).status for _ in range(4)
    ]

    # Counted against the IP's bucket (3), not the user's (2 left).
    assert statuses == [401, 401, 401, 429]


# --- retention (HUB_SESSION_RETENTION_DAYS) -------------------------------------------------


@ON_BOTH_ENGINES
@pytest.mark.hub_settings(session_retention_days=7)
async def test_a_prune_deletes_what_ended_and_refresh_and_reuse_detection_still_work(
    http: TestClient, api: Api, app: web.Application, settings: Settings
) -> None:
    hub = app[HUB]
    await hub.session_pruner.stop()  # its run at start must not race the rows below
    account = await api.register("kim")
    user_id, family = account["user"]["id"], session_of(settings, account)
    rotated = await refresh_ok(http, account)
    current = await refresh_ok(http, rotated)
    now = utc_now()
    eight_days_ago, six_days_ago = iso(now - timedelta(days=8)), iso(now - timedelta(days=6))
    # Rows that ended 8 days ago go, 6 days ago stay: in the live family an
    # old expired token, and sessions revoked, or whose tokens all expired.
    old_sessions = {
        "revoked-8d": (eight_days_ago, eight_days_ago),  # (last used, revoked)
        "revoked-6d": (eight_days_ago, six_days_ago),
        "expired-8d": (eight_days_ago, None),
        "expired-6d": (eight_days_ago, None),
    }
    for session_id, (last_used_at, revoked_at) in old_sessions.items():
        await hub.store.sessions.create(
            SessionRecord(session_id, user_id, last_used_at, last_used_at, revoked_at=revoked_at)
        )
    for token_hash, family_id, expires_at in (
        ("family-8d", family, eight_days_ago),
        ("family-6d", family, six_days_ago),
        ("expired-8d", "expired-8d", eight_days_ago),
        ("expired-6d", "expired-6d", six_days_ago),
    ):
        await hub.store.refresh_tokens.create(
            RefreshTokenRecord(token_hash, family_id, user_id, eight_days_ago, expires_at)
        )

    assert await hub.session_pruner.prune() == 4

    hashes = ("family-8d", "family-6d", "expired-8d", "expired-6d")
    tokens_left = {h for h in hashes if await hub.store.refresh_tokens.get(h) is not None}
    assert tokens_left == {"family-6d", "expired-6d"}
    left = {s for s in old_sessions if await hub.store.sessions.get(s) is not None}
    assert left == {"revoked-6d", "expired-6d"}
    metrics = await (await http.get("/metrics")).text()
    assert 'hub_sessions_pruned_total{kind="refresh_token"} 2.0' in metrics
    assert 'hub_sessions_pruned_total{kind="session"} 2.0' in metrics
    # The live login still refreshes, and its rotated tokens were kept: the
    # first one presented again is a reuse, which ends the session.
    newest = await refresh_ok(http, current)
    assert await me_status(http, newest) == 200
    reuse = await http.post(f"{API}/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert reuse.status == 401
    assert "reused" in (await reuse.json())["detail"]
    assert await me_status(http, newest) == 401
    refused = await http.post(
        f"{API}/auth/refresh", json={"refresh_token": newest["refresh_token"]}
    )
    assert refused.status == 401


async def refresh_ok(http: TestClient, account: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(
        f"{API}/auth/refresh", json={"refresh_token": account["refresh_token"]}
    )
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


# --- across processes -------------------------------------------------------------------------


@pytest.mark.slow  # two hub processes
@pytest.mark.redis
async def test_a_revocation_on_one_process_drops_the_sockets_on_another(tmp_path: Path) -> None:
    """One session revoked, then logout-all, on node A: the sockets on node B drop."""
    async with running_redis(tmp_path) as redis:
        env = hub_env(tmp_path, redis_url=redis.url, rate_limits="off")
        async with (
            running_hub(tmp_path, env, "a") as node_a,
            running_hub(tmp_path, env, "b") as node_b,
            aiohttp.ClientSession() as http,
        ):
            await wait_for_subscribers(redis.url, 2, REVOCATIONS_CHANNEL)
            account = await register(http, node_a, "pia")
            async with http.post(
                node_b.url(f"{API}/auth/login"),
                json={"email": "pia@example.com", "password": PASSWORD},
            ) as response:
                other = await response.json()
            session_id = jwt.decode(account["access_token"], TEST_SECRET, algorithms=["HS256"])[
                "sid"
            ]
            clients = []
            try:
                watched = []
                for token in (account["access_token"], other["access_token"]):
                    client = socketio.AsyncClient(reconnection=False)
                    watched.append(Watched(client, [CONV]))
                    clients.append(client)
                    await client.connect(
                        node_b.url(),
                        namespaces=[CONV],
                        auth={"token": token},
                        transports=["websocket"],
                        wait_timeout=5,
                    )

                async with http.delete(
                    node_a.url(f"{API}/auth/sessions/{session_id}"), headers=bearer(account)
                ) as response:
                    assert response.status == 204, await response.text()

                await watched[0].dropped()
                async with http.get(
                    node_b.url(f"{API}/auth/me"), headers=bearer(account)
                ) as response:
                    assert response.status == 401
                await watched[1].still_serves()

                # logout-all on node A ends the other session too: its socket on B drops.
                async with http.post(
                    node_a.url(f"{API}/auth/logout-all"), headers=bearer(other)
                ) as response:
                    assert response.status == 204, await response.text()
                await watched[1].dropped()
            finally:
                for client in clients:
                    await client.disconnect()
