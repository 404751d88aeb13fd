"""``POST /reports`` (issue 20): what a user may report, once per target."""

from __future__ import annotations

from typing import Any

from market_client import post_job
from users import User, Users


async def direct(a: User, b: User) -> str:
    conversation = await a.ok(
        "POST", "/conversations", {"participant_ids": [b.id], "type": "direct"}, status=201
    )
    return str(conversation["id"])


def target(kind: str, target_id: str, reason: str = "spam") -> dict[str, Any]:
    return {"target": {"type": kind, "id": target_id}, "reason": reason}


async def test_a_report_of_each_kind_is_201_and_names_its_subject(users: Users) -> None:
    ann, bob = await users("ann", "bob")
    conversation = await direct(ann, bob)
    message = await bob.send(conversation, "pay me outside the platform")
    job = await post_job(bob)

    by_message = await ann.ok(
        "POST",
        "/reports",
        {**target("message", message["id"], "off_platform"), "note": "!"},
        status=201,
    )
    assert by_message["target"] == {"type": "message", "id": message["id"]}
    assert by_message["subject_id"] == bob.id
    assert by_message["conversation_id"] == conversation
    assert (by_message["status"], by_message["reason"], by_message["note"]) == (
        "open",
        "off_platform",
        "!",
    )
    assert (await ann.ok("POST", "/reports", target("user", bob.id), status=201))[
        "subject_id"
    ] == bob.id
    assert (await ann.ok("POST", "/reports", target("job", job["id"]), status=201))[
        "subject_id"
    ] == bob.id
    assert (await ann.ok("POST", "/reports", target("conversation", conversation), status=201))[
        "conversation_id"
    ] == conversation


async def test_one_report_per_reporter_and_target(users: Users) -> None:
    ann, bob, cy = await users("ann", "bob", "cy")
    await ann.ok("POST", "/reports", target("user", bob.id), status=201)
    await ann.fails("POST", "/reports", target("user", bob.id, "scam"), status=409, code="conflict")
    await cy.ok("POST", "/reports", target("user", bob.id), status=201)  # someone else may


async def test_what_the_reporter_cannot_see_is_404(users: Users) -> None:
    ann, bob, cy = await users("ann", "bob", "cy")
    conversation = await direct(bob, cy)
    message = await bob.send(conversation, "between us")
    draft = await post_job(bob, publish=False)
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    for body in (
        target("message", message["id"]),
        target("conversation", conversation),
        target("job", draft["id"]),
        target("user", missing),
        target("user", ann.id),  # oneself
        target("message", missing),
    ):
        await ann.fails("POST", "/reports", body, status=404, code="not_found")


async def test_a_bad_reason_or_kind_is_422(users: Users) -> None:
    ann, bob = await users("ann", "bob")
    await ann.fails(
        "POST", "/reports", target("user", bob.id, "rude"), status=422, code="validation_failed"
    )
    await ann.fails(
        "POST", "/reports", target("wallet", bob.id), status=422, code="validation_failed"
    )
