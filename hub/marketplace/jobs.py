"""Jobs and reviews: the job lifecycle and who may do what to a job.

States: ``draft`` -> ``open`` -> ``awarded`` -> ``in_progress`` -> ``completed``;
``draft|open|awarded`` -> ``cancelled``. Award, accept and decline (which move
a job between ``open``, ``awarded`` and ``in_progress``) are in ``bids``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from storage.errors import DuplicateError
from storage.records import BulkChange, Change, JobQuery, JobRecord, ReviewRecord, Transition

from ..clock import new_id, now_iso
from ..cursors import decode_cursor, encode_cursor
from ..errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from .common import Market, require_state
from .models import CreateJob, CreateReview, JobListQuery, UpdateJob, page
from .views import job_view, review_view

EDITABLE = ("draft", "open")
CANCELLABLE = ("draft", "open", "awarded")
OPEN_BIDS = ("pending", "shortlisted")
UNSETTLED_MILESTONES = ("funded", "release_requested", "disputed")


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

    async def get(self, user_id: str, job_id: str) -> dict[str, Any]:
        return job_view(await self.find(user_id, job_id))

    async def search(self, user_id: str, query: JobListQuery) -> dict[str, Any]:
        skills = [s.strip() for s in (query.skills or "").split(",") if s.strip()]
        if len(skills) > 50:
            raise ValidationFailed.field("skills", "At most 50 skills")
        if (
            query.budget_min is not None
            and query.budget_max is not None
            and query.budget_min > query.budget_max
        ):
            raise ValidationFailed.field("budget_max", "budget_max is below budget_min")
        rows = await self.store.market.search_jobs(
            JobQuery(
                viewer_id=user_id,
                q=(query.q or "").strip() or None,
                status=query.status,
                skills=skills,
                budget_min=query.budget_min,
                budget_max=query.budget_max,
                owner_id=query.owner_id,
            ),
            before=decode_cursor(query.cursor),
            limit=query.limit + 1,
        )
        items = rows[: query.limit]
        return page(
            [job_view(j) for j in items],
            encode_cursor(items[-1].id) if len(rows) > query.limit else None,
        )

    # Changing

    async def create(self, user_id: str, body: CreateJob) -> dict[str, Any]:
        await self.market.require_role(user_id, "client", "post jobs")
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
        return job_view(job)

    async def update(self, user_id: str, job_id: str, body: UpdateJob) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)

        async def attempt() -> dict[str, Any]:
            job = await self.owned(user_id, job_id, "edit it")
            require_state("job", job.status, EDITABLE, "edit")
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
            if not changes:
                return job_view(job)
            await self.market.apply(
                Transition(
                    changes=[
                        Change(
                            "jobs",
                            job.id,
                            {"status": job.status, "version": job.version},
                            {**changes, "updated_at": now_iso()},
                        )
                    ]
                )
            )
            return job_view(await self.find(user_id, job_id))

        return await self.market.retrying(attempt)

    async def delete(self, user_id: str, job_id: str) -> None:
        await self._move(user_id, job_id, ("draft",), "delete", {"status": "deleted"})

    async def publish(self, user_id: str, job_id: str) -> dict[str, Any]:
        return job_view(
            await self._move(
                user_id,
                job_id,
                ("draft",),
                "publish",
                {"status": "open", "published_at": now_iso()},
            )
        )

    async def cancel(self, user_id: str, job_id: str) -> dict[str, Any]:
        """Cancelling rejects every bid still open or awarded; their bidders are told."""
        affected = [*OPEN_BIDS, "awarded"]
        bids = []

        async def find_bids(job: JobRecord) -> None:
            bids[:] = await self.store.market.list_bids(job.id, status=affected, limit=10_000)

        now = now_iso()
        cancelled = await self._move(
            user_id,
            job_id,
            CANCELLABLE,
            "cancel",
            {"status": "cancelled"},
            check=find_bids,
            bulk=[
                BulkChange(
                    "bids",
                    {"job_id": job_id, "status": affected},
                    {"status": "rejected", "active_key": None, "updated_at": now},
                )
            ],
        )
        for bid in bids:
            await self.market.notify(
                bid.freelancer_id,
                "job.cancelled",
                {"job_id": job_id, "bid_id": bid.id, "job": job_view(cancelled)},
            )
        return job_view(cancelled)

    async def complete(self, user_id: str, job_id: str) -> dict[str, Any]:
        """``in_progress`` -> ``completed`` once every milestone is released,
        cancelled or resolved (checked again inside the transaction)."""

        async def settled(job: JobRecord) -> None:
            milestones = await self.store.market.list_milestones(job.id, limit=10_000)
            unsettled = [m.id for m in milestones if m.status in UNSETTLED_MILESTONES]
            if unsettled:
                raise InvalidState(
                    "Every milestone must be released, cancelled or resolved first",
                    {"milestone_ids": unsettled},
                )

        completed = await self._move(
            user_id,
            job_id,
            ("in_progress",),
            "complete",
            {"status": "completed"},
            check=settled,
            absent=[("milestones", {"job_id": job_id, "status": list(UNSETTLED_MILESTONES)})],
        )
        if completed.freelancer_id:
            await self.market.notify(
                completed.freelancer_id,
                "job.completed",
                {"job_id": completed.id, "job": job_view(completed)},
            )
        return job_view(completed)

    async def _move(
        self,
        user_id: str,
        job_id: str,
        allowed: tuple[str, ...],
        action: str,
        changes: dict[str, Any],
        check: Callable[[JobRecord], Awaitable[None]] | None = None,
        bulk: list[BulkChange] | None = None,
        absent: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> JobRecord:
        """The owner moves the job from one of ``allowed``: one conditional change
        (plus ``bulk`` and ``absent``); a lost race re-reads and re-checks."""

        async def attempt() -> JobRecord:
            job = await self.owned(user_id, job_id, action + " it")
            require_state("job", job.status, allowed, action)
            if check is not None:
                await check(job)
            await self.market.apply(
                Transition(
                    changes=[
                        Change(
                            "jobs",
                            job.id,
                            {"status": job.status, "version": job.version},
                            {**changes, "updated_at": now_iso()},
                        )
                    ],
                    bulk=bulk or [],
                    absent=absent or [],
                )
            )
            updated = await self.store.market.get_job(job.id)
            assert updated is not None
            return updated

        return await self.market.retrying(attempt)

    # Reviews

    async def review(self, user_id: str, job_id: str, body: CreateReview) -> dict[str, Any]:
        job = await self.find(user_id, job_id)
        if user_id == job.owner_id:
            subject = job.freelancer_id
        elif user_id == job.freelancer_id:
            subject = job.owner_id
        else:
            raise Forbidden("Only the job's owner and its freelancer review each other")
        require_state("job", job.status, ("completed",), "review")
        assert subject is not None
        review = ReviewRecord(
            new_id(), job.id, user_id, subject, body.rating, body.comment, now_iso()
        )
        try:
            await self.market.apply(Transition(inserts=[review]))
        except DuplicateError as exc:
            raise Conflict("You have reviewed this job already") from exc
        view = review_view(review)
        await self.market.notify(
            subject, "review.created", {"job_id": job.id, "review_id": review.id, "review": view}
        )
        return view

    async def reviews(self, subject_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
        await self.market.user(subject_id)
        rows = await self.store.market.list_reviews(
            subject_id, before=decode_cursor(cursor), limit=limit + 1
        )
        count, total = await self.store.market.review_stats(subject_id)
        items = rows[:limit]
        return {
            **page(
                [review_view(r) for r in items],
                encode_cursor(items[-1].id) if len(rows) > limit else None,
            ),
            "average": round(total / count, 2) if count else None,
            "count": count,
        }


def _check_budget(budget_min: int, budget_max: int) -> None:
    if budget_min > budget_max:
        raise ValidationFailed.field("budget_max", "budget_max must be at least budget_min")
