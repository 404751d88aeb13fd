"""Rate limits: the Limit parser, both token-bucket limiters on real Redis, and the
limits as clients meet them over real sockets and real REST."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from conftest import make_settings
from hub.cluster.redis import create_redis
from hub.config import Settings
from hub.context import HUB
from hub.ratelimit import Limit, MemoryRateLimiter, RedisRateLimiter
from processes import RedisServer
from raw_socket import RawSocket
from users import Api

NS = "/conversations"

# Small limits, so tests cross them quickly; the long periods keep refill out of the way.
LIMITED = {
    "rate_limits": "on",
    "rate_limit_message_send": "3/10s",
    "rate_limit_typing": "2/10s",
    "rate_limit_rest": "5/1m",
    "rate_limit_auth": "4/1m",
}
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


pytestmark = pytest.mark.hub_settings(**LIMITED)


# --- the Limit parser ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "capacity", "period_s"),
    [
        ("30/3s", 30, 3.0),
        ("120/1m", 120, 60.0),
        ("30/5s", 30, 5.0),
        ("600/1m", 600, 60.0),
        ("10/s", 10, 1.0),
        ("5/500ms", 5, 0.5),
        ("1000/2h", 1000, 7200.0),
        (" 7 / 1.5s ", 7, 1.5),
        ("20/1M", 20, 60.0),
    ],
)
def test_limit_parses(text: str, capacity: int, period_s: float) -> None:
    limit = Limit.parse(text)
    assert (limit.capacity, limit.period_s) == (capacity, period_s)
    assert limit.tokens_per_s == pytest.approx(capacity / period_s)
    assert Limit.parse(str(limit)) == limit


@pytest.mark.parametrize(
    "text",
    [
        "",
        "30",
        "30/",
        "/5s",
        "0/5s",
        "30/0s",
        "-1/5s",
        "30/5",
        "30/5y",
        "x/5s",
        "30/5s/2",
        "30/1.5.0s",
        "30 5s",
        "30/0ms",
        "3000000000/1s",
    ],
)
def test_limit_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        Limit.parse(text)


def test_settings_validate_limits_at_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="rate_limit_rest"):
        make_settings(tmp_path, rate_limit_rest="lots")
    for name in ("message_send", "typing", "auth"):
        with pytest.raises(ValidationError, match=f"rate_limit_{name}"):
            make_settings(tmp_path, **{f"rate_limit_{name}": "0/1s"})
    with pytest.raises(ValidationError, match="rate_limits"):
        make_settings(tmp_path, rate_limits="sometimes")

    monkeypatch.setenv("HUB_RATE_LIMITS", "OFF")
    monkeypatch.setenv("HUB_RATE_LIMIT_AUTH", "7/30s")
    from_env = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_env.rate_limits == "off" and from_env.rate_limit_auth == "7/30s"
    defaults = Settings(_env_file=None, rate_limits="on")  # type: ignore[call-arg]
    assert (
        defaults.rate_limit_message_send,
        defaults.rate_limit_typing,
        defaults.rate_limit_rest,
    ) == ("30/5s", "20/10s", "600/1m")


# --- the limiters ----------------------------------------------------------------------------


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> RedisServer | None:
    """None for the memory limiter, else the redis-server of the Redis one."""
    return request.getfixturevalue("redis_server") if request.param == "redis" else None


@pytest_asyncio.fixture
async def limiter(backend: RedisServer | None) -> AsyncIterator[Any]:
    if backend is None:
        yield MemoryRateLimiter()
        return
    client = create_redis(backend.url)
    yield RedisRateLimiter(client)
    await client.aclose()


async def test_burst_up_to_capacity_then_refused(limiter: Any) -> None:
    limit = Limit.parse("5/1s")  # one token every 200 ms
    decisions = [await limiter.hit("burst", limit) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True] * 5
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    assert all(d.limit == 5 and d.retry_after_ms == 0 for d in decisions)
    refused = await limiter.hit("burst", limit)
    assert not refused.allowed
    assert refused.remaining == 0 and refused.limit == 5
    assert 0 < refused.retry_after_ms <= 200
    assert refused.reset_s == 1
    again = await limiter.hit("burst", limit)
    assert not again.allowed and 0 < again.retry_after_ms <= refused.retry_after_ms


async def test_refills_after_waiting(limiter: Any) -> None:
    limit = Limit.parse("2/400ms")  # one token every 200 ms
    assert (await limiter.hit("refill", limit)).allowed
    assert (await limiter.hit("refill", limit)).allowed
    refused = await limiter.hit("refill", limit)
    assert not refused.allowed
    await asyncio.sleep(refused.retry_after_ms / 1000 + 0.03)  # on purpose: until it refills
    assert (await limiter.hit("refill", limit)).allowed
    assert not (await limiter.hit("refill", limit)).allowed
    await asyncio.sleep(0.45)  # the whole period: full again, never more than capacity
    decisions = [await limiter.hit("refill", limit) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]


async def test_keys_are_independent(limiter: Any) -> None:
    limit = Limit.parse("2/1m")
    for _ in range(2):
        assert (await limiter.hit("rl:a", limit)).allowed
    assert not (await limiter.hit("rl:a", limit)).allowed
    b = await limiter.hit("rl:b", limit)
    assert b.allowed and b.remaining == 1
    assert not (await limiter.hit("rl:a", limit)).allowed


async def test_hit_all_takes_from_every_bucket_or_from_none(limiter: Any) -> None:
    wide, narrow = Limit.parse("10/1m"), Limit.parse("2/1m")
    both = [("rl:all", wide), ("rl:family", narrow)]
    assert [(await limiter.hit_all(both)).allowed for _ in range(3)] == [True, True, False]
    refused = await limiter.hit_all(both)
    assert refused.retry_after_ms > 0 and refused.remaining == 0
    # The refusals took nothing from the wide bucket: 10 - 2 tokens are left.
    assert (await limiter.hit("rl:all", wide)).remaining == 7


async def test_memory_limiter_drops_full_buckets_and_keeps_busy_ones() -> None:
    limiter = MemoryRateLimiter(sweep_interval_s=0.05)
    slow, fast = Limit.parse("1/1m"), Limit.parse("1/50ms")
    assert (await limiter.hit("busy", slow)).allowed
    for n in range(200):
        await limiter.hit(f"idle-{n}", fast)
    assert len(limiter) == 201
    await asyncio.sleep(0.1)  # on purpose: past the sweep interval
    await limiter.hit("trigger", fast)  # the first hit after the interval sweeps
    assert len(limiter) == 2  # "busy" (still empty) and "trigger"
    assert not (await limiter.hit("busy", slow)).allowed  # a sweep never forgives


async def test_memory_limiter_is_bounded_by_max_keys() -> None:
    limiter = MemoryRateLimiter(max_keys=100)
    limit = Limit.parse("1/1h")
    for n in range(1000):
        await limiter.hit(f"key-{n}", limit)
    assert len(limiter) == 100
    assert not (await limiter.hit("key-999", limit)).allowed  # recent keys are kept


async def test_redis_bucket_is_shared_by_two_processes(redis_server: RedisServer) -> None:
    """Two limiters on two clients stand for two hub processes."""
    one, two = create_redis(redis_server.url), create_redis(redis_server.url)
    try:
        first, second = RedisRateLimiter(one), RedisRateLimiter(two)
        limit = Limit.parse("10/1m")
        results = await asyncio.gather(
            *((first if n % 2 else second).hit("rl:shared", limit) for n in range(30))
        )
        assert sum(d.allowed for d in results) == 10  # atomic: never over capacity
        assert sorted(d.remaining for d in results if d.allowed) == list(range(10))
        assert not (await first.hit("rl:shared", limit)).allowed
        assert not (await second.hit("rl:shared", limit)).allowed
        # one hash per key, under the hub's prefix, expiring once it would be full
        assert await one.hgetall("hub:rl:shared")
        assert 0 < await one.pttl("hub:rl:shared") <= 60_000
    finally:
        await one.aclose()
        await two.aclose()


async def test_redis_limiter_fails_open_and_recovers(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_server
    client = create_redis(server.url)
    try:
        limiter = RedisRateLimiter(client, retry_after_error_s=0.2)
        limit = Limit.parse("1/1m")
        assert (await limiter.hit("rl:down", limit)).allowed
        assert not (await limiter.hit("rl:down", limit)).allowed
        await server.stop()
        with caplog.at_level(logging.WARNING, logger="hub.ratelimit"):
            outage = [await limiter.hit("rl:down", limit) for _ in range(5)]
        assert all(d.allowed for d in outage)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "Redis" in warnings[0].getMessage()

        await server.start()  # same port, empty data
        await asyncio.sleep(0.25)  # on purpose: past retry_after_error_s, when it tries Redis again
        assert (await limiter.hit("rl:down", limit)).allowed
        assert not (await limiter.hit("rl:down", limit)).allowed  # enforced again
    finally:
        await client.aclose()


# --- sockets ---------------------------------------------------------------------------------


async def conversation_of(
    connect: Any, ann: dict[str, Any], bob: dict[str, Any]
) -> tuple[Any, str]:
    client = await connect(ann["access_token"], [NS])
    ack = await client.call(
        "conversation:create", {"participant_ids": [bob["user"]["id"]]}, namespace=NS, timeout=5
    )
    assert ack["ok"], ack
    return client, ack["data"]["id"]


async def send(client: Any, conversation_id: str, n: int) -> dict[str, Any]:
    return await client.call(
        "message:send",
        {"conversation_id": conversation_id, "client_msg_id": f"m{n}", "text": f"hi {n}"},
        namespace=NS,
        timeout=5,
    )


async def test_socket_message_send_over_the_limit(api: Api, connect: Any) -> None:
    ann, bob = await api.register("ann"), await api.register("bob")
    client, conversation_id = await conversation_of(connect, ann, bob)
    for n in range(3):
        assert (await send(client, conversation_id, n))["ok"]
    refused = await send(client, conversation_id, 3)
    assert refused["ok"] is False
    assert refused["error"]["code"] == "rate_limited"
    retry_after_ms = refused["error"]["details"]["retry_after_ms"]
    assert isinstance(retry_after_ms, int) and 0 < retry_after_ms <= 10_000 / 3 + 1

    # the socket stays connected and usable; other families have their own buckets
    assert client.connected
    listed = await client.call("conversation:list", {}, namespace=NS, timeout=5)
    assert listed["ok"] and listed["data"]["items"][0]["last_seq"] == 3
    # the bucket is per user, not per socket: ann's second device is refused too...
    other_device = await connect(ann["access_token"], [NS])
    assert (await send(other_device, conversation_id, 4))["error"]["code"] == "rate_limited"
    # ...while bob has his own
    bob_client = await connect(bob["access_token"], [NS])
    assert (await send(bob_client, conversation_id, 5))["ok"]


async def test_socket_typing_has_its_own_limit(api: Api, connect: Any) -> None:
    ann, bob = await api.register("ann"), await api.register("bob")
    client, conversation_id = await conversation_of(connect, ann, bob)
    typing = {"conversation_id": conversation_id, "typing": True}
    acks = [await client.call("typing", typing, namespace=NS, timeout=5) for _ in range(3)]
    assert [ack["ok"] for ack in acks] == [True, True, False]
    assert acks[2]["error"]["code"] == "rate_limited"
    assert acks[2]["error"]["details"]["retry_after_ms"] > 0
    assert (await send(client, conversation_id, 1))["ok"]  # message:send is a separate bucket


FAMILIES = (  # (family, namespace, event)
    ("conversation_change", "/conversations", "message:delete"),
    ("conversation_read", "/conversations", "conversation:list"),
    ("presence", "/presence", "presence:set"),
    ("call", "/signaling", "call:invite"),
    ("signal", "/signaling", "signal"),
    ("echo", "/signaling", "echo:stop"),
    ("networking", "/networking", "lobby:leave"),
    ("auth_refresh", "/notifications", "auth:refresh"),
)


@pytest.mark.hub_settings(
    rate_limits="on",
    rate_limit_socket_events="12/1m",
    **{f"rate_limit_{family}": "2/1m" for family, _, _ in FAMILIES},
)
class TestEveryEventFamily:
    """Every socket event has a family with its own setting, and every event,
    invalid ones too, counts against the user's all-events bucket."""

    FAMILIES = FAMILIES

    @pytest.mark.parametrize(("family", "namespace", "event"), FAMILIES)
    async def test_each_family_has_its_own_bucket(
        self, api: Api, connect: Any, family: str, namespace: str, event: str
    ) -> None:
        ann = await api.register("ann")
        client = await connect(ann["access_token"], [namespace])
        codes = [
            (await client.call(event, {}, namespace=namespace, timeout=5))
            .get("error", {})
            .get("code")
            for _ in range(3)
        ]
        assert "rate_limited" not in codes[:2], codes  # wrong payloads, but within the limit
        assert codes[2] == "rate_limited", (family, codes)

    async def test_invalid_and_unknown_events_count_too(self, api: Api, server: TestServer) -> None:
        ann = await api.register("ann")
        raw = await RawSocket.open(str(server.make_url("/")), ann["access_token"], (NS,))
        try:
            codes = [
                (await raw.call(NS, n, body))["error"]["code"]
                for n, body in enumerate(
                    ['["disconnect",{}]', "[{},{}]", '["made:up",{}]', '["sync",{]'] * 3, start=1
                )
            ]
            assert codes[:12] == ["validation_failed"] * 12
            refused = await raw.call(NS, 99, '["conversation:list",{}]')
            assert refused["error"]["code"] == "rate_limited"
            assert refused["error"]["details"]["retry_after_ms"] > 0
            over = await raw.call(NS, 100, '["disconnect",{}]')  # refused events too
            assert over["error"]["code"] == "rate_limited"
        finally:
            await raw.close()


# --- REST ------------------------------------------------------------------------------------


def assert_rate_headers(response: aiohttp.ClientResponse, limit: int, remaining: int) -> None:
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    assert int(response.headers["X-RateLimit-Reset"]) >= 1


async def test_rest_429_with_headers_and_problem_json(api: Api, http: TestClient) -> None:
    ann = await api.register("ann")
    headers = api.auth(ann)
    for remaining in (4, 3, 2):
        response = await http.get("/api/v1/auth/me", headers=headers)
        assert response.status == 200
        assert_rate_headers(response, 5, remaining)
    missing = await http.get("/api/v1/users/nobody", headers=headers)  # errors count and carry them
    assert missing.status == 404
    assert_rate_headers(missing, 5, 1)
    assert (await http.get("/api/v1/auth/me", headers=headers)).status == 200

    refused = await http.get("/api/v1/auth/me", headers=headers)
    assert refused.status == 429
    assert refused.content_type == "application/problem+json"
    assert_rate_headers(refused, 5, 0)
    assert int(refused.headers["Retry-After"]) >= 1
    assert int(refused.headers["Retry-After"]) <= 13  # a token every 12 s
    body = await refused.json()
    assert body["status"] == 429 and body["code"] == "rate_limited"
    assert body["instance"] == "/api/v1/auth/me"
    assert 0 < body["details"]["retry_after_ms"] <= 12_000
    assert "X-Request-ID" in refused.headers

    # per user: another user from the same address is untouched
    bob = await api.register("bob")
    other = await http.get("/api/v1/auth/me", headers=api.auth(bob))
    assert other.status == 200
    assert_rate_headers(other, 5, 4)


async def test_anonymous_rest_is_limited_per_ip_and_probes_never(
    http: TestClient, connect: Any, api: Api
) -> None:
    account = await api.register("ann")  # before the address's REST bucket runs dry
    bad_token = {"Authorization": "Bearer not-a-token"}
    statuses = [
        (await http.get("/api/v1/users/01ARZ3NDEKTSV4RRFFQ69G5FAV", headers=bad_token)).status
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]  # a bad token counts against the address
    assert (await http.get("/api/v1/auth/me")).status == 429

    for path in (
        "/healthz",
        "/readyz",
        "/api/v1/healthz",
        "/api/v1/readyz",
        "/api/v1/openapi.json",
        "/metrics",
    ):
        for _ in range(3):
            response = await http.get(path)
            assert response.status == 200, path
            assert not set(RATE_HEADERS) & set(response.headers), path
    # Socket.IO (/socket.io/) is never limited either
    client = await connect(account["access_token"], [NS])
    assert client.connected
    # ...and a valid token has its own bucket
    assert (await http.get("/api/v1/auth/me", headers=api.auth(account))).status == 200


async def test_auth_limit_is_per_ip(api: Api, http: TestClient, server: TestServer) -> None:
    ann = await api.register("ann")  # 1 of the 4 auth tokens of 127.0.0.1
    login = {"email": "ann@example.com", "password": "correct horse"}
    responses = [await http.post("/api/v1/auth/login", json=login) for _ in range(4)]
    assert [r.status for r in responses] == [200, 200, 200, 429]
    assert_rate_headers(responses[0], 4, 2)
    refused = responses[3]
    assert refused.content_type == "application/problem+json"
    assert (await refused.json())["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert_rate_headers(refused, 4, 0)
    # register and refresh share the auth bucket of the address
    assert (
        await http.post("/api/v1/auth/refresh", json={"refresh_token": ann["refresh_token"]})
    ).status == 429
    # the general REST bucket is separate
    assert (await http.get("/api/v1/auth/me", headers=api.auth(ann))).status == 200

    # another client address has a full bucket of its own
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(server.make_url("/api/v1/auth/login"), json=login) as response:
            assert response.status == 200
            assert response.headers["X-RateLimit-Remaining"] == "3"


# --- off -------------------------------------------------------------------------------------


@pytest.mark.hub_settings(
    rate_limits="off",
    rate_limit_message_send="1/1h",
    rate_limit_rest="1/1h",
    rate_limit_auth="1/1h",
)
class TestOff:
    async def test_off_disables_every_limit(
        self, api: Api, http: TestClient, connect: Any, server: TestServer
    ) -> None:
        assert server.app[HUB].rate_limiter is None
        ann, bob = await api.register("ann"), await api.register("bob")
        login = {"email": "ann@example.com", "password": "correct horse"}
        for _ in range(5):
            response = await http.post("/api/v1/auth/login", json=login)
            assert response.status == 200
            assert not set(RATE_HEADERS) & set(response.headers)
        for _ in range(5):
            assert (await http.get("/api/v1/auth/me", headers=api.auth(ann))).status == 200
        client, conversation_id = await conversation_of(connect, ann, bob)
        for n in range(5):
            assert (await send(client, conversation_id, n))["ok"]
            assert (
                await client.call(
                    "typing",
                    {"conversation_id": conversation_id, "typing": True},
                    namespace=NS,
                    timeout=5,
                )
            )["ok"]


# --- Redis-backed hub ------------------------------------------------------------------------


class TestRedisBacked:
    """The hub on the test's redis_server (conftest.py's settings)."""

    async def test_hub_limits_through_redis(
        self,
        api: Api,
        http: TestClient,
        connect: Any,
        server: TestServer,
        redis_server: RedisServer,
    ) -> None:
        assert isinstance(server.app[HUB].rate_limiter, RedisRateLimiter)
        ann, bob = await api.register("ann"), await api.register("bob")
        client, conversation_id = await conversation_of(connect, ann, bob)
        acks = [await send(client, conversation_id, n) for n in range(4)]
        assert [ack["ok"] for ack in acks] == [True, True, True, False]
        assert acks[3]["error"]["code"] == "rate_limited"
        redis = create_redis(redis_server.url)
        try:
            assert await redis.exists(f"hub:rl:message_send:{ann['user']['id']}")
            assert await redis.exists(f"hub:rl:socket_events:{ann['user']['id']}")
        finally:
            await redis.aclose()
        statuses = [
            (await http.get("/api/v1/auth/me", headers=api.auth(ann))).status for _ in range(6)
        ]
        assert statuses == [200] * 5 + [429]

    async def test_redis_down_requests_still_pass(
        self, api: Api, http: TestClient, redis_server: RedisServer
    ) -> None:
        ann = await api.register("ann")
        headers = api.auth(ann)
        first = await http.get("/api/v1/auth/me", headers=headers)
        assert first.status == 200 and first.headers["X-RateLimit-Remaining"] == "4"
        await redis_server.stop()
        statuses = [
            (await http.get("/api/v1/auth/me", headers=headers)).status for _ in range(12)
        ]  # well past the limit of 5
        assert statuses == [200] * 12
        login = {"email": "ann@example.com", "password": "correct horse"}
        assert [(await http.post("/api/v1/auth/login", json=login)).status for _ in range(6)] == [
            200
        ] * 6
