"""The state machines of jobs, bids and milestones, written once.

Each machine is a table of steps: an action, the states it may start from,
who may take it and the state it leads to, with what moves along with it (a
bid's job, the other bids of a job). The services run every step from these
tables (``Machine.step``, then ``forbidden`` and ``require``), and the state
diagrams and tables of docs/marketplace.md are generated from them
(hub/marketplace/statedoc.py); tests/test_marketplace_states.py fails when
the page and the tables disagree.

A step is refused with 403 ``forbidden`` when the caller is none of its parties
(``by``), then with 409 ``invalid_state`` from any state but its ``source``:
``details: {state, allowed}``, ``allowed`` in the order written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import get_args

from ..errors import Forbidden, InvalidState
from .models import BidStatus, JobStatus, MilestoneStatus


def require_state(kind: str, state: str, allowed: tuple[str, ...], verb: str) -> None:
    """409 invalid_state unless ``state`` is one of ``allowed``."""
    if state not in allowed:
        raise InvalidState(
            f"Cannot {verb} a {kind} that is {state!r} "
            f"(only from {', '.join(repr(s) for s in allowed)})",
            {"state": state, "allowed": list(allowed)},
        )


@dataclass(frozen=True, slots=True)
class JobStep:
    """How a bid's step moves its job, in the same transaction: from one of
    ``source`` to ``target`` (None: the job stays, but must be in ``source``)."""

    source: tuple[str, ...]
    target: str | None = None

    def require(self, state: str, verb: str) -> None:
        require_state("job", state, self.source, f"{verb} a bid of")


@dataclass(frozen=True, slots=True)
class Step:
    """``action`` by one of ``by`` from one of ``source`` to ``target`` (None:
    the state stays, as with an edit)."""

    action: str
    source: tuple[str, ...]
    target: str | None
    by: tuple[str, ...]
    verb: str = ""  # how messages name the action, when not the action itself
    event: str = ""  # the notification it sends (whom to: the service's part)
    job: JobStep | None = None  # a bid's job moves along
    rejects: tuple[str, ...] = ()  # the job's (other) bids in these states become rejected
    note: str = ""  # for the documentation

    @property
    def says(self) -> str:
        return self.verb or self.action


@dataclass(frozen=True)
class Machine:
    kind: str
    states: tuple[str, ...]
    parties: Mapping[str, str]  # who may act, and how a 403 names them
    subject: str  # how a 403 names the resource: "Only the owner can cancel <subject>"
    steps: tuple[Step, ...]
    # What steps on other resources need of this one: their verb -> the states.
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for step in self.steps:
            named = {*step.source, *([step.target] if step.target else [])}
            assert named <= set(self.states), (self.kind, step.action, named)
            assert set(step.by) <= set(self.parties), (self.kind, step.action, step.by)
        assert len({s.action for s in self.steps}) == len(self.steps), self.kind

    def step(self, action: str) -> Step:
        for step in self.steps:
            if step.action == action:
                return step
        raise KeyError(f"{self.kind} has no step {action!r}")

    def forbidden(self, step: Step) -> Forbidden:
        who = " or the ".join(self.parties[actor] for actor in step.by)
        return Forbidden(f"Only the {who} can {step.says} {self.subject}")

    def require(self, step: Step, state: str) -> None:
        """409 invalid_state unless ``step`` may start from ``state``."""
        require_state(self.kind, state, step.source, step.says)

    def need(self, verb: str, state: str) -> None:
        """409 invalid_state unless a step of another resource, ``verb``, may
        use this one in ``state`` (a job must be ``open`` to "bid on")."""
        require_state(self.kind, state, self.needs[verb], verb)

    def table(self) -> dict[tuple[str, str, str], str]:
        """(state, action, actor) -> the next state, for every step allowed."""
        return {
            (state, step.action, actor): step.target or state
            for step in self.steps
            for state in step.source
            for actor in step.by
        }


OWNER, BIDDER, FREELANCER, ADMIN = "owner", "bidder", "freelancer", "admin"

OPEN_BIDS = ("pending", "shortlisted")
# One active bid per freelancer and job: a bid leaving these states frees its
# ``active_key``, so the freelancer may bid again.
ACTIVE_BIDS = ("pending", "shortlisted", "awarded", "accepted")
UNSETTLED_MILESTONES = ("funded", "release_requested", "disputed")

JOB = Machine(
    kind="job",
    states=(*get_args(JobStatus), "deleted"),
    parties={OWNER: "job's owner"},
    subject="it",
    steps=(
        Step("edit", ("draft", "open"), None, (OWNER,)),
        Step("publish", ("draft",), "open", (OWNER,)),
        Step("delete", ("draft",), "deleted", (OWNER,)),
        Step(
            "cancel",
            ("draft", "open", "awarded"),
            "cancelled",
            (OWNER,),
            event="job.cancelled",
            rejects=(*OPEN_BIDS, "awarded"),
        ),
        Step(
            "complete",
            ("in_progress",),
            "completed",
            (OWNER,),
            event="job.completed",
            note="once no milestone is " + ", ".join(f"`{s}`" for s in UNSETTLED_MILESTONES),
        ),
    ),
    needs={"bid on": ("open",), "fund a milestone of": ("in_progress",), "review": ("completed",)},
)

BID = Machine(
    kind="bid",
    states=get_args(BidStatus),
    parties={OWNER: "job owner", BIDDER: "bidder"},
    subject="this bid",
    steps=(
        Step("change", ("pending",), None, (BIDDER,), event="bid.updated"),
        Step("withdraw", OPEN_BIDS, "withdrawn", (BIDDER,), event="bid.withdrawn"),
        Step(
            "shortlist",
            ("pending",),
            "shortlisted",
            (OWNER,),
            event="bid.shortlisted",
            job=JobStep(("open",)),
        ),
        Step("reject", OPEN_BIDS, "rejected", (OWNER,), event="bid.rejected"),
        Step(
            "award",
            OPEN_BIDS,
            "awarded",
            (OWNER,),
            event="bid.awarded",
            job=JobStep(("open",), "awarded"),
        ),
        Step(
            "accept",
            ("awarded",),
            "accepted",
            (BIDDER,),
            event="bid.accepted",
            job=JobStep(("awarded",), "in_progress"),
            rejects=OPEN_BIDS,
        ),
        Step(
            "decline",
            ("awarded",),
            "declined",
            (BIDDER,),
            event="bid.declined",
            job=JobStep(("awarded",), "open"),
        ),
    ),
    needs={"open the conversation of": ("accepted",)},
)

MILESTONE = Machine(
    kind="milestone",
    states=get_args(MilestoneStatus),
    parties={OWNER: "owner", FREELANCER: "freelancer", ADMIN: "admin"},
    subject="this milestone",
    steps=(
        Step(
            "request-release",
            ("funded",),
            "release_requested",
            (FREELANCER,),
            verb="request the release of",
            event="milestone.release_requested",
        ),
        Step(
            "release",
            ("release_requested",),
            "released",
            (OWNER,),
            event="milestone.released",
            note="a partial release leaves it `release_requested` while something is held",
        ),
        Step("cancel", ("funded",), "cancelled", (OWNER,), event="milestone.cancelled"),
        Step(
            "dispute",
            ("funded", "release_requested"),
            "disputed",
            (OWNER, FREELANCER),
            event="milestone.disputed",
        ),
        Step(
            "note",
            ("disputed",),
            None,
            (OWNER, FREELANCER),
            verb="write a dispute note on",
            event="milestone.dispute_note",
            note="`PUT /milestones/{id}/dispute/note`: the caller's side's note, the latest wins",
        ),
        Step("resolve", ("disputed",), "resolved", (ADMIN,), event="milestone.resolved"),
    ),
)

MACHINES = (JOB, BID, MILESTONE)
