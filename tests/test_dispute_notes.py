"""Dispute notes over real HTTP, on both storage engines: the disputing side's
note sent with ``POST /milestones/{id}/dispute``, each side's note written or
changed with ``PUT /milestones/{id}/dispute/note`` while the milestone is
disputed (one per side, the latest wins), who may, in which state, the limits,
the Idempotency-Key of the dispute, and the notes in ``GET /milestones/{id}``
and the admin's ``GET /admin/disputes``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest_asyncio

from engines import ON_BOTH_ENGINES
from market_client import MARKET, hire, post_bid, post_job
from users import User, Users

pytestmark = [ON_BOTH_ENGINES, MARKET]


@dataclass
class Dispute:
    """Carol's job that Fred works on, with a funded milestone; an admin and Otto,
    a client who is no party of it."""

    carol: User
    fred: User
    otto: User
    admin: User
    conversation: str
    milestone: str

    @property
    def note_path(self) -> str:
        return f"/milestones/{self.milestone}/dispute/note"


@pytest_asyncio.fixture
async def world(users: Users) -> Dispute:
    carol, otto = await users("carol", "otto")
    (fred,) = await users("fred", role="freelancer")
    admin = await users.admin()
    await carol.deposit(50_000)
    job = await post_job(carol, budget_min=1_000, budget_max=40_000)
    accepted = await hire(carol, fred, await post_bid(fred, job, 20_000))
    milestone = await carol.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 20_000, "description": "Docs"},
        status=201,
    )
    return Dispute(carol, fred, otto, admin, accepted["conversation_id"], milestone["id"])


def note_of(side: dict[str, Any] | None) -> tuple[str, str] | None:
    return None if side is None else (side["user_id"], side["text"])


async def test_both_sides_notes_the_latest_wins_and_the_admin_reads_them(
    world: Dispute,
) -> None:
    carol, fred = world.carol, world.fred
    await carol.listen()
    await fred.listen()
    # What they said in the conversation stays beside the notes in the queue.
    await carol.send(world.conversation, "The docs are missing")

    disputed = await fred.ok(
        "POST", f"/milestones/{world.milestone}/dispute", {"note": "  Docs were not in scope  "}
    )
    assert disputed["status"] == "disputed"
    assert note_of(disputed["freelancer_note"]) == (fred.id, "Docs were not in scope")
    assert disputed["owner_note"] is None
    [told] = await carol.notified("milestone.disputed")
    assert told["data"]["by"] == fred.id
    assert told["data"]["milestone"]["freelancer_note"]["text"] == "Docs were not in scope"

    # The other side adds theirs; the disputing side is told.
    carols = await carol.ok("PUT", world.note_path, {"note": "The brief listed the docs"})
    assert note_of(carols["owner_note"]) == (carol.id, "The brief listed the docs")
    assert note_of(carols["freelancer_note"]) == (fred.id, "Docs were not in scope")
    assert carols["status"] == "disputed"
    [added] = await fred.notified("milestone.dispute_note")
    assert added["data"]["by"] == carol.id
    assert added["data"]["milestone_id"] == world.milestone
    assert added["data"]["milestone"]["owner_note"]["text"] == "The brief listed the docs"

    # Fred changes his: it replaces his earlier one, Carol's stays.
    first_at = disputed["freelancer_note"]["updated_at"]
    changed = await fred.ok("PUT", world.note_path, {"note": "Only the API docs were in scope"})
    assert changed["freelancer_note"]["text"] == "Only the API docs were in scope"
    assert changed["freelancer_note"]["updated_at"] >= first_at
    assert changed["owner_note"] == carols["owner_note"]
    await carol.notified("milestone.dispute_note")
    for party in (carol, fred):
        shown = await party.ok("GET", f"/milestones/{world.milestone}")
        assert (note_of(shown["owner_note"]), note_of(shown["freelancer_note"])) == (
            (carol.id, "The brief listed the docs"),
            (fred.id, "Only the API docs were in scope"),
        )

    [item] = (await world.admin.ok("GET", "/admin/disputes"))["items"]
    assert item["milestone"]["id"] == world.milestone
    assert item["owner_note"] == changed["owner_note"]
    assert item["freelancer_note"] == changed["freelancer_note"]
    assert [n["text"] for n in item["owner_notes"]] == ["The docs are missing"]
    assert item["freelancer_notes"] == []

    # Resolved, the notes stay on the milestone; no more can be written.
    await world.admin.ok(
        "POST", f"/admin/milestones/{world.milestone}/resolve", {"freelancer_amount": 5_000}
    )
    refused = await carol.fails(
        "PUT", world.note_path, {"note": "One more"}, status=409, code="invalid_state"
    )
    assert refused["details"] == {"state": "resolved", "allowed": ["disputed"]}
    resolved = await fred.ok("GET", f"/milestones/{world.milestone}")
    assert resolved["owner_note"]["text"] == "The brief listed the docs"


async def test_only_the_parties_only_while_disputed(world: Dispute) -> None:
    # Not disputed yet: the parties too are refused.
    refused = await world.carol.fails(
        "PUT", world.note_path, {"note": "Early"}, status=409, code="invalid_state"
    )
    assert refused["details"] == {"state": "funded", "allowed": ["disputed"]}

    # A dispute without a note, as before: no body, or an empty object.
    disputed = await world.fred.ok("POST", f"/milestones/{world.milestone}/dispute")
    assert (disputed["owner_note"], disputed["freelancer_note"]) == (None, None)

    for outsider in (world.otto, world.admin):
        await outsider.fails("PUT", world.note_path, {"note": "Mine"}, status=403, code="forbidden")
    await world.otto.fails("GET", f"/milestones/{world.milestone}", status=403, code="forbidden")
    await world.carol.fails(
        "PUT",
        "/milestones/01ARZ3NDEKTSV4RRFFQ69G5FAV/dispute/note",
        {"note": "Mine"},
        status=404,
        code="not_found",
    )
    shown = await world.carol.ok("GET", f"/milestones/{world.milestone}")
    assert (shown["owner_note"], shown["freelancer_note"]) == (None, None)


async def test_a_note_is_1_to_2000_characters_trimmed(world: Dispute) -> None:
    dispute = f"/milestones/{world.milestone}/dispute"
    for body in ({"note": "x" * 2001}, {"note": "   "}, {"note": 5}, {"reason": "x"}):
        problem = await world.fred.fails(
            "POST", dispute, body, status=422, code="validation_failed"
        )
        assert problem["details"]["fields"], problem
    milestone = await world.fred.ok("GET", f"/milestones/{world.milestone}")
    assert milestone["status"] == "funded"  # nothing was disputed

    disputed = await world.fred.ok("POST", dispute, {})
    assert disputed["freelancer_note"] is None
    for body in ({"note": "x" * 2001}, {"note": ""}, {}, None):
        problem = await world.carol.fails(
            "PUT", world.note_path, body, status=422, code="validation_failed"
        )
        if body is not None:
            assert [f["field"] for f in problem["details"]["fields"]] == ["note"], problem
    longest = await world.carol.ok("PUT", world.note_path, {"note": "y" * 2000})
    assert longest["owner_note"]["text"] == "y" * 2000


async def test_the_dispute_with_its_note_is_carried_out_once_per_key(world: Dispute) -> None:
    dispute = f"/milestones/{world.milestone}/dispute"
    key = {"Idempotency-Key": "dispute-docs-1"}
    first = await world.fred.ok("POST", dispute, {"note": "Not in scope"}, headers=key)
    again = await world.fred.ok("POST", dispute, {"note": "Not in scope"}, headers=key)
    assert again == first  # replayed, not refused as already disputed
    await world.fred.fails(
        "POST",
        dispute,
        {"note": "Something else"},
        status=422,
        code="idempotency_mismatch",
        headers=key,
    )
    await world.fred.fails(
        "POST",
        dispute,
        {"note": "Not in scope"},
        status=409,
        code="invalid_state",
        headers={"Idempotency-Key": "dispute-docs-2"},
    )
    shown = await world.carol.ok("GET", f"/milestones/{world.milestone}")
    assert shown["freelancer_note"] == first["freelancer_note"]
