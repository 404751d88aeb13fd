"""GET /metrics: the Prometheus exposition, fed by real sockets and real requests."""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from users import Api
from waits import eventually, quiet

NS = "/conversations"


async def scrape(http: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample by (name, labels)."""
    response = await http.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def wait_for_value(http: TestClient, name: str, expected: float, **labels: str) -> None:
    async def found() -> float | None:
        return value(await scrape(http), name, **labels)

    await eventually(found, lambda v: v == expected, message=f"{name}{labels}, not {expected}")


async def test_connected_sockets_go_up_and_down(api: Api, http: TestClient, connect: Any) -> None:
    ann = await api.register("ann")
    assert value(await scrape(http), "hub_connected_sockets", namespace=NS) in (None, 0.0)
    client = await connect(ann["access_token"], [NS, "/presence"])
    await wait_for_value(http, "hub_connected_sockets", 1.0, namespace=NS)
    await wait_for_value(http, "hub_connected_sockets", 1.0, namespace="/presence")
    await client.disconnect()
    await wait_for_value(http, "hub_connected_sockets", 0.0, namespace=NS)
    await wait_for_value(http, "hub_connected_sockets", 0.0, namespace="/presence")


async def test_refused_connection_is_not_counted(http: TestClient, connect: Any) -> None:
    try:
        await connect("not-a-token", [NS])
    except Exception:
        pass
    await quiet()  # for a count that would have gone up after the refusal
    assert value(await scrape(http), "hub_connected_sockets", namespace=NS) in (None, 0.0)


async def test_events_errors_and_ack_latency(api: Api, http: TestClient, connect: Any) -> None:
    ann, bob = await api.register("ann"), await api.register("bob")
    client = await connect(ann["access_token"], [NS])
    created = await client.call(
        "conversation:create", {"participant_ids": [bob["user"]["id"]]}, namespace=NS, timeout=5
    )
    sent = await client.call(
        "message:send",
        {"conversation_id": created["data"]["id"], "client_msg_id": "m1", "text": "hello"},
        namespace=NS,
        timeout=5,
    )
    assert sent["ok"], sent

    samples = await scrape(http)
    assert value(samples, "hub_events_total", namespace=NS, event="message:send") == 1.0
    assert value(samples, "hub_events_total", namespace=NS, event="conversation:create") == 1.0
    assert value(samples, "hub_ack_latency_seconds_count", event="message:send") == 1.0
    assert value(samples, "hub_ack_latency_seconds_sum", event="message:send") > 0
    assert value(samples, "hub_ack_latency_seconds_bucket", event="message:send", le="+Inf") == 1.0
    assert (
        value(
            samples,
            "hub_event_errors_total",
            namespace=NS,
            event="message:send",
            code="validation_failed",
        )
        is None
    )

    bad = await client.call("message:send", {"text": 42}, namespace=NS, timeout=5)
    assert bad["error"]["code"] == "validation_failed"
    missing = await client.call(
        "conversation:get", {"conversation_id": "nope"}, namespace=NS, timeout=5
    )
    assert missing["error"]["code"] == "not_found"

    samples = await scrape(http)
    assert value(samples, "hub_events_total", namespace=NS, event="message:send") == 2.0
    assert (
        value(
            samples,
            "hub_event_errors_total",
            namespace=NS,
            event="message:send",
            code="validation_failed",
        )
        == 1.0
    )
    assert (
        value(
            samples,
            "hub_event_errors_total",
            namespace=NS,
            event="conversation:get",
            code="not_found",
        )
        == 1.0
    )
    assert value(samples, "hub_ack_latency_seconds_count", event="message:send") == 2.0


async def test_unknown_events_share_one_label(api: Api, http: TestClient, connect: Any) -> None:
    ann = await api.register("ann")
    client = await connect(ann["access_token"], [NS])
    for name in ("made:up", "another-one", "x" * 64, "x" * 200):
        ack = await client.call(name, {}, namespace=NS, timeout=5)
        assert ack["error"]["code"] == "validation_failed"
    samples = await scrape(http)
    assert value(samples, "hub_events_total", namespace=NS, event="unknown") == 3.0
    assert (
        value(
            samples,
            "hub_event_errors_total",
            namespace=NS,
            event="unknown",
            code="validation_failed",
        )
        == 3.0
    )
    assert value(samples, "hub_ack_latency_seconds_count", event="unknown") == 3.0
    # Over 64 characters the name is refused before dispatch: "invalid".
    assert value(samples, "hub_events_total", namespace=NS, event="invalid") == 1.0
    assert value(samples, "hub_client_faults_total", kind="invalid_event") == 1.0
    labels = {dict(key[1]).get("event") for key in samples}
    assert not {"made:up", "another-one", "x" * 200} & labels


async def test_store_latency_and_exposition(api: Api, http: TestClient) -> None:
    await api.register("ann")
    samples = await scrape(http)
    store = {
        dict(labels)["operation"]: count
        for (name, labels), count in samples.items()
        if name == "hub_store_latency_seconds_count"
    }
    assert store and all(count >= 1 for count in store.values())
    assert any(operation.startswith("users.") for operation in store)
    assert value(samples, "hub_redis_publish_failures_total") == 0.0


async def test_metrics_is_outside_the_api(http: TestClient) -> None:
    document = await (await http.get("/api/v1/openapi.json")).json()
    assert not [path for path in document["paths"] if "metrics" in path]
    assert (await http.get("/api/v1/metrics")).status == 404


async def test_a_blocked_event_loop_shows_as_loop_lag(http: TestClient) -> None:
    def over_quarter_second(samples: dict[Any, float]) -> float:
        everything = value(samples, "hub_event_loop_lag_seconds_bucket", le="+Inf") or 0.0
        return everything - (value(samples, "hub_event_loop_lag_seconds_bucket", le="0.25") or 0.0)

    before = over_quarter_second(await scrape(http))
    time.sleep(0.5)  # on purpose: the hub shares this loop; its timer runs >= 0.4 s late

    async def stalls() -> float:
        return over_quarter_second(await scrape(http))

    await eventually(stalls, lambda count: count == before + 1)
