"""200 concurrent release / cancel / dispute requests (asyncio.gather over real
HTTP, on SQLite) on the same milestones: each is paid out at most once and the
ledger stays balanced. Then concurrent admin resolutions of the disputed ones."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from typing import Any

import pytest
from aiohttp import ClientSession, TCPConnector, web
from aiohttp.test_utils import TestClient

from hub.context import HUB
from market_client import MARKET, hire, post_bid, post_job
from users import API, User, Users

MILESTONES = 8
AMOUNT = 10_000
PART = 3_000


pytestmark = [pytest.mark.slow, MARKET]  # hundreds of concurrent requests


async def test_concurrent_requests_pay_each_milestone_at_most_once(
    app: web.Application, users: Users, http: TestClient, server: Any
) -> None:
    hub = app[HUB]
    (client,) = await users("cleo")
    (fred,) = await users("fred", role="freelancer")
    admin = await users.admin()
    await client.deposit(1_000_000)
    job = await post_job(
        client, title="Load test", description="Many milestones", budget_min=1, budget_max=100_000
    )
    bid = await post_bid(fred, job, 80_000, period_days=30, proposal="Ready")
    await hire(client, fred, bid)
    milestones = [
        (
            await client.ok(
                "POST",
                f"/jobs/{job['id']}/milestones",
                {"amount": AMOUNT, "description": f"M{n}"},
                status=201,
            )
        )["id"]
        for n in range(MILESTONES)
    ]
    for mid in milestones[::2]:  # half can be released, the other half cancelled
        await fred.ok("POST", f"/milestones/{mid}/request-release")

    actions = [
        (client, "release", None),
        (client, "release", {"amount": PART}),
        (client, "cancel", None),
        (fred, "dispute", None),
        (client, "dispute", None),
    ]
    plan = [
        (milestones[n % MILESTONES], *actions[(n // MILESTONES) % len(actions)]) for n in range(200)
    ]
    random.Random(7).shuffle(plan)

    # Its own connection pool, large enough for all 200 to be in flight at once.
    async with ClientSession(connector=TCPConnector(limit=0)) as burst:

        async def call(party: User, mid: str, action: str, body: Any) -> tuple[int, Any]:
            async with burst.post(
                server.make_url(f"{API}/milestones/{mid}/{action}"),
                json=body,
                headers=party.headers,
            ) as response:
                return response.status, await response.json(content_type=None)

        results = await asyncio.gather(
            *(call(party, mid, action, body) for mid, party, action, body in plan)
        )

    assert {status for status, _ in results} <= {200, 409, 422}, results
    wins: defaultdict[str, list[tuple[str, Any, dict[str, Any]]]] = defaultdict(list)
    for (mid, _, action, body), (status, data) in zip(plan, results, strict=False):
        if status == 200:
            wins[mid].append((action, body, data))
        else:
            assert data["code"] in ("invalid_state", "validation_failed"), data
    assert sum(len(w) for w in wins.values()) >= MILESTONES  # every milestone moved

    finals = {mid: await client.ok("GET", f"/milestones/{mid}") for mid in milestones}
    for mid, final in finals.items():
        won = wins[mid]
        # Successful releases, in commit order (``released`` only grows): each paid
        # what it asked for, once.
        releases = sorted(
            (data["released"], body) for action, body, data in won if action == "release"
        )
        before = 0
        for after, body in releases:
            assert after - before == (PART if body else AMOUNT - before), releases
            before = after
        assert final["held"] + final["released"] + final["refunded"] == AMOUNT, final
        assert final["released"] == before <= AMOUNT
        assert sum(1 for action, _, _ in won if action == "cancel") <= 1
        assert sum(1 for action, _, _ in won if action == "dispute") <= 1
        assert sum(1 for _, _, data in won if data["status"] == "released") <= 1
        if final["status"] == "cancelled":
            assert (final["released"], final["refunded"]) == (0, AMOUNT)
            assert [a for a, _, _ in won] == ["cancel"]
        # What the freelancer got for this milestone is what it says, once.
        got = sum(
            e["amount"] for e in await fred.ledger() if e["ref"] == {"type": "milestone", "id": mid}
        )
        assert got == final["released"] - final["fee"]

    # Concurrent resolutions: one per disputed milestone wins.
    disputed = [mid for mid, final in finals.items() if final["status"] == "disputed"]
    resolutions = await asyncio.gather(
        *(
            admin.call(
                "POST",
                f"/admin/milestones/{mid}/resolve",
                {"freelancer_amount": finals[mid]["held"] // 2},
            )
            for mid in disputed
            for _ in range(10)
        )
    )
    outcomes = [status for status, _ in resolutions]
    assert outcomes.count(200) == len(disputed) and set(outcomes) <= {200, 409}
    finals = {mid: await client.ok("GET", f"/milestones/{mid}") for mid in milestones}

    # The money adds up to the cent, and the ledger balances.
    held = sum(f["held"] for f in finals.values())
    refunded = sum(f["refunded"] for f in finals.values())
    paid = sum(f["released"] - f["fee"] for f in finals.values())
    fees = sum(f["fee"] for f in finals.values())
    assert await client.balance() == (1_000_000 - MILESTONES * AMOUNT + refunded, held)
    assert await fred.balance() == (paid, 0)
    platform = await hub.store.ledger.balances("platform")
    assert sum(b.balance for b in platform) == fees
    assert (1_000_000 - MILESTONES * AMOUNT + refunded) + held + paid + fees == 1_000_000
    assert await hub.store.ledger.entry_totals() == {"USD": 0}
    assert await hub.store.ledger.balance_totals() == {"USD": 0}
    for party in (client, fred):
        available, in_escrow = await party.balance()
        assert sum(e["amount"] for e in await party.ledger()) == available + in_escrow
