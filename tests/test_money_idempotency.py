"""Money you can retry: every route that creates or moves money, walked from the
OpenAPI document, on both storage engines.

For each: 40 concurrent requests with one Idempotency-Key are carried out once
(39 replays byte-identical, the money moved once), the same key with another
body is 422 idempotency_mismatch, and the ledger still balances with no
negative balance. A POST route the document gains must be classified below,
so none can be forgotten. Then: 200 concurrent partial releases, a key given
back by a failed request, an expired key, and the guard that keeps money from
moving outside an idempotent request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import pytest
import pytest_asyncio
from aiohttp import ClientSession, TCPConnector, web
from aiohttp.test_utils import TestClient

from engines import ON_BOTH_ENGINES
from hub.clock import iso, utc_now
from hub.context import HUB
from market_client import MARKET, bid_body, hire, job_body
from storage.records import IdempotencyRecord
from users import API, User, Users
from waits import eventually, quiet

pytestmark = [ON_BOTH_ENGINES, MARKET]

CONCURRENT = 40


@dataclass
class World:
    """A client with money, a freelancer working on the client's job through an
    accepted bid, an admin, and a funded milestone of 1,000."""

    app: web.Application
    client: User
    fred: User
    admin: User
    job: dict[str, Any]
    bid: dict[str, Any]
    milestone: str

    async def balances(self) -> dict[str, Any]:
        platform = await self.app[HUB].store.ledger.balances("platform")
        return {
            "client": await self.client.balance(),
            "fred": await self.fred.balance(),
            "fee": sum(b.balance for b in platform),
        }


@pytest_asyncio.fixture
async def world(app: web.Application, users: Users) -> World:
    (client,) = await users("cleo")
    (fred,) = await users("fred", role="freelancer")
    admin = await users.admin()
    await client.deposit(100_000)
    job = await client.ok("POST", "/jobs", job_body(title="Escrow", **WIDE), status=201)
    bid = await fred.ok("POST", f"/jobs/{job['id']}/bids", bid_body(), status=201)
    await hire(client, fred, bid)
    milestone = await client.ok(
        "POST", f"/jobs/{job['id']}/milestones", {"amount": 1_000, "description": "M1"}, status=201
    )
    return World(app, client, fred, admin, job, bid, milestone["id"])


WIDE = {"budget_min": 1, "budget_max": 100_000}  # a budget wide enough for any milestone


# Each money route: how to get there, the request, and what carrying it out once does.

Prepare = Callable[[World], Awaitable[tuple[User, str, dict[str, Any] | None]]]


@dataclass(frozen=True)
class Scenario:
    prepare: Prepare  # -> (who, path, body) of the request to repeat
    status: int
    other_body: dict[str, Any]
    check: Callable[[World, dict[str, Any], Any], Awaitable[None]]  # (world, before, reply)


async def moved(
    world: World,
    before: dict[str, Any],
    client: tuple[int, int] = (0, 0),
    fred: tuple[int, int] = (0, 0),
    fee: int = 0,
) -> None:
    after = await world.balances()
    assert after == {
        "client": tuple(b + d for b, d in zip(before["client"], client, strict=True)),
        "fred": tuple(b + d for b, d in zip(before["fred"], fred, strict=True)),
        "fee": before["fee"] + fee,
    }, (before, after)


async def on_milestone(
    world: World, action: str, body: Any = None, *steps: tuple[str, str]
) -> tuple[User, str, Any]:
    """The owner's or the freelancer's ``action`` on the milestone, after ``steps``."""
    for who, step in steps:
        party = world.fred if who == "fred" else world.client
        await party.ok("POST", f"/milestones/{world.milestone}/{step}")
    actor = world.fred if action in ("request-release", "dispute") else world.client
    return actor, f"/milestones/{world.milestone}/{action}", body


async def status_is(world: World, status: str) -> None:
    milestone = await world.client.ok("GET", f"/milestones/{world.milestone}")
    assert milestone["status"] == status


async def disputed_with(world: World, note: str) -> None:
    """Disputed, with the first request's note (the other body's never written)."""
    milestone = await world.client.ok("GET", f"/milestones/{world.milestone}")
    assert milestone["status"] == "disputed"
    assert milestone["freelancer_note"]["text"] == note


async def deposit_settled(world: World, before: dict[str, Any], reply: Any) -> None:
    await eventually(
        lambda: world.client.ok("GET", f"/wallet/deposits/{reply['id']}"),
        lambda d: d["status"] == "succeeded",
    )
    await quiet(0.3)  # a second deposit's webhook would have landed by now
    await moved(world, before, client=(700, 0))


async def one_bid(world: World, before: dict[str, Any], reply: Any) -> None:
    bids = await world.client.ok("GET", f"/jobs/{reply['job_id']}/bids")
    assert [b["id"] for b in bids["items"]] == [reply["id"]]


async def one_message(world: World, before: dict[str, Any], reply: Any) -> None:
    page = await world.client.ok("GET", f"/conversations/{reply['conversation_id']}/messages")
    # The bid's conversation also holds the hub's cards (tests/test_marketplace_cards.py).
    assert [m["id"] for m in page["items"] if m["kind"] == "text"] == [reply["id"]]


async def second_job(world: World) -> tuple[User, str, Any]:
    job = await world.client.ok("POST", "/jobs", job_body(title="Another", **WIDE), status=201)
    return world.fred, f"/jobs/{job['id']}/bids", bid_body(7_000)


async def bid_conversation(world: World) -> tuple[User, str, Any]:
    conversation = await world.fred.ok("GET", f"/bids/{world.bid['id']}/conversation")
    return world.fred, f"/conversations/{conversation['id']}/messages", {"text": "Done"}


MONEY: dict[str, Scenario] = {
    "create_deposit": Scenario(
        lambda w: _given(
            (
                w.client,
                "/wallet/deposits",
                {"amount": 700, "currency": "USD", "payment_method": "pm_card_ok"},
            )
        ),
        202,
        {"amount": 701, "currency": "USD", "payment_method": "pm_card_ok"},
        deposit_settled,
    ),
    "create_payout": Scenario(
        lambda w: _given((w.client, "/wallet/payouts", {"amount": 300, "currency": "USD"})),
        202,
        {"amount": 301, "currency": "USD"},
        lambda w, before, _: moved(w, before, client=(-300, 0)),
    ),
    "create_milestone": Scenario(
        lambda w: _given(
            (w.client, f"/jobs/{w.job['id']}/milestones", {"amount": 2_000, "description": "M2"})
        ),
        201,
        {"amount": 2_000, "description": "Other"},
        lambda w, before, _: moved(w, before, client=(-2_000, 2_000)),
    ),
    "request_release": Scenario(
        lambda w: on_milestone(w, "request-release"),
        200,
        {"note": "other"},
        lambda w, before, _: status_is(w, "release_requested"),
    ),
    "release_milestone": Scenario(
        lambda w: on_milestone(w, "release", {"amount": 250}, ("fred", "request-release")),
        200,
        {"amount": 251},
        lambda w, before, _: moved(w, before, client=(0, -250), fred=(225, 0), fee=25),
    ),
    "cancel_milestone": Scenario(
        lambda w: on_milestone(w, "cancel"),
        200,
        {"note": "other"},
        lambda w, before, _: moved(w, before, client=(1_000, -1_000)),
    ),
    "dispute_milestone": Scenario(
        lambda w: on_milestone(w, "dispute", {"note": "Not delivered"}),
        200,
        {"note": "other"},
        lambda w, before, _: disputed_with(w, "Not delivered"),
    ),
    "resolve_milestone": Scenario(
        lambda w: _resolve(w),
        200,
        {"freelancer_amount": 601},
        lambda w, before, _: moved(w, before, client=(400, -1_000), fred=(540, 0), fee=60),
    ),
    "create_bid": Scenario(second_job, 201, bid_body(7_001), one_bid),
    "send_message": Scenario(bid_conversation, 201, {"text": "Other"}, one_message),
}
# Releasing everything held is the same route as a partial release, with no body.
FULL_RELEASE = Scenario(
    lambda w: on_milestone(w, "release", None, ("fred", "request-release")),
    200,
    {"amount": 1},
    lambda w, before, _: moved(w, before, client=(0, -1_000), fred=(900, 0), fee=100),
)

# Every other POST that takes an Idempotency-Key, and why it is not walked here.
NO_MONEY = {
    "logout_all": "ends sessions",
    "request_email_verification": "mails a link (a replay mails nothing more)",
    "disable_two_factor": "turns two-factor off",
    "block": "blocks a user",
    "create_conversation": "conversations",
    "add_participants": "conversations",
    "mark_read": "a read marker",
    "mark_delivered": "a delivered marker",
    "mark_unread": "a read marker",
    "create_job": "a job holds no money",
    "publish_job": "job state",
    "cancel_job": "job state (no milestone can be funded before the job is in progress)",
    "complete_job": "job state (every milestone settled first)",
    "withdraw_bid": "bid state",
    "shortlist_bid": "bid state",
    "reject_bid": "bid state",
    "award_bid": "bid state",
    "accept_bid": "bid state",
    "decline_bid": "bid state",
    "create_review": "a review",
    "read_all_notifications": "read markers",
    "read_notification": "a read marker",
    "relay_offer": "WebRTC relay",
    "relay_answer": "WebRTC relay",
    "relay_ice": "WebRTC relay",
    "create_lobby": "a networking lobby",
    "leave_session": "a networking session",
    "rate_session": "a networking rating",
    "create_upload": "a file upload",
    "complete_upload": "a file upload's checks",
    "pin_message": "a message pin",
    "add_reaction": "a reaction",
    "subscribe_push": "a Web Push subscription",
    "register_webhook": "a webhook endpoint",
    "create_report": "a report (issue 20)",
    "resolve_report": "a moderation action (its bans withdraw bids: no money)",
    "suspend_user": "a suspension",
    "ban_user": "a ban",
    "unban_user": "lifts a ban",
}


async def _given(request: tuple[User, str, Any]) -> tuple[User, str, Any]:
    return request


async def _resolve(world: World) -> tuple[User, str, Any]:
    await world.fred.ok("POST", f"/milestones/{world.milestone}/dispute")
    return world.admin, f"/admin/milestones/{world.milestone}/resolve", {"freelancer_amount": 600}


async def test_every_post_with_a_key_is_classified(http: TestClient) -> None:
    document = await (await http.get(f"{API}/openapi.json")).json()
    keyed = {
        operation["operationId"]
        for path in document["paths"].values()
        for method, operation in path.items()
        if method == "post" and any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
    }
    assert keyed == set(MONEY) | set(NO_MONEY)
    assert not set(MONEY) & set(NO_MONEY)


@pytest.mark.parametrize("name", [*MONEY, "release_milestone (everything held)"])
async def test_forty_retries_at_once_are_carried_out_once(
    world: World, server: Any, name: str
) -> None:
    scenario = MONEY.get(name, FULL_RELEASE)
    party, path, body = await scenario.prepare(world)
    before = await world.balances()
    headers = {**party.headers, "Idempotency-Key": f"key-{name}"}
    async with ClientSession(connector=TCPConnector(limit=0)) as burst:

        async def call(payload: Any) -> tuple[int, bytes]:
            async with burst.post(
                server.make_url(API + path), json=payload, headers=headers
            ) as response:
                return response.status, await response.read()

        replies = await asyncio.gather(*(call(body) for _ in range(CONCURRENT)))
        assert {status for status, _ in replies} == {scenario.status}, replies[:3]
        assert len({raw for _, raw in replies}) == 1  # 39 replays, byte for byte
        status, raw = await call(scenario.other_body)
    assert status == 422 and orjson.loads(raw)["code"] == "idempotency_mismatch", raw
    await scenario.check(world, before, orjson.loads(replies[0][1]))
    await ledger_holds(world)


async def ledger_holds(world: World) -> None:
    ledger = world.app[HUB].store.ledger
    assert set((await ledger.entry_totals()).values()) <= {0}
    assert set((await ledger.balance_totals()).values()) <= {0}
    for party in (world.client, world.fred):
        assert min(await party.balance()) >= 0


@pytest.mark.slow  # 200 concurrent requests
async def test_two_hundred_partial_releases_of_one_cent_on_150_held(
    world: World, server: Any
) -> None:
    """Serialized by the store: exactly what is held is paid out, no request
    fails for any reason but what the others took, and the fee is the policy
    applied to each payment."""
    milestone = await world.client.ok(
        "POST",
        f"/jobs/{world.job['id']}/milestones",
        {"amount": 150, "description": "Cents"},
        status=201,
    )
    await world.fred.ok("POST", f"/milestones/{milestone['id']}/request-release")
    before = await world.balances()
    url = server.make_url(f"{API}/milestones/{milestone['id']}/release")
    async with ClientSession(connector=TCPConnector(limit=0)) as burst:

        async def release(n: int) -> tuple[int, Any]:
            headers = {**world.client.headers, "Idempotency-Key": f"cent-{n}"}
            async with burst.post(url, json={"amount": 1}, headers=headers) as response:
                return response.status, await response.json(content_type=None)

        results = await asyncio.gather(*(release(n) for n in range(200)))
    paid = [data for status, data in results if status == 200]
    refused = [(status, data["code"]) for status, data in results if status != 200]
    assert len(paid) == 150
    assert set(refused) <= {(409, "invalid_state"), (402, "insufficient_funds")}, refused
    assert len(refused) == 50
    fee = world.app[HUB].milestones.market.fee(1)
    await moved(world, before, client=(0, -150), fred=(150 * (1 - fee), 0), fee=150 * fee)
    final = await world.client.ok("GET", f"/milestones/{milestone['id']}")
    assert (final["status"], final["held"], final["released"], final["fee"]) == (
        "released",
        0,
        150,
        150 * fee,
    )
    await ledger_holds(world)


async def test_a_request_that_fails_gives_its_key_back(world: World) -> None:
    key = {"Idempotency-Key": "payout-retry"}
    available, _ = await world.client.balance()
    too_much = {"amount": available + 1, "currency": "USD"}
    await world.client.fails(
        "POST", "/wallet/payouts", too_much, status=402, code="insufficient_funds", headers=key
    )
    await world.client.deposit(1)  # now there is enough: the same retry goes through
    paid = await world.client.ok("POST", "/wallet/payouts", too_much, status=202, headers=key)
    again = await world.client.ok("POST", "/wallet/payouts", too_much, status=202, headers=key)
    assert again == paid
    assert await world.client.balance() == (0, 1_000)


async def test_a_key_expires_after_24_hours(world: World) -> None:
    """A key last used more than 24 h ago is free: another body is carried out."""
    scope = f"{world.client.id}:POST /wallet/payouts"
    old = iso(utc_now() - timedelta(hours=24, minutes=1))
    store = world.app[HUB].store.idempotency
    await store.reserve(IdempotencyRecord(scope, "old-key", "another request", 0, None, old))
    assert await store.complete(
        scope, "old-key", old, 202, {"content_type": "application/json", "text": "{}"}
    )
    key = {"Idempotency-Key": "old-key"}
    payout = await world.client.ok(
        "POST", "/wallet/payouts", {"amount": 5, "currency": "USD"}, status=202, headers=key
    )
    assert payout["amount"] == 5


async def test_money_moves_only_inside_an_idempotent_request(world: World) -> None:
    """The guard under every money route: a service called outside a request
    served through Idempotency (a route forgotten by the route table, a job,
    a script) cannot move money."""
    hub = world.app[HUB]
    await world.fred.ok("POST", f"/milestones/{world.milestone}/request-release")
    with pytest.raises(RuntimeError, match="outside an idempotent request"):
        await hub.milestones.release(world.client.id, world.milestone, 10)
    assert (await world.client.ok("GET", f"/milestones/{world.milestone}"))["held"] == 1_000
