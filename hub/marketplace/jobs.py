"""Jobs and reviews: the job lifecycle and who may do what to a job.

The job's own steps (edit, publish, delete, cancel, complete) are the table
``states.JOB``; award, accept and decline, which move a job between ``open``,
``awarded`` and ``in_progress``, are steps of its bids (``bids``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from storage.errors import DuplicateError
from storage.records import BidRecord, Change, JobQuery, JobRecord, ReviewRecord, Transition

from ..clock import new_id, now_iso
from ..cursors import decode_cursor
from ..errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from .common import Market, cut, quoted
from .models import (
    CreateJob,
    CreateReview,
    Job,
    JobListQuery,
    JobPage,
    Review,
    ReviewPage,
    UpdateJob,
)
from .states import JOB, OWNER, UNSETTLED_MILESTONES
from .views import data, view

# What a step writes besides the status, from the job as read.
Prepare = Callable[[JobRecord], Awaitable[dict[str, Any]]]


class JobService:
    def __init__(self, market: Market) -> None:
        self.market = market
        self.store = market.store

    # Reading

    async def find(self, user_id: str, job_id: str) -> JobRecord:
        """The job, if the caller may see it: drafts are their owner's (and
        admins'); deleted jobs nobody's."""
        job = await self.store.market.get_job(job_id)
        if (
            job is None
            or job.status == "deleted"
            or (
                job.status == "draft"
                and job.owner_id != user_id
                and not await self.market.is_admin(user_id)
            )
        ):
            raise NotFound("No such job")
        return job

    async def owned(self, user_id: str, job_id: str, action: str) -> JobRecord:
        job = await self.find(user_id, job_id)
        if job.owner_id != user_id:
            raise Forbidden(f"Only the job's owner can {action}")
        return job

    async def get(self, user_id: str, job_id: str) -> Job:
        return view(Job, await self.find(user_id, job_id))

    async def search(self, user_id: str, query: JobListQuery) -> JobPage:
        skills = [s.strip() for s in (query.skills or "").split(",") if s.strip()]
        if len(skills) > 50:
            raise ValidationFailed.field("skills", "At most 50 skills")
        if (
            query.budget_min is not None
            and query.budget_max is not None
            and query.budget_min > query.budget_max
        ):
            raise ValidationFailed.field("budget_max", "budget_max is below budget_min")
        if query.bidder_id is not None and query.bidder_id != user_id:
            raise Forbidden("Only your own bids can be listed (bidder_id is your own id)")
        rows = await self.store.market.search_jobs(
            JobQuery(
                viewer_id=user_id,
                q=(query.q or "").strip() or None,
                status=query.status,
                skills=skills,
                budget_min=query.budget_min,
                budget_max=query.budget_max,
                owner_id=query.owner_id,
                bidder_id=query.bidder_id,
            ),
            before=decode_cursor(query.cursor),
            limit=query.limit + 1,
        )
        items, after = cut(rows, query.limit)
        return JobPage(items=[view(Job, j) for j in items], next_cursor=after)

    # Changing

    async def create(self, user_id: str, body: CreateJob) -> Job:
        self.market.require_verified_email(
            await self.market.require_role(user_id, "client", "post jobs")
        )
        self.market.check_currency(body.currency)
        _check_budget(body.budget_min, body.budget_max)
        now = now_iso()
        job = JobRecord(
            id=new_id(),
            owner_id=user_id,
            title=body.title,
            description=body.description,
            skills=list(dict.fromkeys(body.skills)),
            budget_min=body.budget_min,
            budget_max=body.budget_max,
            currency=body.currency,
            type=body.type,
            status="open" if body.publish else "draft",
            created_at=now,
            updated_at=now,
            published_at=now if body.publish else None,
        )
        await self.market.apply(Transition(inserts=[job]))
        return view(Job, job)

    async def update(self, user_id: str, job_id: str, body: UpdateJob) -> Job:
        changes = body.model_dump(exclude_unset=True)

        async def edit(job: JobRecord) -> dict[str, Any]:
            if "currency" in changes:
                self.market.check_currency(changes["currency"])
                if changes["currency"] != job.currency and job.status != "draft":
                    raise InvalidState(
                        "The currency of a published job cannot change",
                        {"state": job.status, "allowed": ["draft"]},
                    )
            _check_budget(
                changes.get("budget_min", job.budget_min), changes.get("budget_max", job.budget_max)
            )
            if "skills" in changes:
                changes["skills"] = list(dict.fromkeys(changes["skills"]))
            return changes

        job, _ = await self._step(user_id, job_id, "edit", edit)
        return view(Job, job)

    async def delete(self, user_id: str, job_id: str) -> None:
        await self._step(user_id, job_id, "delete")

    async def publish(self, user_id: str, job_id: str) -> Job:
        if self.market.verified_email is not None:  # a draft written before the rule was on
            await self.market.verified_email.require(user_id)

        async def published(job: JobRecord) -> dict[str, Any]:
            return {"published_at": now_iso()}

        job, _ = await self._step(user_id, job_id, "publish", published)
        return view(Job, job)

    async def cancel(self, user_id: str, job_id: str) -> Job:
        """Cancelling rejects every bid still open or awarded; their bidders are told."""
        job, rejected = await self._step(user_id, job_id, "cancel")
        cancelled = view(Job, job)
        for bid in rejected:
            await self.market.notify(
                bid.freelancer_id,
                JOB.step("cancel").event,
                {"job_id": job_id, "bid_id": bid.id, "job": data(cancelled)},
            )
        self.market.publish(JOB.step("cancel").event, {"job_id": job_id, "job": data(cancelled)})
        return cancelled

    async def complete(self, user_id: str, job_id: str) -> Job:
        """``in_progress`` -> ``completed`` once every milestone is released,
        cancelled or resolved (checked again inside the transaction)."""

        async def settled(job: JobRecord) -> dict[str, Any]:
            milestones = await self.store.market.list_milestones(job.id, limit=10_000)
            unsettled = [m.id for m in milestones if m.status in UNSETTLED_MILESTONES]
            if unsettled:
                raise InvalidState(
                    "Every milestone must be released, cancelled or resolved first",
                    {"milestone_ids": unsettled},
                )
            return {}

        job, _ = await self._step(
            user_id,
            job_id,
            "complete",
            settled,
            absent=[("milestones", {"job_id": job_id, "status": list(UNSETTLED_MILESTONES)})],
        )
        completed = view(Job, job)
        (owner,) = await self.market.system_messages.names(user_id)
        await self.market.card(
            await self.market.hired_bid(job.id),
            user_id,
            ("job", job.id),
            "completed",
            f"{owner} marked {quoted(job.title)} completed",
            title=job.title,
        )
        if job.freelancer_id:
            await self.market.notify(
                job.freelancer_id,
                JOB.step("complete").event,
                {"job_id": job.id, "job": data(completed)},
            )
        self.market.publish(JOB.step("complete").event, {"job_id": job.id, "job": data(completed)})
        return completed

    async def _step(
        self,
        user_id: str,
        job_id: str,
        action: str,
        prepare: Prepare | None = None,
        absent: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> tuple[JobRecord, list[BidRecord]]:
        """The owner takes the step ``action`` of ``states.JOB``: one conditional
        change of the job to the step's state, with the fields ``prepare`` adds
        (nothing is written when there are none), the rejection of the bids the
        step rejects, and the ``absent`` checks. A lost race re-reads and
        re-checks. The job as it now is, and the bids rejected."""
        step = JOB.step(action)
        rejected: list[BidRecord] = []

        async def attempt() -> JobRecord:
            job = await self.find(user_id, job_id)
            await self.market.authorize(JOB, step, user_id, {OWNER: job.owner_id})
            JOB.require(step, job.status)
            fields = {
                **({"status": step.target} if step.target else {}),
                **(await prepare(job) if prepare is not None else {}),
            }
            if not fields:
                return job
            transition = Transition(
                changes=[
                    Change(
                        "jobs",
                        job.id,
                        {"status": job.status, "version": job.version},
                        {**fields, "updated_at": now_iso()},
                    )
                ],
                absent=absent or [],
            )
            if step.rejects:
                rejected[:], reject = await self.market.rejecting(job.id, step.rejects)
                transition.bulk.append(reject)
            await self.market.apply(transition)
            updated = await self.store.market.get_job(job.id)
            assert updated is not None
            return updated

        return await self.market.retrying(attempt), rejected

    # Reviews

    async def review(self, user_id: str, job_id: str, body: CreateReview) -> Review:
        job = await self.find(user_id, job_id)
        if user_id == job.owner_id:
            subject = job.freelancer_id
        elif user_id == job.freelancer_id:
            subject = job.owner_id
        else:
            raise Forbidden("Only the job's owner and its freelancer review each other")
        JOB.need("review", job.status)
        assert subject is not None
        record = ReviewRecord(
            new_id(), job.id, user_id, subject, body.rating, body.comment, now_iso()
        )
        try:
            await self.market.apply(Transition(inserts=[record]))
        except DuplicateError as exc:
            raise Conflict("You have reviewed this job already") from exc
        review = view(Review, record)
        await self.market.notify(
            subject,
            "review.created",
            {"job_id": job.id, "review_id": record.id, "review": data(review)},
        )
        return review

    async def reviews(self, subject_id: str, cursor: str | None, limit: int) -> ReviewPage:
        await self.market.user(subject_id)
        rows = await self.store.market.list_reviews(
            subject_id, before=decode_cursor(cursor), limit=limit + 1
        )
        count, total = await self.store.market.review_stats(subject_id)
        items, after = cut(rows, limit)
        return ReviewPage(
            items=[view(Review, r) for r in items],
            next_cursor=after,
            average=round(total / count, 2) if count else None,
            count=count,
        )


def _check_budget(budget_min: int, budget_max: int) -> None:
    if budget_min > budget_max:
        raise ValidationFailed.field("budget_max", "budget_max must be at least budget_min")
