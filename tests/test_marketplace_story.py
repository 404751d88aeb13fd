"""The whole marketplace story over real HTTP, with real /notifications sockets
listening, on both storage engines (MongoDB: the mongomock double unless
HUB_TEST_MONGODB_URL is set; see tests/engines.py).

A client deposits with the sandbox card (the signed webhook, POSTed by the
sandbox over HTTP to the running hub, credits the wallet), posts and publishes
a job; two freelancers bid; the client shortlists one, awards, the freelancer
accepts (the other bid is rejected, the bid conversation exists); two
milestones are funded; one is released in two parts, the other disputed and
split by an admin; the job completes; both review each other. Every balance
and the ledger are checked to the cent.
"""

from __future__ import annotations

from aiohttp import web

from engines import ON_BOTH_ENGINES
from hub.context import HUB
from market_client import MARKET
from users import Users

pytestmark = [ON_BOTH_ENGINES, MARKET]


async def test_the_whole_story(app: web.Application, users: Users) -> None:
    hub = app[HUB]
    (client,) = await users("carol")
    fred, gina = await users("fred", "gina", role="freelancer")
    admin = await users.admin("ada@example.com")
    for party in (client, fred, gina):
        await party.listen()

    # The client deposits $1,000.00 with the sandbox card: pending, then the
    # signed webhook credits the wallet.
    deposit = await client.deposit(100_000)
    assert deposit["status"] == "succeeded" and deposit["amount"] == 100_000
    assert (await client.notified("deposit.succeeded"))[0]["data"]["deposit_id"] == deposit["id"]
    assert await client.balance() == (100_000, 0)

    # A job, posted as a draft and published.
    job = await client.ok(
        "POST",
        "/jobs",
        {
            "title": "Port our billing service to Rust",
            "description": "Async, tested, documented",
            "skills": ["Rust", "Postgres"],
            "budget_min": 40_000,
            "budget_max": 60_000,
            "currency": "USD",
            "type": "fixed",
        },
        status=201,
    )
    assert (job["status"], job["owner_id"], job["published_at"]) == ("draft", client.id, None)
    job = await client.ok("POST", f"/jobs/{job['id']}/publish")
    assert job["status"] == "open" and job["published_at"]
    found = await fred.ok(
        "GET", "/jobs", params={"q": "billing rust", "status": "open", "skills": "rust"}
    )
    assert [j["id"] for j in found["items"]] == [job["id"]]

    # Two freelancers bid; the client hears of both, on each of its sockets.
    second_socket = await client.socket("/notifications")
    fred_bid = await fred.ok(
        "POST",
        f"/jobs/{job['id']}/bids",
        {"amount": 50_000, "currency": "USD", "period_days": 14, "proposal": "Done it before"},
        status=201,
    )
    gina_bid = await gina.ok(
        "POST",
        f"/jobs/{job['id']}/bids",
        {"amount": 45_000, "currency": "USD", "period_days": 21, "proposal": "Cheaper"},
        status=201,
    )
    bids_seen = await client.notified("bid.created", 2)
    assert {n["data"]["bid_id"] for n in bids_seen} == {fred_bid["id"], gina_bid["id"]}
    assert await second_socket.wait_for("notification", 2) == bids_seen
    assert len((await client.ok("GET", f"/jobs/{job['id']}/bids"))["items"]) == 2
    assert [b["id"] for b in (await fred.ok("GET", f"/jobs/{job['id']}/bids"))["items"]] == [
        fred_bid["id"]
    ]

    # Shortlist, award, accept.
    assert (await client.ok("POST", f"/bids/{fred_bid['id']}/shortlist"))["status"] == "shortlisted"
    await fred.notified("bid.shortlisted")
    assert (await client.ok("POST", f"/bids/{fred_bid['id']}/award"))["status"] == "awarded"
    assert (await fred.notified("bid.awarded"))[0]["data"]["bid"]["status"] == "awarded"
    assert (await client.ok("GET", f"/jobs/{job['id']}"))["status"] == "awarded"
    accepted = await fred.ok("POST", f"/bids/{fred_bid['id']}/accept")
    assert accepted["status"] == "accepted" and accepted["conversation_id"]
    accepted_note = (await client.notified("bid.accepted"))[0]
    assert accepted_note["data"]["conversation_id"] == accepted["conversation_id"]
    assert accepted_note["read"] is False and accepted_note["created_at"].endswith("Z")
    assert (await gina.notified("bid.rejected"))[0]["data"]["bid_id"] == gina_bid["id"]
    assert (await gina.ok("GET", f"/bids/{gina_bid['id']}"))["status"] == "rejected"
    job = await client.ok("GET", f"/jobs/{job['id']}")
    assert (job["status"], job["freelancer_id"], job["awarded_bid_id"]) == (
        "in_progress",
        fred.id,
        fred_bid["id"],
    )
    conversation = await fred.ok("GET", f"/bids/{fred_bid['id']}/conversation")
    assert conversation["id"] == accepted["conversation_id"]
    assert conversation["context"] == {"type": "bid", "id": fred_bid["id"]}
    assert sorted(conversation["participant_ids"]) == sorted([client.id, fred.id])
    assert (await client.ok("GET", f"/bids/{fred_bid['id']}/conversation"))["id"] == conversation[
        "id"
    ]
    await gina.fails("GET", f"/bids/{fred_bid['id']}/conversation", status=403, code="forbidden")

    # Two milestones funded: $500.00 and $300.00 move from available to held.
    m1 = await client.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 30_000, "description": "Core port"},
        status=201,
    )
    m2 = await client.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 20_000, "description": "Docs"},
        status=201,
    )
    assert (m1["status"], m1["held"], m1["currency"]) == ("funded", 30_000, "USD")
    assert await client.balance() == (50_000, 50_000)
    assert len(await fred.notified("milestone.created", 2)) == 2

    # Milestone 1: release requested, then released in two parts (10% fee, rounded half up).
    await fred.ok("POST", f"/milestones/{m1['id']}/request-release")
    await client.notified("milestone.release_requested")
    part = await client.ok("POST", f"/milestones/{m1['id']}/release", {"amount": 10_001})
    assert (part["status"], part["held"], part["released"], part["fee"]) == (
        "release_requested",
        19_999,
        10_001,
        1_000,
    )
    assert await fred.balance() == (9_001, 0)
    rest = await client.ok("POST", f"/milestones/{m1['id']}/release")  # no body: all that is held
    assert (rest["status"], rest["held"], rest["released"], rest["fee"]) == (
        "released",
        0,
        30_000,
        3_000,
    )  # 1_000.1 -> 1_000, then 1_999.9 -> 2_000
    released = await fred.notified("milestone.released", 2)
    assert [n["data"]["amount"] for n in released] == [10_001, 19_999]
    assert await fred.balance() == (9_001 + 17_999, 0)

    # Milestone 2: disputed by the freelancer, split by an admin.
    disputed = await fred.ok("POST", f"/milestones/{m2['id']}/dispute")
    assert disputed["status"] == "disputed"
    assert (await client.notified("milestone.disputed"))[0]["data"]["by"] == fred.id
    resolved = await admin.ok(
        "POST", f"/admin/milestones/{m2['id']}/resolve", {"freelancer_amount": 12_345}
    )
    assert (
        resolved["status"],
        resolved["held"],
        resolved["released"],
        resolved["fee"],
        resolved["refunded"],
    ) == ("resolved", 0, 12_345, 1_235, 7_655)  # 1_234.5 -> 1_235
    await fred.notified("milestone.resolved")
    await client.notified("milestone.resolved")

    # The job completes; both review each other.
    completed = await client.ok("POST", f"/jobs/{job['id']}/complete")
    assert completed["status"] == "completed"
    await fred.notified("job.completed")
    review = await client.ok(
        "POST", f"/jobs/{job['id']}/reviews", {"rating": 5, "comment": "Superb"}, status=201
    )
    assert (review["author_id"], review["subject_id"], review["rating"]) == (client.id, fred.id, 5)
    await fred.ok(
        "POST", f"/jobs/{job['id']}/reviews", {"rating": 4, "comment": "Paid fast"}, status=201
    )
    await client.fails(
        "POST",
        f"/jobs/{job['id']}/reviews",
        {"rating": 1, "comment": "again"},
        status=409,
        code="conflict",
    )
    await fred.notified("review.created")
    of_fred = await gina.ok("GET", f"/users/{fred.id}/reviews")
    assert (of_fred["count"], of_fred["average"], of_fred["items"][0]["comment"]) == (
        1,
        5.0,
        "Superb",
    )
    assert (await gina.ok("GET", f"/users/{client.id}/reviews"))["average"] == 4.0

    # Balances match to the cent: 100,000 in = 57,655 + 38,110 + 4,235 in fees.
    assert await client.balance() == (100_000 - 50_000 + 7_655, 0)
    assert await fred.balance() == (9_001 + 17_999 + 11_110, 0)
    assert await gina.balance() == (0, 0)
    platform = {
        (b.currency, b.account): b.balance for b in await hub.store.ledger.balances("platform")
    }
    assert platform == {("USD", "fee"): 1_000 + 2_000 + 1_235}
    provider = await hub.store.ledger.balances("provider:sandbox")
    assert [(b.account, b.balance) for b in provider] == [("external", -100_000)]
    assert 57_655 + 38_110 + 4_235 == 100_000

    # Each user's ledger sums to their balances; the whole ledger sums to zero.
    for party, available in ((client, 57_655), (fred, 38_110)):
        entries = await party.ledger()
        assert sum(e["amount"] for e in entries) == available
        assert all(
            e["currency"] == "USD" and e["account"] in ("available", "held") for e in entries
        )
        for entry in entries:
            assert set(entry) == {
                "id",
                "movement_id",
                "account",
                "amount",
                "currency",
                "kind",
                "ref",
                "created_at",
            }
    client_kinds = [(e["kind"], e["account"], e["amount"]) for e in reversed(await client.ledger())]
    assert client_kinds == [
        ("deposit", "available", 100_000),
        ("milestone_fund", "available", -30_000),
        ("milestone_fund", "held", 30_000),
        ("milestone_fund", "available", -20_000),
        ("milestone_fund", "held", 20_000),
        ("milestone_release", "held", -10_001),
        ("milestone_release", "held", -19_999),
        ("milestone_resolve", "held", -20_000),
        ("milestone_resolve", "available", 7_655),
    ]
    assert next(e["ref"] for e in await fred.ledger()) == {"type": "milestone", "id": m2["id"]}
    assert await hub.store.ledger.entry_totals() == {"USD": 0}
    assert await hub.store.ledger.balance_totals() == {"USD": 0}

    # The REST inbox has what the sockets got.
    inbox = await fred.ok("GET", "/notifications", params={"limit": 100})
    socket_ids = [n["id"] for n in fred.inbox.events["notification"]]
    assert [n["id"] for n in reversed(inbox["items"])] == socket_ids
    unread = (await fred.ok("GET", "/notifications/unread-count"))["count"]
    assert unread == len(socket_ids) > 5
    first = await fred.ok("POST", f"/notifications/{socket_ids[0]}/read")
    assert first["read"] is True
    assert (await fred.ok("POST", "/notifications/read-all"))["updated"] == unread - 1
    assert (await fred.ok("GET", "/notifications", params={"unread_only": "true"}))["items"] == []
