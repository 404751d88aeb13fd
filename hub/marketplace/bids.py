"""Bids: one active bid per freelancer and job, and the award/accept handshake.

States: ``pending`` -> ``shortlisted`` -> ``awarded`` -> ``accepted`` (``pending``
-> ``awarded`` too); ``pending|shortlisted`` -> ``rejected|withdrawn``;
``awarded`` -> ``declined``. Awarding moves the job ``open`` -> ``awarded``,
accepting ``awarded`` -> ``in_progress`` (rejecting the other open bids and
opening the bid's conversation), declining ``awarded`` -> ``open``. Each of
those is one transaction over the bid and the job (and the other bids).
"""

from __future__ import annotations

import logging
from typing import Any

from storage.errors import ConditionFailed, DuplicateError
from storage.records import BidRecord, BulkChange, Change, JobRecord, Transition

from ..clock import new_id, now_iso
from ..conversations import ConversationService
from ..conversations.models import ContextRef, CreateConversation
from ..cursors import decode_cursor, encode_cursor
from ..errors import Conflict, Forbidden, HubError, InvalidState, NotFound, ValidationFailed
from .common import Market, require_state
from .jobs import JobService
from .models import CreateBid, UpdateBid, page
from .views import bid_view

log = logging.getLogger(__name__)

OPEN = ("pending", "shortlisted")
ACTIVE = ("pending", "shortlisted", "awarded", "accepted")


class BidService:
    def __init__(
        self, market: Market, jobs: JobService, conversations: ConversationService
    ) -> None:
        self.market = market
        self.store = market.store
        self.jobs = jobs
        self.conversations = conversations

    # Reading

    async def find(self, user_id: str, bid_id: str) -> tuple[BidRecord, JobRecord]:
        """The bid and its job, if the caller is the job's owner, the bidder or an admin."""
        bid = await self.store.market.get_bid(bid_id)
        if bid is None:
            raise NotFound("No such bid")
        if user_id not in (bid.owner_id, bid.freelancer_id) and not await self.market.is_admin(
            user_id
        ):
            raise Forbidden("Only the job's owner and the bidder can see this bid")
        job = await self.store.market.get_job(bid.job_id)
        assert job is not None
        return bid, job

    async def get(self, user_id: str, bid_id: str) -> dict[str, Any]:
        return bid_view((await self.find(user_id, bid_id))[0])

    async def list(
        self, user_id: str, job_id: str, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        """The owner (and admins) see every bid of the job, anyone else only their own."""
        job = await self.jobs.find(user_id, job_id)
        sees_all = user_id == job.owner_id or await self.market.is_admin(user_id)
        rows = await self.store.market.list_bids(
            job.id,
            freelancer_id=None if sees_all else user_id,
            after=decode_cursor(cursor),
            limit=limit + 1,
        )
        items = rows[:limit]
        return page(
            [bid_view(b) for b in items], encode_cursor(items[-1].id) if len(rows) > limit else None
        )

    # The bidder

    async def create(self, user_id: str, job_id: str, body: CreateBid) -> dict[str, Any]:
        await self.market.require_role(user_id, "freelancer", "bid")
        self.market.check_currency(body.currency)

        async def attempt() -> BidRecord:
            job = await self.jobs.find(user_id, job_id)
            if job.owner_id == user_id:
                raise Forbidden("You cannot bid on your own job")
            if await self.store.blocks.exists_between(user_id, job.owner_id):
                raise Forbidden("You cannot bid on this user's jobs")
            require_state("job", job.status, ("open",), "bid on")
            if body.currency != job.currency:
                raise ValidationFailed.field("currency", f"This job is paid in {job.currency}")
            now = now_iso()
            bid = BidRecord(
                id=new_id(),
                job_id=job.id,
                owner_id=job.owner_id,
                freelancer_id=user_id,
                amount=body.amount,
                currency=body.currency,
                period_days=body.period_days,
                proposal=body.proposal,
                status="pending",
                created_at=now,
                updated_at=now,
                active_key=f"{job.id}:{user_id}",
            )
            try:
                # The job must still be open when the bid is written.
                await self.market.apply(
                    Transition(inserts=[bid], changes=[Change("jobs", job.id, {"status": "open"})])
                )
            except DuplicateError as exc:
                raise Conflict("You already have an active bid on this job") from exc
            return bid

        bid = await self.market.retrying(attempt)
        view = bid_view(bid)
        await self.market.notify(
            bid.owner_id, "bid.created", {"job_id": bid.job_id, "bid_id": bid.id, "bid": view}
        )
        return view

    async def update(self, user_id: str, bid_id: str, body: UpdateBid) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        bid = await self._step(
            user_id,
            bid_id,
            "bidder",
            ("pending",),
            "change",
            changes,
            notify=("owner", "bid.updated") if changes else None,
        )
        return bid_view(bid)

    async def withdraw(self, user_id: str, bid_id: str) -> dict[str, Any]:
        return bid_view(
            await self._step(
                user_id,
                bid_id,
                "bidder",
                OPEN,
                "withdraw",
                {"status": "withdrawn", "active_key": None},
                notify=("owner", "bid.withdrawn"),
            )
        )

    async def decline(self, user_id: str, bid_id: str) -> dict[str, Any]:
        """The awarded bidder says no: the job is ``open`` again."""
        return bid_view(
            await self._step(
                user_id,
                bid_id,
                "bidder",
                ("awarded",),
                "decline",
                {"status": "declined", "active_key": None},
                notify=("owner", "bid.declined"),
                job=(("awarded",), {"status": "open", "awarded_bid_id": None}),
            )
        )

    async def accept(self, user_id: str, bid_id: str) -> dict[str, Any]:
        """The awarded bidder says yes: the job is ``in_progress``, every other
        open bid is rejected, and the bid's conversation is opened."""
        rejected: list[BidRecord] = []

        async def others(bid: BidRecord, job: JobRecord) -> list[BulkChange]:
            rejected[:] = [
                b
                for b in await self.store.market.list_bids(job.id, status=list(OPEN), limit=10_000)
                if b.id != bid.id
            ]
            return [
                BulkChange(
                    "bids",
                    {"job_id": job.id, "status": list(OPEN)},
                    {"status": "rejected", "active_key": None, "updated_at": now_iso()},
                    exclude_id=bid.id,
                )
            ]

        bid = await self._step(
            user_id,
            bid_id,
            "bidder",
            ("awarded",),
            "accept",
            {"status": "accepted"},
            job=(("awarded",), {"status": "in_progress", "freelancer_id": user_id}),
            bulk=others,
        )
        bid = await self._open_conversation(bid)
        view = bid_view(bid)
        await self.market.notify(
            bid.owner_id,
            "bid.accepted",
            {
                "job_id": bid.job_id,
                "bid_id": bid.id,
                "conversation_id": bid.conversation_id,
                "bid": view,
            },
        )
        for other in rejected:
            current = await self.store.market.get_bid(other.id)
            if current is not None and current.status == "rejected":
                await self.market.notify(
                    other.freelancer_id,
                    "bid.rejected",
                    {"job_id": other.job_id, "bid_id": other.id, "bid": bid_view(current)},
                )
        return view

    # The job's owner

    async def shortlist(self, user_id: str, bid_id: str) -> dict[str, Any]:
        return bid_view(
            await self._step(
                user_id,
                bid_id,
                "owner",
                ("pending",),
                "shortlist",
                {"status": "shortlisted"},
                notify=("freelancer", "bid.shortlisted"),
                job=(("open",), {}),
            )
        )

    async def reject(self, user_id: str, bid_id: str) -> dict[str, Any]:
        return bid_view(
            await self._step(
                user_id,
                bid_id,
                "owner",
                OPEN,
                "reject",
                {"status": "rejected", "active_key": None},
                notify=("freelancer", "bid.rejected"),
            )
        )

    async def award(self, user_id: str, bid_id: str) -> dict[str, Any]:
        return bid_view(
            await self._step(
                user_id,
                bid_id,
                "owner",
                OPEN,
                "award",
                {"status": "awarded"},
                notify=("freelancer", "bid.awarded"),
                job=(("open",), {"status": "awarded", "awarded_bid_id": bid_id}),
            )
        )

    # The conversation

    async def conversation(self, user_id: str, bid_id: str) -> dict[str, Any]:
        """The accepted bid's conversation (opened now if accepting could not)."""
        bid, _ = await self.find(user_id, bid_id)
        require_state("bid", bid.status, ("accepted",), "open the conversation of")
        if bid.conversation_id is None:
            bid = await self._open_conversation(bid)
            if bid.conversation_id is None:
                raise Forbidden("These users cannot have a conversation")
        return await self.conversations.get(user_id, bid.conversation_id)

    async def _open_conversation(self, bid: BidRecord) -> BidRecord:
        """Name the bid's one conversation on the bid. ConversationService
        returns the one a party opened while shortlisting (joined by whichever
        of the two it lacks) or opens it now, on behalf of the job's owner."""
        try:
            conversation = await self.conversations.create(
                bid.owner_id,
                CreateConversation(
                    participant_ids=[bid.freelancer_id], context=ContextRef(type="bid", id=bid.id)
                ),
            )
        except HubError as exc:
            log.warning("no conversation for bid %s: %s", bid.id, exc.message)
            return bid
        try:
            await self.market.apply(
                Transition(
                    changes=[
                        Change(
                            "bids",
                            bid.id,
                            {"conversation_id": None},
                            {"conversation_id": conversation["id"]},
                        )
                    ]
                )
            )
        except ConditionFailed:
            pass  # named concurrently (the same conversation: a bid has one)
        current = await self.store.market.get_bid(bid.id)
        assert current is not None
        return current

    # One step of the state machine

    async def _step(
        self,
        user_id: str,
        bid_id: str,
        actor: str,
        allowed: tuple[str, ...],
        action: str,
        changes: dict[str, Any],
        notify: tuple[str, str] | None = None,
        job: tuple[tuple[str, ...], dict[str, Any]] | None = None,
        bulk: Any = None,
    ) -> BidRecord:
        """The ``actor`` ("owner" or "bidder") moves the bid from one of
        ``allowed`` (and its job, when ``job`` gives the job's allowed states and
        changes) in one transaction; a lost race re-reads and re-checks."""

        async def attempt() -> BidRecord:
            bid, current_job = await self.find(user_id, bid_id)
            party = bid.owner_id if actor == "owner" else bid.freelancer_id
            if user_id != party:
                raise Forbidden(
                    f"Only the {'job owner' if actor == 'owner' else 'bidder'} "
                    f"can {action} this bid"
                )
            require_state("bid", bid.status, allowed, action)
            now = now_iso()
            transition = Transition(
                changes=[
                    Change(
                        "bids",
                        bid.id,
                        {"status": bid.status, "version": bid.version},
                        {**changes, "updated_at": now},
                    )
                ]
            )
            if job is not None:
                job_allowed, job_changes = job
                require_state("job", current_job.status, job_allowed, f"{action} a bid of")
                if action in ("accept", "decline") and current_job.awarded_bid_id != bid.id:
                    raise InvalidState("The job is awarded to another bid")
                transition.changes.append(
                    Change(
                        "jobs",
                        current_job.id,
                        {"status": current_job.status, "version": current_job.version},
                        {**job_changes, "updated_at": now} if job_changes else {},
                    )
                )
            if bulk is not None:
                transition.bulk = await bulk(bid, current_job)
            await self.market.apply(transition)
            updated = await self.store.market.get_bid(bid.id)
            assert updated is not None
            return updated

        bid = await self.market.retrying(attempt)
        if notify is not None:
            whom, kind = notify
            await self.market.notify(
                bid.owner_id if whom == "owner" else bid.freelancer_id,
                kind,
                {"job_id": bid.job_id, "bid_id": bid.id, "bid": bid_view(bid)},
            )
        return bid
