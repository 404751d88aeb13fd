"""Milestones: escrow between a job's owner and its freelancer.

States: ``funded`` -> ``release_requested`` -> ``released``; ``funded`` ->
``cancelled``; ``funded|release_requested`` -> ``disputed`` -> ``resolved``.

Money, in the job's currency (owner = the job's client; fee = the platform's
FeePolicy, hub/marketplace/fees.py, applied to each payment):

* fund: owner ``available`` -A, owner ``held`` +A
* release R (all that is held, or a part): owner ``held`` -R, freelancer
  ``available`` +(R - fee(R)), platform ``fee`` +fee(R)
* cancel: owner ``held`` -H, owner ``available`` +H
* resolve with F for the freelancer: owner ``held`` -H, freelancer ``available``
  +(F - fee(F)), platform ``fee`` +fee(F), owner ``available`` +(H - F)

Every money step is one transaction that also changes the milestone under a
condition on what it was computed from: the status read and the amount held
(a release: that enough is still held when it commits). Of concurrent steps
that exclude each other exactly one commits; the others re-read and get 409
invalid_state or 402 insufficient_funds, so nothing is paid out twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storage.records import Change, MilestoneRecord, MovementRecord, Transition

from ..clock import new_id, now_iso
from ..cursors import decode_cursor, encode_cursor
from ..errors import Forbidden, InsufficientFunds, NotFound, ValidationFailed
from .common import PLATFORM, Market, movement, require_state
from .jobs import JobService
from .models import CreateMilestone, page
from .views import milestone_view

DISPUTABLE = ("funded", "release_requested")


class MilestoneService:
    def __init__(self, market: Market, jobs: JobService) -> None:
        self.market = market
        self.store = market.store
        self.jobs = jobs

    # Reading

    async def find(self, user_id: str, milestone_id: str) -> MilestoneRecord:
        milestone = await self.store.market.get_milestone(milestone_id)
        if milestone is None:
            raise NotFound("No such milestone")
        if user_id not in (
            milestone.owner_id,
            milestone.freelancer_id,
        ) and not await self.market.is_admin(user_id):
            raise Forbidden("Only the job's owner and its freelancer can see this milestone")
        return milestone

    async def get(self, user_id: str, milestone_id: str) -> dict[str, Any]:
        return milestone_view(await self.find(user_id, milestone_id))

    async def list(
        self, user_id: str, job_id: str, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        job = await self.jobs.find(user_id, job_id)
        if user_id not in (job.owner_id, job.freelancer_id) and not await self.market.is_admin(
            user_id
        ):
            raise Forbidden("Only the job's owner and its freelancer can see its milestones")
        rows = await self.store.market.list_milestones(
            job.id, after=decode_cursor(cursor), limit=limit + 1
        )
        items = rows[:limit]
        return page(
            [milestone_view(m) for m in items],
            encode_cursor(items[-1].id) if len(rows) > limit else None,
        )

    # Funding

    async def create(self, user_id: str, job_id: str, body: CreateMilestone) -> dict[str, Any]:
        """The owner funds a milestone of an ``in_progress`` job from ``available``."""
        await self.market.require_role(user_id, "client", "fund milestones")

        async def attempt() -> MilestoneRecord:
            job = await self.jobs.owned(user_id, job_id, "fund its milestones")
            require_state("job", job.status, ("in_progress",), "fund a milestone of")
            assert job.freelancer_id is not None
            now = now_iso()
            milestone = MilestoneRecord(
                id=new_id(),
                job_id=job.id,
                owner_id=user_id,
                freelancer_id=job.freelancer_id,
                amount=body.amount,
                currency=job.currency,
                description=body.description,
                status="funded",
                held=body.amount,
                created_at=now,
                updated_at=now,
            )
            await self.market.apply(
                Transition(
                    inserts=[milestone],
                    # Written, not only read: a concurrent "complete" conflicts with it.
                    changes=[Change("jobs", job.id, {"status": "in_progress"})],
                    movement=movement(
                        "milestone_fund",
                        "milestone",
                        milestone.id,
                        now,
                        (user_id, "available", job.currency, -body.amount, "milestone_fund"),
                        (user_id, "held", job.currency, body.amount, "milestone_fund"),
                    ),
                )
            )
            return milestone

        milestone = await self.market.retrying(attempt)
        view = milestone_view(milestone)
        await self.market.notify(milestone.freelancer_id, "milestone.created", _data(view))
        return view

    # Steps

    async def request_release(self, user_id: str, milestone_id: str) -> dict[str, Any]:
        milestone = await self._step(
            user_id,
            milestone_id,
            ("freelancer",),
            ("funded",),
            "request the release of",
            lambda m, now: ({"status": "release_requested"}, None),
        )
        view = milestone_view(milestone)
        await self.market.notify(milestone.owner_id, "milestone.release_requested", _data(view))
        return view

    async def release(self, user_id: str, milestone_id: str, amount: int | None) -> dict[str, Any]:
        """Release ``amount`` (default: everything still held) to the freelancer,
        less the platform fee; ``released`` once nothing is held.

        Partial releases of one milestone are serialized by the store, not by
        retries: each takes its amount off what is held at the moment it
        commits (a conditional increment), so concurrent ones all succeed
        while money is held, and the rest fail because of what the others took.
        """

        async def attempt() -> tuple[MilestoneRecord, int]:
            milestone = await self._actionable(
                user_id, milestone_id, ("owner",), ("release_requested",), "release"
            )
            [released] = await self.market.apply(self._release(milestone, amount))
            return released, milestone.held if amount is None else amount

        milestone, gross = await self.market.retrying(attempt)
        view = milestone_view(milestone)  # as this release left it
        await self.market.notify(
            milestone.freelancer_id, "milestone.released", {**_data(view), "amount": gross}
        )
        return view

    def _release(self, m: MilestoneRecord, amount: int | None) -> Transition:
        gross = m.held if amount is None else amount
        if gross > m.held:
            raise InsufficientFunds(
                f"Only {m.held} is still held on this milestone",
                {"currency": m.currency, "account": "held", "held": m.held},
            )
        fee = self.market.fee(gross)
        now = now_iso()
        last = gross == m.held  # then the milestone is released: exactly this much must be left
        return Transition(
            changes=[
                Change(
                    "milestones",
                    m.id,
                    {"status": "release_requested", **({"held": gross} if last else {})},
                    {"updated_at": now, **({"status": "released"} if last else {})},
                    add={"held": -gross, "released": gross, "fee": fee},
                    at_least={} if last else {"held": gross + 1},
                )
            ],
            movement=movement(
                "milestone_release",
                "milestone",
                m.id,
                now,
                (m.owner_id, "held", m.currency, -gross, "milestone_release"),
                (m.freelancer_id, "available", m.currency, gross - fee, "milestone_release"),
                (PLATFORM, "fee", m.currency, fee, "platform_fee"),
            ),
        )

    async def cancel(self, user_id: str, milestone_id: str) -> dict[str, Any]:
        """Before a release request, the owner takes the held money back."""

        def cancel(m: MilestoneRecord, now: str) -> tuple[dict[str, Any], MovementRecord]:
            return (
                {"status": "cancelled", "held": 0, "refunded": m.refunded + m.held},
                movement(
                    "milestone_cancel",
                    "milestone",
                    m.id,
                    now,
                    (m.owner_id, "held", m.currency, -m.held, "milestone_cancel"),
                    (m.owner_id, "available", m.currency, m.held, "milestone_cancel"),
                ),
            )

        milestone = await self._step(
            user_id, milestone_id, ("owner",), ("funded",), "cancel", cancel
        )
        view = milestone_view(milestone)
        await self.market.notify(milestone.freelancer_id, "milestone.cancelled", _data(view))
        return view

    async def dispute(self, user_id: str, milestone_id: str) -> dict[str, Any]:
        milestone = await self._step(
            user_id,
            milestone_id,
            ("owner", "freelancer"),
            DISPUTABLE,
            "dispute",
            lambda m, now: ({"status": "disputed"}, None),
        )
        view = milestone_view(milestone)
        other = milestone.freelancer_id if user_id == milestone.owner_id else milestone.owner_id
        await self.market.notify(other, "milestone.disputed", {**_data(view), "by": user_id})
        return view

    async def resolve(
        self, user_id: str, milestone_id: str, freelancer_amount: int
    ) -> dict[str, Any]:
        """An admin splits what is held: ``freelancer_amount`` to the freelancer
        (less the platform fee), the rest back to the owner."""
        await self.market.require_role(user_id, "admin", "resolve disputes")

        def resolve(m: MilestoneRecord, now: str) -> tuple[dict[str, Any], MovementRecord]:
            if freelancer_amount > m.held:
                raise ValidationFailed.field(
                    "freelancer_amount", f"At most the {m.held} held on this milestone"
                )
            fee = self.market.fee(freelancer_amount)
            back = m.held - freelancer_amount
            return (
                {
                    "status": "resolved",
                    "held": 0,
                    "released": m.released + freelancer_amount,
                    "fee": m.fee + fee,
                    "refunded": m.refunded + back,
                },
                movement(
                    "milestone_resolve",
                    "milestone",
                    m.id,
                    now,
                    (m.owner_id, "held", m.currency, -m.held, "milestone_resolve"),
                    (
                        m.freelancer_id,
                        "available",
                        m.currency,
                        freelancer_amount - fee,
                        "milestone_resolve",
                    ),
                    (PLATFORM, "fee", m.currency, fee, "platform_fee"),
                    (m.owner_id, "available", m.currency, back, "milestone_resolve"),
                ),
            )

        milestone = await self._step(
            user_id, milestone_id, ("admin",), ("disputed",), "resolve", resolve
        )
        view = milestone_view(milestone)
        for party in (milestone.owner_id, milestone.freelancer_id):
            await self.market.notify(
                party, "milestone.resolved", {**_data(view), "freelancer_amount": freelancer_amount}
            )
        return view

    async def _actionable(
        self,
        user_id: str,
        milestone_id: str,
        actors: tuple[str, ...],
        allowed: tuple[str, ...],
        action: str,
    ) -> MilestoneRecord:
        """The milestone, if one of ``actors`` may ``action`` it in its state."""
        milestone = await self.store.market.get_milestone(milestone_id)
        if milestone is None:
            raise NotFound("No such milestone")
        roles = {"owner": milestone.owner_id, "freelancer": milestone.freelancer_id}
        if not any(user_id == roles.get(actor) for actor in actors) and not (
            "admin" in actors and await self.market.is_admin(user_id)
        ):
            raise Forbidden(f"Only the {' or the '.join(actors)} can {action} this milestone")
        require_state("milestone", milestone.status, allowed, action)
        return milestone

    async def _step(
        self,
        user_id: str,
        milestone_id: str,
        actors: tuple[str, ...],
        allowed: tuple[str, ...],
        action: str,
        build: Callable[[MilestoneRecord, str], tuple[dict[str, Any], MovementRecord | None]],
    ) -> MilestoneRecord:
        """Move the milestone from one of ``allowed`` with what ``build`` returns
        (changes and a movement), conditional on the status read and, when
        money moves, on the amount held that the movement was computed from."""

        async def attempt() -> MilestoneRecord:
            milestone = await self._actionable(user_id, milestone_id, actors, allowed, action)
            now = now_iso()
            changes, money = build(milestone, now)
            expect: dict[str, Any] = {"status": milestone.status}
            if money is not None:
                expect["held"] = milestone.held
            [updated] = await self.market.apply(
                Transition(
                    changes=[
                        Change("milestones", milestone.id, expect, {**changes, "updated_at": now})
                    ],
                    movement=money if money is not None and money.postings else None,
                )
            )
            return updated

        return await self.market.retrying(attempt)


def _data(view: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": view["job_id"], "milestone_id": view["id"], "milestone": view}
