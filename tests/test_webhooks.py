"""Outbound webhooks (issue 18): the admin API, and deliveries to a real
receiver on a loopback port (hence HUB_WEBHOOK_ALLOW_PRIVATE=on here) that
fails first: signed, retried with a short backoff, in order, deduped by
X-Hub-Delivery. No timed assertions: every wait is ``eventually``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from hub.clock import iso, new_id, utc_now
from hub.context import HUB
from hub.payments.signing import verify
from storage.records import WebhookDeliveryRecord, WebhookOutboxRecord
from users import Users
from waits import eventually
from webhook_receiver import receiving

pytestmark = pytest.mark.hub_settings(
    webhook_allow_private="on",
    webhook_backoff_base_s=0.02,
    webhook_backoff_max_s=0.1,
    webhook_poll_s=0.05,
    webhook_timeout_s=2,
)

HOOKS = "/admin/webhooks"


async def test_register_list_and_delete(users: Users) -> None:
    admin = await users.admin()
    created = await admin.ok(
        "POST",
        HOOKS,
        {"url": "http://127.0.0.1:9/x", "events": ["message.created", "bid.*", "bid.*"]},
        status=201,
    )
    assert created["events"] == ["message.created", "bid.*"]
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30
    own = await admin.ok(
        "POST",
        HOOKS,
        {"url": "https://127.0.0.1/y", "events": ["job.*"], "secret": "my-own-secret-0123456789"},
        status=201,
    )
    assert own["secret"] == "my-own-secret-0123456789"

    listed = await admin.ok("GET", HOOKS)
    assert [e["id"] for e in listed["items"]] == [created["id"], own["id"]]
    assert all("secret" not in e for e in listed["items"])

    await admin.ok("DELETE", f"{HOOKS}/{created['id']}", status=204)
    await admin.fails("DELETE", f"{HOOKS}/{created['id']}", status=404, code="not_found")
    await admin.fails("GET", f"{HOOKS}/{created['id']}/deliveries", status=404, code="not_found")
    assert [e["id"] for e in (await admin.ok("GET", HOOKS))["items"]] == [own["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/x", "events": ["message.created"]},
        {"url": "javascript:alert(1)", "events": ["message.created"]},
        {"url": "http:///nohost", "events": ["message.created"]},
        {"url": "http://127.0.0.1:9/x", "events": ["message.nope"]},
        {"url": "http://127.0.0.1:9/x", "events": ["everything.*"]},
        {"url": "http://127.0.0.1:9/x", "events": ["*"]},
        {"url": "http://127.0.0.1:9/x", "events": []},
        {"url": "http://127.0.0.1:9/x", "events": ["job.*"], "secret": "short"},
    ],
)
async def test_bad_registrations_are_422(users: Users, body: dict[str, Any]) -> None:
    admin = await users.admin()
    await admin.fails("POST", HOOKS, body, status=422, code="validation_failed")


@pytest.mark.hub_settings(webhook_allow_private="off")
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://224.0.0.1/x",
        "http://240.0.0.1/x",
    ],
)
async def test_private_addresses_are_refused_with_the_setting_off(users: Users, url: str) -> None:
    admin = await users.admin()
    problem = await admin.fails(
        "POST",
        HOOKS,
        {"url": url, "events": ["message.created"]},
        status=422,
        code="validation_failed",
    )
    assert problem["details"]["fields"][0]["field"] == "url"


async def test_only_admins_manage_webhooks(users: Users) -> None:
    (ann,) = await users("ann")
    await ann.fails(
        "POST",
        HOOKS,
        {"url": "http://127.0.0.1:9/x", "events": ["job.*"]},
        status=403,
        code="forbidden",
    )


async def test_deliveries_are_signed_retried_in_order_and_logged(
    users: Users, app: web.Application
) -> None:
    admin = await users.admin()
    ann, bob = await users("ann", "bob")
    conversation = await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201)
    async with receiving(fail_first=2) as receiver:
        endpoint = await admin.ok(
            "POST", HOOKS, {"url": receiver.url, "events": ["message.*"]}, status=201
        )
        sent = [await ann.send(conversation["id"], f"hello {n}") for n in range(3)]

        # Each message: message.created, and message.undelivered for bob (no socket).
        await eventually(
            lambda: len(receiver.accepted),
            lambda n: n == 6,
            timeout=10,
            message=lambda: str([r.event for r in receiver.requests]),
        )
        receiver.check_signatures(endpoint["secret"])
        bodies = list(receiver.accepted.values())
        created = [b for b in bodies if b["type"] == "message.created"]
        assert [b["data"]["message"]["id"] for b in created] == [m["id"] for m in sent]
        undelivered = [b for b in bodies if b["type"] == "message.undelivered"]
        assert {b["data"]["user_id"] for b in undelivered} == {bob.id}
        for body in bodies:
            assert set(body) == {"id", "type", "created_at", "data"}
        # Retries: the first event was sent three times (500, 500, 200), the same event.
        first = receiver.requests[0]
        assert [r.delivery for r in receiver.requests[:3]] == [first.delivery] * 3
        assert first.event == "message.created"
        assert receiver.accepted_ids()[0] == first.delivery
        # In order of creation: the order accepted is the order published.
        assert [b["id"] for b in bodies] == sorted(b["id"] for b in bodies)

    log = await admin.ok("GET", f"{HOOKS}/{endpoint['id']}/deliveries", params={"limit": "100"})
    attempts = list(reversed(log["items"]))  # oldest first
    assert [(d["attempt"], d["status_code"]) for d in attempts[:3]] == [
        (1, 500),
        (2, 500),
        (3, 200),
    ]
    assert all(d["event_id"] == first.delivery for d in attempts[:3])
    assert [d["status_code"] for d in attempts[3:]] == [200] * 5
    page = await admin.ok("GET", f"{HOOKS}/{endpoint['id']}/deliveries", params={"limit": "2"})
    assert [d["id"] for d in page["items"]] == [d["id"] for d in log["items"][:2]]
    assert page["next_cursor"]
    metrics = await (await ann.http.get("/metrics")).text()
    assert 'hub_webhook_deliveries_total{status="5xx"} 2.0' in metrics
    assert 'hub_webhook_deliveries_total{status="2xx"} 6.0' in metrics
    assert app[HUB].webhooks.events.wants("message.created")


async def test_connected_recipients_are_not_undelivered(users: Users) -> None:
    admin = await users.admin()
    ann, bob = await users("ann", "bob")
    await bob.socket()  # bob has /conversations open
    conversation = await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201)
    async with receiving() as receiver:
        await admin.ok(
            "POST",
            HOOKS,
            {"url": receiver.url, "events": ["message.undelivered", "notification.created"]},
            status=201,
        )
        await ann.send(conversation["id"], "hi")
        # A mention notification follows, so something arrives after the send.
        await ann.ok(
            "POST",
            f"/conversations/{conversation['id']}/messages",
            {"text": "@bob", "mentions": [bob.id]},
            status=201,
        )
        bodies = await eventually(
            lambda: list(receiver.accepted.values()), lambda b: len(b) >= 1, timeout=10
        )
        assert [b["type"] for b in bodies] == ["notification.created"]
        assert bodies[0]["data"]["user_id"] == bob.id
        assert bodies[0]["data"]["type"] == "mention"


async def test_marketplace_events_reach_subscribers(users: Users) -> None:
    admin = await users.admin()
    (client,) = await users("cleo", role="client")
    (freelancer,) = await users("fred", role="freelancer")
    async with receiving() as receiver:
        await admin.ok("POST", HOOKS, {"url": receiver.url, "events": ["bid.*"]}, status=201)
        job = await client.ok(
            "POST",
            "/jobs",
            {
                "title": "Logo",
                "description": "A logo",
                "skills": ["design"],
                "budget_min": 100,
                "budget_max": 200,
                "currency": "USD",
                "type": "fixed",
                "publish": True,
            },
            status=201,
        )
        bid = await freelancer.ok(
            "POST",
            f"/jobs/{job['id']}/bids",
            {"amount": 150, "currency": "USD", "period_days": 3, "proposal": "Me"},
            status=201,
        )
        await client.ok("POST", f"/bids/{bid['id']}/award", {})
        bodies = await eventually(
            lambda: list(receiver.accepted.values()), lambda b: len(b) >= 2, timeout=10
        )
        assert [(b["type"], b["data"]["bid_id"]) for b in bodies] == [
            ("bid.created", bid["id"]),
            ("bid.awarded", bid["id"]),
        ]


async def test_nothing_subscribed_writes_nothing(users: Users, app: web.Application) -> None:
    ann, bob = await users("ann", "bob")
    conversation = await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201)
    await ann.send(conversation["id"], "hi")
    hub = app[HUB]
    assert not hub.webhooks.events.wants("message.created")
    assert await hub.store.webhooks.outbox_stats() == (0, None)


async def test_a_redirect_is_a_failure_and_is_not_followed(users: Users) -> None:
    admin = await users.admin()
    async with receiving(status=302) as receiver:
        endpoint = await admin.ok(
            "POST", HOOKS, {"url": receiver.url, "events": ["notification.created"]}, status=201
        )
        (ann,) = await users("ann")
        await admin.ok("PATCH", f"/admin/users/{ann.id}", {"role": "freelancer"})
        hub_notify = users.app[HUB].notifications
        await hub_notify.notify(ann.id, "test.event", {})
        log = await eventually(
            lambda: admin.ok("GET", f"{HOOKS}/{endpoint['id']}/deliveries"),
            lambda page: len(page["items"]) >= 2,
            timeout=10,
        )
        assert {d["status_code"] for d in log["items"]} == {302}
        assert receiver.accepted == {}
        verify(endpoint["secret"], receiver.requests[0].body, receiver.requests[0].signature)


@pytest.mark.hub_settings(webhook_log_retention_days=7)
async def test_the_delivery_log_and_failed_entries_are_pruned_after_the_retention(
    users: Users, app: web.Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await users.admin()
    endpoint = await admin.ok(
        "POST", HOOKS, {"url": "http://127.0.0.1:9/hook", "events": ["bid.*"]}, status=201
    )
    hub = app[HUB]
    now = utc_now()
    old, recent = iso(now - timedelta(days=8)), iso(now - timedelta(days=6))
    for at in (old, old, old, recent):
        await hub.store.webhooks.log_delivery(
            WebhookDeliveryRecord(new_id(), endpoint["id"], new_id(), "bid.created", 1, at, 5, 500)
        )

    def outbox_entry(created_at: str, status: str) -> WebhookOutboxRecord:
        return WebhookOutboxRecord(
            new_id(), endpoint["id"], new_id(), "bid.created", "{}", created_at, created_at,
            status=status,
        )  # fmt: skip

    await hub.store.webhooks.enqueue(
        [outbox_entry(old, "failed"), outbox_entry(old, "failed"), outbox_entry(recent, "failed")]
    )
    monkeypatch.setattr("hub.pruning.PRUNE_BATCH", 2)  # several batches

    assert await hub.webhook_worker.prune() == 5
    assert await hub.webhook_worker.prune() == 0
    log = await admin.ok("GET", f"{HOOKS}/{endpoint['id']}/deliveries")
    assert [d["at"] for d in log["items"]] == [recent]
    assert await hub.store.webhooks.prune_failed(iso(now), 10) == 1  # the recent one was kept
    metrics = await (await admin.http.get("/metrics")).text()
    assert 'hub_webhook_pruned_total{kind="delivery"} 3.0' in metrics
    assert 'hub_webhook_pruned_total{kind="failed"} 2.0' in metrics
