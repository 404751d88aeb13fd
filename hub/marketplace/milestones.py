"""Milestones: escrow between a job's owner and its freelancer.

The steps (request-release, release, cancel, dispute, resolve: who may take
which from which state) are the table ``states.MILESTONE``.

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
from ..conversations.system_messages import money
from ..cursors import decode_cursor
from ..errors import Forbidden, InsufficientFunds, NotFound, ValidationFailed
from ..moderation.audit import AuditLog
from .common import PLATFORM, Market, cut, movement, quoted, transfer
from .jobs import JobService
from .models import CreateMilestone, Milestone, MilestonePage
from .states import FREELANCER, JOB, MILESTONE, OWNER, Step
from .views import data, milestone_view

# A step's changes to the milestone and its movement, from the milestone as read.
Build = Callable[[MilestoneRecord, str], tuple[dict[str, Any], MovementRecord | None]]


class MilestoneService:
    def __init__(self, market: Market, jobs: JobService) -> None:
        self.market = market
        self.store = market.store
        self.jobs = jobs
        # The moderation audit log (issue 20): every dispute resolution is in it.
        self.audit: AuditLog | None = None

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

    async def get(self, user_id: str, milestone_id: str) -> Milestone:
        return milestone_view(await self.find(user_id, milestone_id))

    async def list(
        self, user_id: str, job_id: str, cursor: str | None, limit: int
    ) -> MilestonePage:
        job = await self.jobs.find(user_id, job_id)
        if user_id not in (job.owner_id, job.freelancer_id) and not await self.market.is_admin(
            user_id
        ):
            raise Forbidden("Only the job's owner and its freelancer can see its milestones")
        rows = await self.store.market.list_milestones(
            job.id, after=decode_cursor(cursor), limit=limit + 1
        )
        items, after = cut(rows, limit)
        return MilestonePage(items=[milestone_view(m) for m in items], next_cursor=after)

    # Funding

    async def create(self, user_id: str, job_id: str, body: CreateMilestone) -> Milestone:
        """The owner funds a milestone of an ``in_progress`` job from ``available``."""
        await self.market.require_role(user_id, "client", "fund milestones")

        async def attempt() -> MilestoneRecord:
            job = await self.jobs.owned(user_id, job_id, "fund its milestones")
            JOB.need("fund a milestone of", job.status)
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
                    movement=transfer(
                        "milestone_fund",
                        "milestone",
                        milestone.id,
                        now,
                        job.currency,
                        body.amount,
                        (user_id, "available"),
                        (user_id, "held"),
                    ),
                )
            )
            return milestone

        milestone = await self.market.retrying(attempt)
        await self._card(
            milestone, user_id, "funded", "{actor} funded milestone {title}", body.amount
        )
        return await self._tell(milestone, "milestone.created", milestone.freelancer_id)

    # Steps

    async def request_release(self, user_id: str, milestone_id: str) -> Milestone:
        milestone, step = await self._step(user_id, milestone_id, "request-release")
        await self._card(
            milestone,
            user_id,
            "release_requested",
            "{actor} requested the release of milestone {title}",
            milestone.held,
        )
        return await self._tell(milestone, step.event, milestone.owner_id)

    async def release(self, user_id: str, milestone_id: str, amount: int | None) -> Milestone:
        """Release ``amount`` (default: everything still held) to the freelancer,
        less the platform fee; ``released`` once nothing is held.

        Partial releases of one milestone are serialized by the store, not by
        retries: each takes its amount off what is held at the moment it
        commits (a conditional increment), so concurrent ones all succeed
        while money is held, and the rest fail because of what the others took.
        """

        step = MILESTONE.step("release")

        async def attempt() -> tuple[MilestoneRecord, int]:
            milestone = await self._actionable(user_id, milestone_id, step)
            released = await self._apply(self._release(milestone, amount, step))
            return released, milestone.held if amount is None else amount

        milestone, gross = await self.market.retrying(attempt)  # as this release left it
        await self._card(
            milestone,
            user_id,
            "released",
            "{actor} released {amount} of milestone {title}",
            gross,
            # Partial releases are several events: what was released by the end of each names it.
            key=f"card:milestone:{milestone.id}:released:{milestone.released}",
        )
        return await self._tell(milestone, step.event, milestone.freelancer_id, amount=gross)

    def _release(self, m: MilestoneRecord, amount: int | None, step: Step) -> Transition:
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
                    {"status": m.status, **({"held": gross} if last else {})},
                    {"updated_at": now, **({"status": step.target} if last else {})},
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

    async def cancel(self, user_id: str, milestone_id: str) -> Milestone:
        """Before a release request, the owner takes the held money back."""

        def cancel(m: MilestoneRecord, now: str) -> tuple[dict[str, Any], MovementRecord]:
            return (
                {"held": 0, "refunded": m.refunded + m.held},
                transfer(
                    "milestone_cancel",
                    "milestone",
                    m.id,
                    now,
                    m.currency,
                    m.held,
                    (m.owner_id, "held"),
                    (m.owner_id, "available"),
                ),
            )

        milestone, step = await self._step(user_id, milestone_id, "cancel", cancel)
        await self._card(
            milestone,
            user_id,
            "cancelled",
            "{actor} cancelled milestone {title}; {amount} went back",
            milestone.refunded,
        )
        return await self._tell(milestone, step.event, milestone.freelancer_id)

    async def dispute(self, user_id: str, milestone_id: str, note: str | None = None) -> Milestone:
        """Either side disputes; ``note`` (already trimmed, 1..2000 characters)
        becomes its side's dispute note in the same transaction."""

        def noted(m: MilestoneRecord, now: str) -> tuple[dict[str, Any], None]:
            return (_note(m, user_id, note, now) if note is not None else {}), None

        milestone, step = await self._step(user_id, milestone_id, "dispute", noted)
        await self._card(
            milestone, user_id, "disputed", "{actor} disputed milestone {title}", milestone.held
        )
        other = milestone.freelancer_id if user_id == milestone.owner_id else milestone.owner_id
        return await self._tell(milestone, step.event, other, by=user_id)

    async def write_note(self, user_id: str, milestone_id: str, note: str) -> Milestone:
        """The owner or the freelancer writes their side's note on a disputed
        milestone (one per side: it replaces the side's earlier note), and the
        other side is told. The state stays; the write is conditional on it,
        so a note never lands on a milestone resolved meanwhile."""
        step = MILESTONE.step("note")

        async def attempt() -> MilestoneRecord:
            milestone = await self._actionable(user_id, milestone_id, step)
            now = now_iso()
            return await self._apply(
                Transition(
                    changes=[
                        Change(
                            "milestones",
                            milestone.id,
                            {"status": milestone.status},
                            {**_note(milestone, user_id, note, now), "updated_at": now},
                        )
                    ]
                )
            )

        milestone = await self.market.retrying(attempt)
        other = milestone.freelancer_id if user_id == milestone.owner_id else milestone.owner_id
        # A notification only: no webhook event (a note changes no state).
        return await self._tell(milestone, step.event, other, publish=False, by=user_id)

    async def resolve(self, user_id: str, milestone_id: str, freelancer_amount: int) -> Milestone:
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

        milestone, step = await self._step(user_id, milestone_id, "resolve", resolve)
        if self.audit is not None:
            await self.audit.record(
                user_id,
                "dispute.resolve",
                "milestone",
                milestone.id,
                freelancer_amount=freelancer_amount,
                refunded=milestone.refunded,
            )
        freelancer, owner = await self.market.system_messages.names(
            milestone.freelancer_id, milestone.owner_id
        )
        await self._card(
            milestone,
            user_id,
            "resolved",
            "The dispute on milestone {title} was resolved: {amount} to {freelancer},"
            " {back} back to {owner}",
            freelancer_amount,
            freelancer=freelancer,
            owner=owner,
            back=money(milestone.refunded, milestone.currency),
        )
        for party in (milestone.owner_id, milestone.freelancer_id):
            await self._tell(
                milestone,
                step.event,
                party,
                publish=party == milestone.owner_id,  # one webhook event for both
                freelancer_amount=freelancer_amount,
            )
        return milestone_view(milestone)

    async def _card(
        self,
        milestone: MilestoneRecord,
        actor_id: str,
        state: str,
        text: str,
        amount: int,
        key: str | None = None,
        **words: str,
    ) -> None:
        """A card in the conversation of the bid the job was awarded to;
        ``text`` names the ``{actor}``, ``{title}``, ``{amount}`` and ``words``."""
        (actor,) = await self.market.system_messages.names(actor_id)
        title = milestone.description[:200]
        await self.market.card(
            await self.market.hired_bid(milestone.job_id),
            actor_id,
            ("milestone", milestone.id),
            state,
            text.format(
                actor=actor,
                title=quoted(title),
                amount=money(amount, milestone.currency),
                **words,
            ),
            key=key,
            amount=amount,
            currency=milestone.currency,
            title=title,
        )

    # One step of the state machine

    async def _actionable(self, user_id: str, milestone_id: str, step: Step) -> MilestoneRecord:
        """The milestone, if the caller may take ``step`` in its state."""
        milestone = await self.store.market.get_milestone(milestone_id)
        if milestone is None:
            raise NotFound("No such milestone")
        parties = {OWNER: milestone.owner_id, FREELANCER: milestone.freelancer_id}
        await self.market.authorize(MILESTONE, step, user_id, parties)
        MILESTONE.require(step, milestone.status)
        return milestone

    async def _step(
        self, user_id: str, milestone_id: str, action: str, build: Build | None = None
    ) -> tuple[MilestoneRecord, Step]:
        """Take the step ``action`` of ``states.MILESTONE``: the milestone moves
        to the step's state with what ``build`` returns (changes and a
        movement), conditional on the status read and, when money moves, on
        the amount held that the movement was computed from."""
        step = MILESTONE.step(action)

        async def attempt() -> MilestoneRecord:
            milestone = await self._actionable(user_id, milestone_id, step)
            now = now_iso()
            changes, money = build(milestone, now) if build is not None else ({}, None)
            expect: dict[str, Any] = {"status": milestone.status}
            if money is not None:
                expect["held"] = milestone.held
            return await self._apply(
                Transition(
                    changes=[
                        Change(
                            "milestones",
                            milestone.id,
                            expect,
                            {"status": step.target, **changes, "updated_at": now},
                        )
                    ],
                    movement=money if money is not None and money.postings else None,
                )
            )

        return await self.market.retrying(attempt), step

    async def _apply(self, transition: Transition) -> MilestoneRecord:
        """Apply a transition that changes one milestone: it as the transition left it."""
        [changed] = await self.market.apply(transition)
        assert isinstance(changed, MilestoneRecord)
        return changed

    async def _tell(
        self,
        milestone: MilestoneRecord,
        event: str,
        to: str,
        *,
        publish: bool = True,
        **extra: Any,
    ) -> Milestone:
        """Notify ``to`` of ``event`` (and, with ``publish``, the webhooks);
        the milestone's view."""
        shown = milestone_view(milestone)
        told = {
            "job_id": milestone.job_id,
            "milestone_id": milestone.id,
            "milestone": data(shown),
            **extra,
        }
        await self.market.notify(to, event, told)
        if publish:
            self.market.publish(event, told)
        return shown


def _note(m: MilestoneRecord, user_id: str, text: str, now: str) -> dict[str, Any]:
    """The fields of ``user_id``'s side's dispute note on ``m`` (a party of it)."""
    side = "owner" if user_id == m.owner_id else "freelancer"
    return {f"{side}_note": text, f"{side}_note_at": now}
