"""The wallet over real HTTP: sandbox deposits and payouts (their webhooks
POSTed by the sandbox to the running hub), signature checks, replays, and
Idempotency-Keys on money movements."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from hub.context import HUB
from hub.payments import sign
from market_client import MARKET, WEBHOOK_SECRET, post_webhook, signed
from users import User, Users
from waits import eventually, quiet

pytestmark = MARKET
# The sandbox stays quiet (its webhooks would come after the test): the test delivers.
OWN_WEBHOOKS = pytest.mark.hub_settings(sandbox_webhook_delay_s=30.0)


@pytest_asyncio.fixture
async def ann(users: Users) -> User:
    (ann,) = await users("ann")
    await ann.listen()
    return ann


async def test_deposits_succeed_or_are_declined(ann: User, app: web.Application) -> None:
    ok = await ann.deposit(12_345)
    assert (ok["status"], ok["failure_reason"], ok["provider"]) == ("succeeded", None, "sandbox")
    declined = await ann.deposit(5_000, method="pm_card_declined")
    assert (declined["status"], declined["failure_reason"]) == ("failed", "card_declined")
    assert (await ann.notified("deposit.failed"))[0]["data"]["deposit"]["status"] == "failed"
    eur = await ann.deposit(700, currency="EUR")
    assert eur["status"] == "succeeded"

    wallet = await ann.ok("GET", "/wallet")
    assert wallet == {
        "balances": [
            {"currency": "USD", "available": 12_345, "held": 0},
            {"currency": "EUR", "available": 700, "held": 0},
            {"currency": "GBP", "available": 0, "held": 0},
        ]
    }
    entries = await ann.ledger()
    assert [(e["kind"], e["amount"], e["currency"], e["ref"]) for e in entries] == [
        ("deposit", 700, "EUR", {"type": "deposit", "id": eur["id"]}),
        ("deposit", 12_345, "USD", {"type": "deposit", "id": ok["id"]}),
    ]
    assert await app[HUB].store.ledger.entry_totals() == {"USD": 0, "EUR": 0}


async def test_deposit_validation_and_ownership(ann: User, users: Users) -> None:
    for body in [
        {"amount": 100, "currency": "USD", "payment_method": "pm_card_visa"},
        {"amount": 100, "currency": "JPY", "payment_method": "pm_card_ok"},
        {"amount": 100, "currency": "usd", "payment_method": "pm_card_ok"},
        {"amount": 0, "currency": "USD", "payment_method": "pm_card_ok"},
        {"amount": 10**12 + 1, "currency": "USD", "payment_method": "pm_card_ok"},
        {"amount": 99.5, "currency": "USD", "payment_method": "pm_card_ok"},
        {"amount": "100", "currency": "USD", "payment_method": "pm_card_ok"},
    ]:
        await ann.fails("POST", "/wallet/deposits", body, status=422, code="validation_failed")
    deposit = await ann.deposit(10**12)  # the largest amount there is
    assert deposit["status"] == "succeeded"
    (bob,) = await users("bob", role="freelancer")
    await bob.fails("GET", f"/wallet/deposits/{deposit['id']}", status=403, code="forbidden")
    await bob.fails("GET", "/wallet/deposits/nope", status=404, code="not_found")
    assert await bob.ok("GET", "/wallet/ledger") == {"items": [], "next_cursor": None}


async def test_payouts_paid_or_failed_and_refunded(ann: User, app: web.Application) -> None:
    await ann.deposit(10_000)
    await ann.fails(
        "POST",
        "/wallet/payouts",
        {"amount": 10_001, "currency": "USD"},
        status=402,
        code="insufficient_funds",
    )
    await ann.fails(
        "POST",
        "/wallet/payouts",
        {"amount": 1, "currency": "EUR"},
        status=402,
        code="insufficient_funds",
    )
    await ann.fails(
        "POST",
        "/wallet/payouts",
        {"amount": 1, "currency": "USD", "destination": "iban_x"},
        status=422,
        code="validation_failed",
    )

    paid = await ann.ok("POST", "/wallet/payouts", {"amount": 4_000, "currency": "USD"}, status=202)
    assert (paid["status"], paid["destination"]) == ("pending", "ba_ok")
    assert await ann.balance() == (6_000, 0)  # taken out at once
    failing = await ann.ok(
        "POST",
        "/wallet/payouts",
        {"amount": 6_000, "currency": "USD", "destination": "ba_fail"},
        status=202,
    )
    assert await ann.balance() == (0, 0)
    await ann.fails(
        "POST",
        "/wallet/payouts",
        {"amount": 1, "currency": "USD"},
        status=402,
        code="insufficient_funds",
    )

    paid = await eventually(
        lambda: ann.ok("GET", f"/wallet/payouts/{paid['id']}"), lambda p: p["status"] != "pending"
    )
    failed = await eventually(
        lambda: ann.ok("GET", f"/wallet/payouts/{failing['id']}"),
        lambda p: p["status"] != "pending",
    )
    assert paid["status"] == "paid"
    assert (failed["status"], failed["failure_reason"]) == ("failed", "account_closed")
    await ann.notified("payout.paid")
    await ann.notified("payout.failed")
    assert await ann.balance() == (6_000, 0)  # the failed payout came back
    kinds = [(e["kind"], e["amount"]) for e in reversed(await ann.ledger())]
    assert kinds == [
        ("deposit", 10_000),
        ("payout", -4_000),
        ("payout", -6_000),
        ("payout_refund", 6_000),
    ]
    provider = await app[HUB].store.ledger.balances("provider:sandbox")
    assert [(b.account, b.balance) for b in provider] == [("external", -6_000)]
    assert await app[HUB].store.ledger.entry_totals() == {"USD": 0}


@OWN_WEBHOOKS
async def test_webhook_signatures_replays_and_conflicts(ann: User, http: Any) -> None:
    pending = await ann.ok(
        "POST",
        "/wallet/deposits",
        {"amount": 2_500, "currency": "USD", "payment_method": "pm_card_ok"},
        status=202,
    )
    event = {
        "id": "evt_test_1",
        "type": "deposit.succeeded",
        "created": int(time.time()),
        "data": {
            "id": pending["id"],
            "amount": 2_500,
            "currency": "USD",
            "provider_ref": "ch_1",
            "failure_reason": None,
        },
    }

    body, headers = signed(event)
    good = headers["X-Hub-Signature"]
    tampered = good[:-1] + ("1" if good.endswith("0") else "0")  # always a different digest
    for bad_headers in [
        {**headers, "X-Hub-Signature": tampered},
        signed(event, secret="another secret")[1],
        signed(event, at=int(time.time()) - 302)[1],  # stale (over 5 minutes old)
        signed(event, at=int(time.time()) + 310)[1],  # from the future
        {"Content-Type": "application/json"},  # unsigned
        {**headers, "X-Hub-Signature": "v1=abc"},
        {**headers, "X-Hub-Signature": "t=abc,v1=abc"},
    ]:
        status, problem = await post_webhook(http, body, bad_headers)
        assert status == 400, (bad_headers, problem)
        assert problem["code"] == "malformed_request"
    # A signature is for the exact bytes: the same event re-serialised does not pass.
    status, _ = await post_webhook(http, body.replace(b",", b", "), headers)
    assert status == 400
    assert (await ann.ok("GET", f"/wallet/deposits/{pending['id']}"))["status"] == "pending"
    assert await ann.balance() == (0, 0)

    assert await post_webhook(http, body, headers) == (200, {"received": True, "duplicate": False})
    assert (await ann.ok("GET", f"/wallet/deposits/{pending['id']}"))["status"] == "succeeded"
    assert await ann.balance() == (2_500, 0)
    # Replays, freshly signed or not, answer 200 and change nothing; so does a
    # later, conflicting event for the same deposit.
    assert await post_webhook(http, body, headers) == (200, {"received": True, "duplicate": True})
    assert await post_webhook(http, *signed(event)) == (200, {"received": True, "duplicate": True})
    replays = await asyncio.gather(*(post_webhook(http, *signed(event)) for _ in range(20)))
    assert {status for status, _ in replays} == {200}
    failed = {
        **event,
        "id": "evt_test_2",
        "type": "deposit.failed",
        "data": {**event["data"], "failure_reason": "card_declined"},
    }
    assert await post_webhook(http, *signed(failed)) == (
        200,
        {"received": True, "duplicate": False},
    )
    assert (await ann.ok("GET", f"/wallet/deposits/{pending['id']}"))["status"] == "succeeded"
    assert await ann.balance() == (2_500, 0)
    assert len(await ann.ledger()) == 1
    assert len(await ann.notified("deposit.succeeded")) == 1

    # Events that do not fit: unknown objects, other amounts, bad shapes.
    unknown = {**event, "id": "evt_test_3", "data": {**event["data"], "id": "nope"}}
    assert (await post_webhook(http, *signed(unknown)))[0] == 404
    other_amount = {**event, "id": "evt_test_4", "data": {**event["data"], "amount": 2_501}}
    assert (await post_webhook(http, *signed(other_amount)))[0] == 422
    for shape in [
        {**event, "type": "deposit.refunded"},
        {"id": "evt_x"},
        {**event, "id": "evt_test_5", "data": {**event["data"], "amount": 2_500.0}},
        {**event, "id": "evt_test_6", "data": {**event["data"], "amount": "2500"}},
    ]:
        assert (await post_webhook(http, *signed(shape)))[0] == 422
    status, problem = await post_webhook(
        http, b"not json", {"X-Hub-Signature": sign(WEBHOOK_SECRET, b"not json")}
    )
    assert (status, problem["code"]) == (400, "malformed_request")


@OWN_WEBHOOKS
async def test_concurrent_webhooks_for_one_payout_refund_once(
    ann: User, http: Any, app: web.Application
) -> None:
    # Money in through our own signed event (the sandbox stays quiet here).
    deposit = await ann.ok(
        "POST",
        "/wallet/deposits",
        {"amount": 1_000, "currency": "USD", "payment_method": "pm_card_ok"},
        status=202,
    )
    await post_webhook(
        http,
        *signed(
            {
                "id": "evt_in",
                "type": "deposit.succeeded",
                "created": int(time.time()),
                "data": {"id": deposit["id"], "amount": 1_000, "currency": "USD"},
            }
        ),
    )
    payout = await ann.ok(
        "POST", "/wallet/payouts", {"amount": 1_000, "currency": "USD"}, status=202
    )
    events = [
        {
            "id": f"evt_po_{n}",
            "type": "payout.failed" if n % 2 else "payout.paid",
            "created": int(time.time()),
            "data": {"id": payout["id"], "amount": 1_000, "currency": "USD"},
        }
        for n in range(30)
    ]
    results = await asyncio.gather(*(post_webhook(http, *signed(e)) for e in events))
    assert {status for status, _ in results} == {200}
    final = await ann.ok("GET", f"/wallet/payouts/{payout['id']}")
    refunds = [e for e in await ann.ledger() if e["kind"] == "payout_refund"]
    assert len(refunds) == (1 if final["status"] == "failed" else 0)
    assert await ann.balance() == ((1_000, 0) if final["status"] == "failed" else (0, 0))
    assert await app[HUB].store.ledger.entry_totals() == {"USD": 0}


async def test_idempotency_keys_on_deposits_and_payouts(ann: User) -> None:
    body = {"amount": 3_000, "currency": "USD", "payment_method": "pm_card_ok"}
    key = {"Idempotency-Key": "dep-1"}
    # Concurrent requests with one key: one deposit, every answer the same.
    results = await asyncio.gather(
        *(ann.call("POST", "/wallet/deposits", body, headers=key) for _ in range(15))
    )
    assert {status for status, _ in results} == {202}
    ids = {data["id"] for _, data in results}
    assert len(ids) == 1
    await eventually(ann.balance, lambda b: b == (3_000, 0))
    # A later replay answers with the first response (still "pending" as it was).
    status, replay = await ann.call("POST", "/wallet/deposits", body, headers=key)
    assert (status, replay["id"], replay["status"]) == (202, ids.pop(), "pending")
    await ann.fails(
        "POST",
        "/wallet/deposits",
        {**body, "amount": 3_001},
        headers=key,
        status=422,
        code="idempotency_mismatch",
    )
    # The same key for another operation is another key.
    payout_key = {"Idempotency-Key": "dep-1"}
    first = await ann.ok(
        "POST",
        "/wallet/payouts",
        {"amount": 1_000, "currency": "USD"},
        status=202,
        headers=payout_key,
    )
    again = await ann.ok(
        "POST",
        "/wallet/payouts",
        {"amount": 1_000, "currency": "USD"},
        status=202,
        headers=payout_key,
    )
    assert again["id"] == first["id"]
    await ann.fails(
        "POST",
        "/wallet/payouts",
        {"amount": 999, "currency": "USD"},
        headers=payout_key,
        status=422,
        code="idempotency_mismatch",
    )
    await quiet()  # a second payout's webhook would have landed by now
    assert await ann.balance() == (2_000, 0)
    assert [e["kind"] for e in await ann.ledger()] == ["payout", "deposit"]


def test_signature_tolerance_is_five_minutes_either_way() -> None:
    from hub.errors import MalformedRequest
    from hub.payments import verify

    body, t = b'{"id": "evt"}', 1_764_500_000
    header = sign(WEBHOOK_SECRET, body, t)
    for now in (t, t + 300, t - 300):
        verify(WEBHOOK_SECRET, body, header, now=now)
    for now in (t + 301, t - 301):
        with pytest.raises(MalformedRequest):
            verify(WEBHOOK_SECRET, body, header, now=now)
    rotated = f"t={t},v1={'0' * 64},v1={header.split('v1=')[1]}"
    verify(WEBHOOK_SECRET, body, rotated, now=t)
    with pytest.raises(MalformedRequest):
        verify(WEBHOOK_SECRET, body + b" ", header, now=t)
