"""The state machines of jobs, bids and milestones (hub/marketplace/states.py):
docs/marketplace.md shows exactly the tables, the tables say what the contract
says (the 409 ``allowed`` lists and the 403 messages the services gave before
they ran from the tables), and 409 details come from the tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import InvalidState
from hub.marketplace.statedoc import BEGIN, END, render
from hub.marketplace.states import BID, JOB, MACHINES, MILESTONE, Machine, Step

DOC = Path(__file__).resolve().parent.parent / "docs" / "marketplace.md"

# (kind, action) -> (from, to, by): None for "to" keeps the state.
CONTRACT: dict[tuple[str, str], tuple[tuple[str, ...], str | None, tuple[str, ...]]] = {
    ("job", "edit"): (("draft", "open"), None, ("owner",)),
    ("job", "publish"): (("draft",), "open", ("owner",)),
    ("job", "delete"): (("draft",), "deleted", ("owner",)),
    ("job", "cancel"): (("draft", "open", "awarded"), "cancelled", ("owner",)),
    ("job", "complete"): (("in_progress",), "completed", ("owner",)),
    ("bid", "change"): (("pending",), None, ("bidder",)),
    ("bid", "withdraw"): (("pending", "shortlisted"), "withdrawn", ("bidder",)),
    ("bid", "shortlist"): (("pending",), "shortlisted", ("owner",)),
    ("bid", "reject"): (("pending", "shortlisted"), "rejected", ("owner",)),
    ("bid", "award"): (("pending", "shortlisted"), "awarded", ("owner",)),
    ("bid", "accept"): (("awarded",), "accepted", ("bidder",)),
    ("bid", "decline"): (("awarded",), "declined", ("bidder",)),
    ("milestone", "request-release"): (("funded",), "release_requested", ("freelancer",)),
    ("milestone", "release"): (("release_requested",), "released", ("owner",)),
    ("milestone", "cancel"): (("funded",), "cancelled", ("owner",)),
    ("milestone", "dispute"): (
        ("funded", "release_requested"),
        "disputed",
        ("owner", "freelancer"),
    ),
    ("milestone", "resolve"): (("disputed",), "resolved", ("admin",)),
    # Not in the contract, which is silent on how a side gives its dispute note:
    # PUT /milestones/{id}/dispute/note, either side, while disputed.
    ("milestone", "note"): (("disputed",), None, ("owner", "freelancer")),
}

JOB_ACTIONS = ("edit", "publish", "delete", "cancel", "complete")
FORBIDDEN = {
    **{("job", a): f"Only the job's owner can {a} it" for a in JOB_ACTIONS},
    **{("bid", a): f"Only the bidder can {a} this bid" for a in ("change", "withdraw")},
    **{("bid", a): f"Only the bidder can {a} this bid" for a in ("accept", "decline")},
    **{
        ("bid", a): f"Only the job owner can {a} this bid" for a in ("shortlist", "reject", "award")
    },
    ("milestone", "request-release"): (
        "Only the freelancer can request the release of this milestone"
    ),
    ("milestone", "release"): "Only the owner can release this milestone",
    ("milestone", "cancel"): "Only the owner can cancel this milestone",
    ("milestone", "dispute"): "Only the owner or the freelancer can dispute this milestone",
    ("milestone", "resolve"): "Only the admin can resolve this milestone",
    ("milestone", "note"): (
        "Only the owner or the freelancer can write a dispute note on this milestone"
    ),
}


def steps() -> list[tuple[Machine, Step]]:
    return [(machine, step) for machine in MACHINES for step in machine.steps]


def test_the_page_shows_the_tables() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, f"{DOC} lost its generated block"
    shown = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert shown == render(), (
        "docs/marketplace.md and hub/marketplace/states.py disagree: "
        "run `python -m hub.marketplace.statedoc` (and read the diff)"
    )


def test_the_tables_say_what_the_contract_says() -> None:
    assert {
        (machine.kind, step.action): (step.source, step.target, step.by)
        for machine, step in steps()
    } == CONTRACT


@pytest.mark.parametrize(("machine", "step"), steps(), ids=lambda v: getattr(v, "action", ""))
def test_a_step_from_another_state_is_invalid_state(machine: Machine, step: Step) -> None:
    for state in machine.states:
        if state in step.source:
            machine.require(step, state)
            continue
        with pytest.raises(InvalidState) as refused:
            machine.require(step, state)
        assert refused.value.details == {"state": state, "allowed": list(step.source)}


def test_forbidden_says_who_may() -> None:
    said = {(m.kind, s.action): m.forbidden(s).message for m, s in steps()}
    assert said == FORBIDDEN


def test_the_expanded_table() -> None:
    """(state, action, actor) -> the next state, for every step allowed."""
    assert BID.table()[("shortlisted", "award", "owner")] == "awarded"
    assert ("awarded", "award", "owner") not in BID.table()
    assert ("pending", "award", "bidder") not in BID.table()
    assert JOB.table()[("open", "edit", "owner")] == "open"  # an edit keeps the state
    assert ("funded", "release", "owner") not in MILESTONE.table()
    assert MILESTONE.table()[("release_requested", "dispute", "freelancer")] == "disputed"
    assert MILESTONE.table()[("disputed", "note", "owner")] == "disputed"  # a note keeps it
    assert len(MILESTONE.table()) == 1 + 1 + 1 + 2 * 2 + 2 + 1


def test_bid_steps_move_the_job_as_the_contract_says() -> None:
    moves = {s.action: (s.job.source, s.job.target) for s in BID.steps if s.job is not None}
    assert moves == {
        "shortlist": (("open",), None),
        "award": (("open",), "awarded"),
        "accept": (("awarded",), "in_progress"),
        "decline": (("awarded",), "open"),
    }
    assert BID.step("accept").rejects == ("pending", "shortlisted")
    assert JOB.step("cancel").rejects == ("pending", "shortlisted", "awarded")


def test_a_table_naming_an_unknown_state_or_party_is_refused() -> None:
    with pytest.raises(AssertionError):
        Machine(
            "thing", ("a", "b"), {"owner": "owner"}, "it", (Step("go", ("a",), "c", ("owner",)),)
        )
    with pytest.raises(AssertionError):
        Machine("thing", ("a", "b"), {"owner": "owner"}, "it", (Step("go", ("a",), "b", ("x",)),))
