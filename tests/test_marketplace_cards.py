"""Marketplace cards (issue 17): during the marketplace story, each of the bid's
events leaves a ``card`` message in the bid's conversation, in ``seq`` order
with the messages, with the right amounts, over real HTTP and real sockets on
both storage engines.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from engines import ON_BOTH_ENGINES
from hub.context import HUB
from market_client import MARKET, post_bid, post_job
from users import User, Users
from waits import quiet

pytestmark = [ON_BOTH_ENGINES, MARKET]

TITLE = "Port our billing service to Rust"


async def unread(user: User, cid: str) -> int:
    counts = await user.ok("GET", "/messages/unread-count")
    return int(counts["conversations"].get(cid, 0))


def ref(kind: str, id_: str) -> dict[str, str]:
    return {"type": kind, "id": id_}


async def test_the_cards_of_the_marketplace_story_in_seq_order(users: Users) -> None:
    (carol,) = await users("carol")
    (fred,) = await users("fred", role="freelancer")
    admin = await users.admin("ada@example.com")
    carol_chat, fred_chat = await carol.socket(), await fred.socket()
    await carol.deposit(100_000)
    job = await post_job(carol, title=TITLE, budget_min=40_000, budget_max=60_000)
    bid = await post_bid(fred, job, 50_000)

    await carol.ok("POST", f"/bids/{bid['id']}/award")
    accepted = await fred.ok("POST", f"/bids/{bid['id']}/accept")
    cid = accepted["conversation_id"]
    welcome = await carol.send(cid, "Welcome aboard")
    m1 = await carol.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 30_000, "description": "Core port"},
        status=201,
    )
    m2 = await carol.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 20_000, "description": "Docs"},
        status=201,
    )
    await fred.ok("POST", f"/milestones/{m1['id']}/request-release")
    key = {"Idempotency-Key": "release-part-1"}
    await carol.ok("POST", f"/milestones/{m1['id']}/release", {"amount": 10_001}, headers=key)
    # A retry of the same request is replayed: no second card.
    await carol.ok("POST", f"/milestones/{m1['id']}/release", {"amount": 10_001}, headers=key)
    await carol.ok("POST", f"/milestones/{m1['id']}/release")  # all that is still held
    await fred.ok("POST", f"/milestones/{m2['id']}/dispute")
    await admin.ok("POST", f"/admin/milestones/{m2['id']}/resolve", {"freelancer_amount": 12_345})
    await carol.ok("POST", f"/jobs/{job['id']}/complete")

    heard = await fred_chat.wait_for("message:new", 10)
    assert [m["seq"] for m in heard] == list(range(1, 11))
    assert heard[1] == welcome
    cards = [m for m in heard if m["kind"] == "card"]
    summary = [
        (c["card"]["type"], c["card"]["state"], c["card"].get("amount"), c["actor_id"])
        for c in cards
    ]
    assert summary == [
        ("bid", "accepted", 50_000, fred.id),
        ("milestone", "funded", 30_000, carol.id),
        ("milestone", "funded", 20_000, carol.id),
        ("milestone", "release_requested", 30_000, fred.id),
        ("milestone", "released", 10_001, carol.id),
        ("milestone", "released", 19_999, carol.id),
        ("milestone", "disputed", 20_000, fred.id),
        ("milestone", "resolved", 12_345, admin.id),  # the admin is no participant
        ("job", "completed", None, carol.id),
    ]
    assert [c["card"]["ref"] for c in cards] == [
        ref("bid", bid["id"]),
        ref("milestone", m1["id"]),
        ref("milestone", m2["id"]),
        *[ref("milestone", m1["id"])] * 3,
        *[ref("milestone", m2["id"])] * 2,
        ref("job", job["id"]),
    ]
    assert all(c["sender_id"] is None for c in cards)
    assert all(c["card"].get("currency", "USD") == "USD" for c in cards)
    assert [c["card"]["title"] for c in cards] == [
        TITLE,
        "Core port",
        "Docs",
        "Core port",
        "Core port",
        "Core port",
        "Docs",
        "Docs",
        TITLE,
    ]
    assert [c["text"] for c in cards] == [
        f"fred accepted the offer for “{TITLE}” · USD 500.00",
        "carol funded milestone “Core port”",
        "carol funded milestone “Docs”",
        "fred requested the release of milestone “Core port”",
        "carol released USD 100.01 of milestone “Core port”",
        "carol released USD 199.99 of milestone “Core port”",
        "fred disputed milestone “Docs”",
        "The dispute on milestone “Docs” was resolved: USD 123.45 to fred, USD 76.55 back to carol",
        f"carol marked “{TITLE}” completed",
    ]
    # carol hears the same (she sent her text over REST: no socket of hers had it as an ack).
    assert await carol_chat.wait_for("message:new", 10) == heard
    history = await fred.ok("GET", f"/conversations/{cid}/messages")
    assert history["items"] == heard
    await quiet()
    assert len(fred_chat.events["message:new"]) == 10

    # Unread for everyone but the actor: fred has read nothing; carol read up
    # to her own text (seq 2), and fred's cards and the admin's are unread.
    assert await unread(fred, cid) == 7  # seqs 2, 3, 4, 6, 7, 9, 10
    assert await unread(carol, cid) == 3  # seqs 5, 8, 9


async def test_writing_one_event_twice_leaves_one_card(app: web.Application, users: Users) -> None:
    carol, fred = await users("carol", "fred")
    fred_chat = await fred.socket()
    cid = (await carol.ok("POST", "/conversations", {"participant_ids": [fred.id]}, status=201))[
        "id"
    ]
    cards = app[HUB].conversations.system_messages

    async def release() -> dict[str, Any] | None:
        return await cards.market(  # type: ignore[return-value]
            cid,
            carol.id,
            ("milestone", "m1"),
            "released",
            "carol released USD 1.00",
            key="card:milestone:m1:released:100",
            amount=100,
            currency="USD",
        )

    first, again = await release(), await release()

    assert first is not None and again == first
    assert await fred_chat.wait_for("message:new") == [first]
    await quiet()
    assert len(fred_chat.events["message:new"]) == 1
    assert (await carol.ok("GET", f"/conversations/{cid}"))["last_seq"] == 1
    # A text message the actor sent under that key does not swallow the event.
    squatted = await carol.ok(
        "POST",
        f"/conversations/{cid}/messages",
        {"text": "mine", "client_msg_id": "card:milestone:m2:released:100"},
        status=201,
    )
    card = await cards.market(
        cid,
        carol.id,
        ("milestone", "m2"),
        "released",
        "carol released USD 1.00",
        key="card:milestone:m2:released:100",
        amount=100,
        currency="USD",
    )
    assert card is not None and card["kind"] == "card" and card["id"] != squatted["id"]
    assert [m["seq"] for m in await fred_chat.wait_for("message:new", 3)] == [1, 2, 3]
