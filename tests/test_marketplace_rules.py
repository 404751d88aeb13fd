"""Marketplace rules over real HTTP: roles, every refused state transition
(409 invalid_state), every wrong party (403), validation, Idempotency-Keys,
job search, and the notification inbox."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import pytest_asyncio

from market_client import MARKET, hire, post_bid, post_job
from users import User, Users
from waits import quiet

pytestmark = MARKET


class Cast:
    """Two clients, three freelancers and an admin."""

    async def make(self, users: Users) -> Cast:
        self.client, self.other_client = await users("cora", "otto")
        self.fred, self.gina, self.hal = await users("fred", "gina", "hal", role="freelancer")
        self.admin = await users.admin("root@example.com")
        return self

    async def job(self, publish: bool = True, **fields: Any) -> dict[str, Any]:
        return await post_job(self.client, publish=publish, **fields)

    async def bid(
        self, job: dict[str, Any], party: User | None = None, amount: int = 5_000
    ) -> dict[str, Any]:
        return await post_bid(party or self.fred, job, amount)

    async def in_progress(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """A job of ``client`` that ``fred`` works on."""
        job = await self.job()
        bid = await self.bid(job)
        await hire(self.client, self.fred, bid)
        return await self.client.ok("GET", f"/jobs/{job['id']}"), bid


@pytest_asyncio.fixture
async def cast(users: Users) -> Cast:
    return await Cast().make(users)


# Roles and parties


async def test_roles(cast: Cast) -> None:
    body = {
        "title": "T",
        "description": "D",
        "budget_min": 1,
        "budget_max": 2,
        "currency": "USD",
        "type": "hourly",
    }
    await cast.fred.fails("POST", "/jobs", body, status=403, code="forbidden")
    await cast.admin.fails("POST", "/jobs", body, status=403, code="forbidden")
    job = await cast.job()
    bid = {"amount": 100, "currency": "USD", "period_days": 1, "proposal": "P"}
    for party in (cast.client, cast.other_client, cast.admin):
        await party.fails("POST", f"/jobs/{job['id']}/bids", bid, status=403, code="forbidden")


async def test_jobs_belong_to_their_owner(cast: Cast) -> None:
    draft = await cast.job(publish=False)
    # Someone else's draft does not exist for them.
    for party in (cast.other_client, cast.fred):
        await party.fails("GET", f"/jobs/{draft['id']}", status=404, code="not_found")
        await party.fails("POST", f"/jobs/{draft['id']}/publish", status=404, code="not_found")
    assert (await cast.admin.ok("GET", f"/jobs/{draft['id']}"))["status"] == "draft"
    job = await cast.job()
    for method, path, body in [
        ("PATCH", "", {"title": "Mine now"}),
        ("DELETE", "", None),
        ("POST", "/cancel", None),
        ("POST", "/complete", None),
    ]:
        await cast.other_client.fails(
            method, f"/jobs/{job['id']}{path}", body, status=403, code="forbidden"
        )
        await cast.fred.fails(
            method, f"/jobs/{job['id']}{path}", body, status=403, code="forbidden"
        )
    assert (await cast.client.ok("GET", f"/jobs/{job['id']}"))["title"] == "Mobile app"


async def test_job_lifecycle_refuses_every_other_transition(cast: Cast) -> None:
    draft = await cast.job(publish=False)
    jid = draft["id"]
    for path in ("/complete",):
        await cast.client.fails("POST", f"/jobs/{jid}{path}", status=409, code="invalid_state")
    edited = await cast.client.ok(
        "PATCH", f"/jobs/{jid}", {"currency": "EUR", "budget_max": 5_000, "skills": ["go", "go"]}
    )
    assert (edited["currency"], edited["budget_max"], edited["skills"]) == ("EUR", 5_000, ["go"])
    await cast.client.ok("POST", f"/jobs/{jid}/publish")
    problem = await cast.client.fails(
        "POST", f"/jobs/{jid}/publish", status=409, code="invalid_state"
    )
    assert problem["details"] == {"state": "open", "allowed": ["draft"]}
    await cast.client.fails("DELETE", f"/jobs/{jid}", status=409, code="invalid_state")
    await cast.client.fails(
        "PATCH", f"/jobs/{jid}", {"currency": "USD"}, status=409, code="invalid_state"
    )
    await cast.client.fails(
        "PATCH", f"/jobs/{jid}", {"budget_min": 6_000}, status=422, code="validation_failed"
    )
    await cast.client.fails("POST", f"/jobs/{jid}/complete", status=409, code="invalid_state")
    await cast.client.ok("POST", f"/jobs/{jid}/cancel")
    for method, path, body in [
        ("POST", "/publish", None),
        ("POST", "/cancel", None),
        ("POST", "/complete", None),
        ("PATCH", "", {"title": "x"}),
        ("DELETE", "", None),
    ]:
        await cast.client.fails(
            method, f"/jobs/{jid}{path}", body, status=409, code="invalid_state"
        )
    await cast.fred.fails(
        "POST",
        f"/jobs/{jid}/bids",
        {"amount": 100, "currency": "EUR", "period_days": 1, "proposal": "late"},
        status=409,
        code="invalid_state",
    )

    # Only drafts are deleted, and then they are gone.
    other = await cast.job(publish=False)
    await cast.client.ok("DELETE", f"/jobs/{other['id']}", status=204)
    await cast.client.fails("GET", f"/jobs/{other['id']}", status=404, code="not_found")
    await cast.client.fails("DELETE", f"/jobs/{other['id']}", status=404, code="not_found")

    # In progress: neither cancelled nor edited nor published.
    job, _ = await cast.in_progress()
    for method, path, body in [
        ("POST", "/cancel", None),
        ("POST", "/publish", None),
        ("PATCH", "", {"title": "x"}),
        ("DELETE", "", None),
    ]:
        await cast.client.fails(
            method, f"/jobs/{job['id']}{path}", body, status=409, code="invalid_state"
        )


async def test_bid_rules(cast: Cast) -> None:
    job = await cast.job()
    bid = await cast.bid(job)
    # One active bid per freelancer and job.
    await cast.fred.fails(
        "POST",
        f"/jobs/{job['id']}/bids",
        {"amount": 1, "currency": "USD", "period_days": 1, "proposal": "again"},
        status=409,
        code="conflict",
    )
    # The currency is the job's; unknown currencies are refused.
    for currency in ("EUR", "JPY"):
        await cast.gina.fails(
            "POST",
            f"/jobs/{job['id']}/bids",
            {"amount": 1, "currency": currency, "period_days": 1, "proposal": "p"},
            status=422,
            code="validation_failed",
        )
    # Who sees what.
    await cast.gina.fails("GET", f"/bids/{bid['id']}", status=403, code="forbidden")
    await cast.other_client.fails("GET", f"/bids/{bid['id']}", status=403, code="forbidden")
    assert (await cast.gina.ok("GET", f"/jobs/{job['id']}/bids"))["items"] == []
    # Only the bidder changes a pending bid; only the owner shortlists, rejects, awards.
    await cast.client.fails(
        "PATCH", f"/bids/{bid['id']}", {"amount": 1}, status=403, code="forbidden"
    )
    changed = await cast.fred.ok("PATCH", f"/bids/{bid['id']}", {"amount": 4_500})
    assert changed["amount"] == 4_500
    for action in ("shortlist", "reject", "award"):
        await cast.fred.fails("POST", f"/bids/{bid['id']}/{action}", status=403, code="forbidden")
        await cast.other_client.fails(
            "POST", f"/bids/{bid['id']}/{action}", status=403, code="forbidden"
        )
    for action in ("withdraw", "accept", "decline"):
        await cast.client.fails("POST", f"/bids/{bid['id']}/{action}", status=403, code="forbidden")
    # Pending: no accept, decline or conversation yet.
    for action in ("accept", "decline"):
        await cast.fred.fails(
            "POST", f"/bids/{bid['id']}/{action}", status=409, code="invalid_state"
        )
    await cast.fred.fails(
        "GET", f"/bids/{bid['id']}/conversation", status=409, code="invalid_state"
    )

    # Shortlisted: not shortlisted again, not changed.
    await cast.client.ok("POST", f"/bids/{bid['id']}/shortlist")
    await cast.client.fails(
        "POST", f"/bids/{bid['id']}/shortlist", status=409, code="invalid_state"
    )
    await cast.fred.fails(
        "PATCH", f"/bids/{bid['id']}", {"amount": 1}, status=409, code="invalid_state"
    )

    # Awarded (pending -> awarded directly for gina's): the job is awarded, so no
    # second award; declining reopens the job.
    gina_bid = await cast.bid(job, cast.gina)
    await cast.client.ok("POST", f"/bids/{gina_bid['id']}/award")
    await cast.client.fails("POST", f"/bids/{bid['id']}/award", status=409, code="invalid_state")
    await cast.hal.fails(
        "POST",
        f"/jobs/{job['id']}/bids",
        {"amount": 1, "currency": "USD", "period_days": 1, "proposal": "p"},
        status=409,
        code="invalid_state",
    )
    await cast.fred.fails("POST", f"/bids/{bid['id']}/accept", status=409, code="invalid_state")
    for action in ("withdraw", "shortlist"):
        party = cast.gina if action == "withdraw" else cast.client
        await party.fails(
            "POST", f"/bids/{gina_bid['id']}/{action}", status=409, code="invalid_state"
        )
    declined = await cast.gina.ok("POST", f"/bids/{gina_bid['id']}/decline")
    assert declined["status"] == "declined"
    job_now = await cast.client.ok("GET", f"/jobs/{job['id']}")
    assert (job_now["status"], job_now["awarded_bid_id"]) == ("open", None)
    await cast.gina.fails(
        "POST", f"/bids/{gina_bid['id']}/accept", status=409, code="invalid_state"
    )
    # A declined bid is no longer active: gina may bid again.
    await cast.bid(job, cast.gina)

    # Withdrawn and rejected bids are final.
    withdrawn = await cast.fred.ok("POST", f"/bids/{bid['id']}/withdraw")
    assert withdrawn["status"] == "withdrawn"
    for action in ("withdraw", "award", "shortlist", "reject"):
        party = cast.fred if action == "withdraw" else cast.client
        await party.fails("POST", f"/bids/{bid['id']}/{action}", status=409, code="invalid_state")
    again = await cast.bid(job)
    await cast.client.ok("POST", f"/bids/{again['id']}/reject")
    await cast.client.fails("POST", f"/bids/{again['id']}/award", status=409, code="invalid_state")


async def test_accept_rejects_the_other_open_bids_and_opens_one_conversation_per_bid(
    cast: Cast,
) -> None:
    for party in (cast.client, cast.fred, cast.gina, cast.hal):
        await party.listen()
    # The pair already has a direct conversation about something else.
    direct = await cast.client.ok(
        "POST", "/conversations", {"participant_ids": [cast.fred.id]}, status=201
    )
    job = await cast.job()
    fred_bid, gina_bid, hal_bid = (
        await cast.bid(job),
        await cast.bid(job, cast.gina),
        await cast.bid(job, cast.hal),
    )
    await cast.hal.ok("POST", f"/bids/{hal_bid['id']}/withdraw")
    accepted = await hire(cast.client, cast.fred, fred_bid)
    assert (await cast.gina.ok("GET", f"/bids/{gina_bid['id']}"))["status"] == "rejected"
    assert (await cast.hal.ok("GET", f"/bids/{hal_bid['id']}"))["status"] == "withdrawn"
    await cast.gina.notified("bid.rejected")
    await quiet()  # hal's bid was withdrawn: no bid.rejected may come for it
    assert not [n for n in cast.hal.inbox.events["notification"] if n["type"] == "bid.rejected"]
    conversation = await cast.fred.ok("GET", f"/bids/{fred_bid['id']}/conversation")
    assert conversation["id"] == accepted["conversation_id"] != direct["id"]
    assert (conversation["type"], conversation["context"]) == (
        "group",
        {"type": "bid", "id": fred_bid["id"]},
    )
    assert sorted(conversation["participant_ids"]) == sorted([cast.client.id, cast.fred.id])
    # A message there reaches the freelancer like any other.
    sent = await cast.client.ok(
        "POST",
        f"/conversations/{conversation['id']}/messages",
        {"text": "Welcome aboard"},
        status=201,
    )
    history = await cast.fred.ok("GET", f"/conversations/{conversation['id']}/messages")
    card, message = history["items"]  # the accept's card came first
    assert (card["kind"], card["card"]["state"], message["id"]) == ("card", "accepted", sent["id"])

    # A pair without a direct conversation gets a direct one carrying the bid.
    other_job = await cast.job()
    gina_bid2 = await cast.bid(other_job, cast.gina)
    await hire(cast.client, cast.gina, gina_bid2)
    gina_conv = await cast.gina.ok("GET", f"/bids/{gina_bid2['id']}/conversation")
    assert (gina_conv["type"], gina_conv["context"]) == (
        "direct",
        {"type": "bid", "id": gina_bid2["id"]},
    )


async def test_milestone_rules(cast: Cast) -> None:
    job, _ = await cast.in_progress()
    jid = job["id"]
    await cast.client.deposit(10_000)
    # Funding: the owner only, a client only, a job in progress only, enough money only.
    await cast.fred.fails(
        "POST",
        f"/jobs/{jid}/milestones",
        {"amount": 100, "description": "d"},
        status=403,
        code="forbidden",
    )
    await cast.other_client.fails(
        "POST",
        f"/jobs/{jid}/milestones",
        {"amount": 100, "description": "d"},
        status=403,
        code="forbidden",
    )
    problem = await cast.client.fails(
        "POST",
        f"/jobs/{jid}/milestones",
        {"amount": 10_001, "description": "too much"},
        status=402,
        code="insufficient_funds",
    )
    assert problem["details"] == {"currency": "USD", "account": "available"}
    for amount in (0, -5, 10**12 + 1, 1.5, "100", True):
        await cast.client.fails(
            "POST",
            f"/jobs/{jid}/milestones",
            {"amount": amount, "description": "d"},
            status=422,
            code="validation_failed",
        )
    open_job = await cast.job()
    await cast.client.fails(
        "POST",
        f"/jobs/{open_job['id']}/milestones",
        {"amount": 100, "description": "d"},
        status=409,
        code="invalid_state",
    )
    assert await cast.client.balance() == (10_000, 0)

    m = await cast.client.ok(
        "POST", f"/jobs/{jid}/milestones", {"amount": 4_000, "description": "Part 1"}, status=201
    )
    mid = m["id"]
    for party in (cast.gina, cast.other_client):
        await party.fails("GET", f"/milestones/{mid}", status=403, code="forbidden")
        await party.fails("GET", f"/jobs/{jid}/milestones", status=403, code="forbidden")
    assert [x["id"] for x in (await cast.fred.ok("GET", f"/jobs/{jid}/milestones"))["items"]] == [
        mid
    ]
    # funded: no release yet, only the freelancer requests it, only the owner cancels.
    await cast.client.fails("POST", f"/milestones/{mid}/release", status=409, code="invalid_state")
    await cast.client.fails(
        "POST", f"/milestones/{mid}/request-release", status=403, code="forbidden"
    )
    await cast.fred.fails("POST", f"/milestones/{mid}/cancel", status=403, code="forbidden")
    for action in ("dispute", "cancel", "request-release"):
        await cast.gina.fails("POST", f"/milestones/{mid}/{action}", status=403, code="forbidden")
    await cast.fred.fails(
        "POST",
        f"/admin/milestones/{mid}/resolve",
        {"freelancer_amount": 1},
        status=403,
        code="forbidden",
    )
    await cast.admin.fails(
        "POST",
        f"/admin/milestones/{mid}/resolve",
        {"freelancer_amount": 1},
        status=409,
        code="invalid_state",
    )
    # The job cannot complete while money is held.
    await cast.client.fails("POST", f"/jobs/{jid}/complete", status=409, code="invalid_state")

    await cast.fred.ok("POST", f"/milestones/{mid}/request-release")
    await cast.fred.fails(
        "POST", f"/milestones/{mid}/request-release", status=409, code="invalid_state"
    )
    await cast.client.fails("POST", f"/milestones/{mid}/cancel", status=409, code="invalid_state")
    await cast.fred.fails("POST", f"/milestones/{mid}/release", status=403, code="forbidden")
    # More than is held: the held money is short (as when concurrent releases took it).
    short = await cast.client.fails(
        "POST",
        f"/milestones/{mid}/release",
        {"amount": 4_001},
        status=402,
        code="insufficient_funds",
    )
    assert short["details"] == {"currency": "USD", "account": "held", "held": 4_000}
    await cast.client.fails(
        "POST", f"/milestones/{mid}/release", {"amount": 0}, status=422, code="validation_failed"
    )
    released = await cast.client.ok("POST", f"/milestones/{mid}/release", {})
    assert (released["status"], released["fee"]) == ("released", 400)
    for party, action in [
        (cast.client, "release"),
        (cast.client, "cancel"),
        (cast.fred, "dispute"),
        (cast.fred, "request-release"),
    ]:
        await party.fails("POST", f"/milestones/{mid}/{action}", status=409, code="invalid_state")

    # Cancel gives the held money back; disputes and resolutions are final.
    m2 = await cast.client.ok(
        "POST", f"/jobs/{jid}/milestones", {"amount": 1_000, "description": "Part 2"}, status=201
    )
    cancelled = await cast.client.ok("POST", f"/milestones/{m2['id']}/cancel")
    assert (cancelled["status"], cancelled["held"], cancelled["refunded"]) == (
        "cancelled",
        0,
        1_000,
    )
    await cast.fred.fails(
        "POST", f"/milestones/{m2['id']}/dispute", status=409, code="invalid_state"
    )
    m3 = await cast.client.ok(
        "POST", f"/jobs/{jid}/milestones", {"amount": 2_000, "description": "Part 3"}, status=201
    )
    await cast.client.ok("POST", f"/milestones/{m3['id']}/dispute")
    for party, action in [
        (cast.fred, "dispute"),
        (cast.fred, "request-release"),
        (cast.client, "release"),
        (cast.client, "cancel"),
    ]:
        await party.fails(
            "POST", f"/milestones/{m3['id']}/{action}", status=409, code="invalid_state"
        )
    await cast.client.fails(
        "POST",
        f"/admin/milestones/{m3['id']}/resolve",
        {"freelancer_amount": 1},
        status=403,
        code="forbidden",
    )
    await cast.admin.fails(
        "POST",
        f"/admin/milestones/{m3['id']}/resolve",
        {"freelancer_amount": 2_001},
        status=422,
        code="validation_failed",
    )
    resolved = await cast.admin.ok(
        "POST", f"/admin/milestones/{m3['id']}/resolve", {"freelancer_amount": 0}
    )
    assert (resolved["status"], resolved["refunded"], resolved["fee"]) == ("resolved", 2_000, 0)
    await cast.admin.fails(
        "POST",
        f"/admin/milestones/{m3['id']}/resolve",
        {"freelancer_amount": 0},
        status=409,
        code="invalid_state",
    )

    # 10,000 in: 4,000 released (3,600 + 400 fee), 3,000 back, 3,000 never moved.
    assert await cast.client.balance() == (6_000, 0)
    assert await cast.fred.balance() == (3_600, 0)
    await cast.client.ok("POST", f"/jobs/{jid}/complete")
    await cast.client.fails(
        "POST",
        f"/jobs/{jid}/milestones",
        {"amount": 1, "description": "d"},
        status=409,
        code="invalid_state",
    )


async def test_reviews_rules(cast: Cast) -> None:
    job, _ = await cast.in_progress()
    await cast.client.fails(
        "POST",
        f"/jobs/{job['id']}/reviews",
        {"rating": 5, "comment": ""},
        status=409,
        code="invalid_state",
    )
    await cast.client.ok("POST", f"/jobs/{job['id']}/complete")
    await cast.gina.fails(
        "POST",
        f"/jobs/{job['id']}/reviews",
        {"rating": 5, "comment": ""},
        status=403,
        code="forbidden",
    )
    for rating in (0, 6, 4.5, "5"):
        await cast.fred.fails(
            "POST",
            f"/jobs/{job['id']}/reviews",
            {"rating": rating, "comment": ""},
            status=422,
            code="validation_failed",
        )
    await cast.fred.ok(
        "POST", f"/jobs/{job['id']}/reviews", {"rating": 3, "comment": " ok "}, status=201
    )
    page = await cast.client.ok("GET", f"/users/{cast.client.id}/reviews")
    assert (page["count"], page["average"], page["items"][0]["comment"]) == (1, 3.0, "ok")
    empty = await cast.client.ok("GET", f"/users/{cast.gina.id}/reviews")
    assert empty == {"items": [], "next_cursor": None, "average": None, "count": 0}
    await cast.client.fails("GET", "/users/nobody/reviews", status=404, code="not_found")


async def test_idempotency_keys_on_bids_and_milestones(cast: Cast) -> None:
    job = await cast.job()
    body = {"amount": 2_000, "currency": "USD", "period_days": 5, "proposal": "Once"}
    key = {"Idempotency-Key": "bid-once"}
    first = await cast.fred.ok("POST", f"/jobs/{job['id']}/bids", body, status=201, headers=key)
    assert (
        await cast.fred.ok("POST", f"/jobs/{job['id']}/bids", body, status=201, headers=key)
        == first
    )
    await cast.fred.fails(
        "POST",
        f"/jobs/{job['id']}/bids",
        {**body, "amount": 2_001},
        headers=key,
        status=422,
        code="idempotency_mismatch",
    )
    assert len((await cast.client.ok("GET", f"/jobs/{job['id']}/bids"))["items"]) == 1

    await hire(cast.client, cast.fred, first)
    await cast.client.deposit(3_000)
    key = {"Idempotency-Key": "fund-once"}
    milestone = {"amount": 2_500, "description": "Half"}
    # A refused attempt (402) does not use the key up...
    await cast.client.fails(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {**milestone, "amount": 3_001},
        headers=key,
        status=402,
        code="insufficient_funds",
    )
    # ...and concurrent requests with one key fund one milestone.
    results = await asyncio.gather(
        *(
            cast.client.call("POST", f"/jobs/{job['id']}/milestones", milestone, headers=key)
            for _ in range(10)
        )
    )
    assert {status for status, _ in results} == {201}
    assert len({data["id"] for _, data in results}) == 1
    assert await cast.client.balance() == (500, 2_500)
    await cast.client.fails(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {**milestone, "description": "Other"},
        headers=key,
        status=422,
        code="idempotency_mismatch",
    )
    assert len((await cast.client.ok("GET", f"/jobs/{job['id']}/milestones"))["items"]) == 1


async def test_job_search_and_pages(cast: Cast) -> None:
    for n in range(5):
        await cast.job(
            title=f"Job {n}",
            skills=["python"] if n % 2 else ["go"],
            budget_min=1_000 * (n + 1),
            budget_max=1_000 * (n + 2),
        )
    draft = await cast.job(publish=False, title="Hidden draft")
    other = await cast.other_client.ok(
        "POST",
        "/jobs",
        {
            "title": "Python ETL",
            "description": "Pipelines",
            "skills": ["Python"],
            "budget_min": 500,
            "budget_max": 700,
            "currency": "GBP",
            "type": "hourly",
            "publish": True,
        },
        status=201,
    )

    pages, cursor = [], None
    while True:
        page = await cast.fred.ok(
            "GET",
            "/jobs",
            params={"limit": 2, "status": "open", **({"cursor": cursor} if cursor else {})},
        )
        pages.append([j["title"] for j in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["Python ETL", "Job 4"], ["Job 3", "Job 2"], ["Job 1", "Job 0"]]
    assert draft["id"] not in str(pages)
    python = await cast.fred.ok("GET", "/jobs", params={"skills": "PYTHON"})
    assert [j["title"] for j in python["items"]] == ["Python ETL", "Job 3", "Job 1"]
    budget = await cast.fred.ok("GET", "/jobs", params={"budget_min": 4_500, "budget_max": 5_600})
    assert [j["title"] for j in budget["items"]] == ["Job 4", "Job 3"]
    mine = await cast.client.ok(
        "GET", "/jobs", params={"owner_id": cast.client.id, "status": "draft"}
    )
    assert [j["id"] for j in mine["items"]] == [draft["id"]]
    assert (await cast.fred.ok("GET", "/jobs", params={"q": "etl pipelines"}))["items"][0][
        "id"
    ] == other["id"]
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"status": "nope"},
        {"cursor": "%%%"},
        {"budget_min": -1},
        {"budget_min": 10, "budget_max": 5},
        {"unknown": 1},
    ):
        await cast.fred.fails("GET", "/jobs", params=params, status=422, code="validation_failed")
    await cast.client.fails(
        "POST",
        "/jobs",
        {
            "title": "T",
            "description": "D",
            "budget_min": 10,
            "budget_max": 5,
            "currency": "USD",
            "type": "fixed",
        },
        status=422,
        code="validation_failed",
    )
    await cast.client.fails(
        "POST",
        "/jobs",
        {
            "title": "T",
            "description": "D",
            "budget_min": 1,
            "budget_max": 5,
            "currency": "JPY",
            "type": "fixed",
        },
        status=422,
        code="validation_failed",
    )


async def test_jobs_a_freelancer_bid_on(cast: Cast) -> None:
    """GET /jobs?bidder_id=: the caller's own bids' jobs, any bid status, newest
    first, paged; whatever state the job is in (an accepted job stays listed).
    Someone else's bids are private: 403."""
    hired, _ = await cast.in_progress()
    withdrawn = await cast.job(title="Withdrawn from")
    bid = await cast.bid(withdrawn)
    await cast.fred.ok("POST", f"/bids/{bid['id']}/withdraw")
    await cast.bid(pending := await cast.job(title="Pending"))
    gina_only = await cast.job(title="Gina's")
    await cast.bid(gina_only, cast.gina)
    await cast.job(title="Nobody's")

    def bidder(user: User, **params: Any) -> Any:
        return user.ok("GET", "/jobs", params={"bidder_id": user.id, **params})

    listed = await bidder(cast.fred)
    assert [j["id"] for j in listed["items"]] == [pending["id"], withdrawn["id"], hired["id"]]
    assert listed["items"][2]["status"] == "in_progress"
    first = await bidder(cast.fred, limit=2)
    rest = await bidder(cast.fred, limit=2, cursor=first["next_cursor"])
    assert [j["id"] for j in first["items"] + rest["items"]] == [j["id"] for j in listed["items"]]
    assert rest["next_cursor"] is None
    working = await bidder(cast.fred, status="in_progress")
    assert [j["id"] for j in working["items"]] == [hired["id"]]
    assert [j["id"] for j in (await bidder(cast.gina))["items"]] == [gina_only["id"]]
    assert (await bidder(cast.hal))["items"] == []
    for caller, other in ((cast.gina, cast.fred), (cast.client, cast.fred)):
        await caller.fails(
            "GET", "/jobs", params={"bidder_id": other.id}, status=403, code="forbidden"
        )


async def test_notification_inbox(cast: Cast) -> None:
    await cast.client.listen()
    job = await cast.job()
    bids = [await cast.bid(job, party) for party in (cast.fred, cast.gina, cast.hal)]
    await cast.client.notified("bid.created", 3)

    first = await cast.client.ok("GET", "/notifications", params={"limit": 2})
    assert [n["data"]["bid_id"] for n in first["items"]] == [bids[2]["id"], bids[1]["id"]]
    rest = await cast.client.ok("GET", "/notifications", params={"cursor": first["next_cursor"]})
    assert [n["data"]["bid_id"] for n in rest["items"]] == [bids[0]["id"]]
    assert rest["next_cursor"] is None
    note = first["items"][0]
    assert set(note) == {"id", "type", "data", "created_at", "read"}
    assert (await cast.client.ok("GET", "/notifications/unread-count")) == {"count": 3}
    await cast.fred.fails("POST", f"/notifications/{note['id']}/read", status=403, code="forbidden")
    await cast.client.fails("POST", "/notifications/nope/read", status=404, code="not_found")
    assert (await cast.client.ok("POST", f"/notifications/{note['id']}/read"))["read"] is True
    assert (await cast.client.ok("POST", f"/notifications/{note['id']}/read"))["read"] is True
    unread = await cast.client.ok("GET", "/notifications", params={"unread_only": "true"})
    assert [n["id"] for n in unread["items"]] == [
        n["id"] for n in [first["items"][1], *rest["items"]]
    ]
    assert await cast.client.ok("POST", "/notifications/read-all") == {"updated": 2}
    assert (await cast.client.ok("GET", "/notifications/unread-count")) == {"count": 0}
    assert (await cast.fred.ok("GET", "/notifications"))["items"] == []


async def test_notifications_namespace_auth_and_isolation(cast: Cast, server: Any) -> None:
    import socketio

    for auth in (None, {"token": "garbage"}):
        client = socketio.AsyncClient(reconnection=False)
        errors: asyncio.Queue[Any] = asyncio.Queue()
        client.on("connect_error", errors.put_nowait, namespace="/notifications")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                str(server.make_url("/")),
                namespaces=["/notifications"],
                auth=auth,
                transports=["websocket"],
                wait_timeout=3,
            )
        assert (await asyncio.wait_for(errors.get(), 3))["code"] == "unauthorized"
        await client.disconnect()

    inbox = await cast.client.listen()
    others = [await cast.other_client.listen(), await cast.fred.listen()]
    # Client events other than auth:refresh are refused without dropping the socket.
    ack = await inbox.call("notification:list", {})
    assert ack["ok"] is False and ack["error"]["code"] == "validation_failed"
    job = await cast.job()
    bid = await cast.bid(job)
    note = (await cast.client.notified("bid.created"))[0]
    assert note["data"]["bid"] == bid and note["read"] is False
    await quiet()  # long enough for a notification to the others to land
    # Only the job's owner heard of it.
    assert [r.events["notification"] for r in others] == [[], []]
