"""Bids: one active bid per freelancer and job, and the award/accept handshake.

The steps are the table ``states.BID``: who may take which from which state,
and how the job moves along (award: ``open`` -> ``awarded``; accept:
``awarded`` -> ``in_progress``, rejecting the other open bids; decline:
``awarded`` -> ``open``). Each step is one transaction over the bid and the job
(and the other bids); accepting then opens the bid's conversation.
"""

from __future__ import annotations

import logging
from collections.abc import MutableSequence
from typing import Any

from storage.errors import ConditionFailed, DuplicateError
from storage.records import BidRecord, Change, JobRecord, Transition

from ..clock import new_id, now_iso
from ..conversations import ConversationService
from ..conversations.models import ContextRef, CreateConversation
from ..conversations.system_messages import money
from ..conversations.views import Conversation
from ..cursors import decode_cursor
from ..errors import Conflict, Forbidden, HubError, InvalidState, NotFound, ValidationFailed
from .common import Market, cut, quoted
from .jobs import JobService
from .models import Bid, BidPage, CreateBid, UpdateBid
from .states import ACTIVE_BIDS, BID, BIDDER, JOB, OWNER
from .views import data, view

log = logging.getLogger(__name__)


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

    async def get(self, user_id: str, bid_id: str) -> Bid:
        return view(Bid, (await self.find(user_id, bid_id))[0])

    async def list(self, user_id: str, job_id: str, cursor: str | None, limit: int) -> BidPage:
        """The owner (and admins) see every bid of the job, anyone else only their own."""
        job = await self.jobs.find(user_id, job_id)
        sees_all = user_id == job.owner_id or await self.market.is_admin(user_id)
        rows = await self.store.market.list_bids(
            job.id,
            freelancer_id=None if sees_all else user_id,
            after=decode_cursor(cursor),
            limit=limit + 1,
        )
        items, after = cut(rows, limit)
        return BidPage(items=[view(Bid, b) for b in items], next_cursor=after)

    # The bidder

    async def create(self, user_id: str, job_id: str, body: CreateBid) -> Bid:
        self.market.require_verified_email(
            await self.market.require_role(user_id, "freelancer", "bid")
        )
        self.market.check_currency(body.currency)

        async def attempt() -> BidRecord:
            job = await self.jobs.find(user_id, job_id)
            if job.owner_id == user_id:
                raise Forbidden("You cannot bid on your own job")
            if await self.store.blocks.exists_between(user_id, job.owner_id):
                raise Forbidden("You cannot bid on this user's jobs")
            JOB.need("bid on", job.status)
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
        await self._tell(bid, "bid.created", bid.owner_id)
        return view(Bid, bid)

    async def update(self, user_id: str, bid_id: str, body: UpdateBid) -> Bid:
        changes = body.model_dump(exclude_unset=True)
        return view(Bid, await self._step(user_id, bid_id, "change", changes, tell=bool(changes)))

    async def withdraw(self, user_id: str, bid_id: str) -> Bid:
        return view(Bid, await self._step(user_id, bid_id, "withdraw"))

    async def decline(self, user_id: str, bid_id: str) -> Bid:
        """The awarded bidder says no: the job is ``open`` again."""
        return view(Bid, await self._step(user_id, bid_id, "decline", job={"awarded_bid_id": None}))

    async def accept(self, user_id: str, bid_id: str) -> Bid:
        """The awarded bidder says yes: the job is ``in_progress``, every other
        open bid is rejected, and the bid's conversation is opened."""
        rejected: list[BidRecord] = []
        bid = await self._step(
            user_id, bid_id, "accept", job={"freelancer_id": user_id}, rejected=rejected, tell=False
        )
        bid = await self._open_conversation(bid)
        accepted = view(Bid, bid)
        await self._accepted_card(bid)
        await self._tell(
            bid, BID.step("accept").event, bid.owner_id, conversation_id=bid.conversation_id
        )
        for other in rejected:
            current = await self.store.market.get_bid(other.id)
            if current is not None and current.status == "rejected":
                await self._tell(current, BID.step("reject").event, current.freelancer_id)
        return accepted

    async def _accepted_card(self, bid: BidRecord) -> None:
        job = await self.store.market.get_job(bid.job_id)
        title = job.title if job is not None else "the job"
        (name,) = await self.market.system_messages.names(bid.freelancer_id)
        await self.market.card(
            bid,
            bid.freelancer_id,
            ("bid", bid.id),
            "accepted",
            f"{name} accepted the offer for {quoted(title)} · {money(bid.amount, bid.currency)}",
            amount=bid.amount,
            currency=bid.currency,
            title=title,
        )

    # The job's owner

    async def shortlist(self, user_id: str, bid_id: str) -> Bid:
        return view(Bid, await self._step(user_id, bid_id, "shortlist"))

    async def reject(self, user_id: str, bid_id: str) -> Bid:
        return view(Bid, await self._step(user_id, bid_id, "reject"))

    async def award(self, user_id: str, bid_id: str) -> Bid:
        return view(Bid, await self._step(user_id, bid_id, "award", job={"awarded_bid_id": bid_id}))

    # The conversation

    async def conversation(self, user_id: str, bid_id: str) -> Conversation:
        """The accepted bid's conversation (opened now if accepting could not)."""
        bid, _ = await self.find(user_id, bid_id)
        BID.need("open the conversation of", bid.status)
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
        action: str,
        changes: dict[str, Any] | None = None,
        job: dict[str, Any] | None = None,
        rejected: MutableSequence[BidRecord] | None = None,
        tell: bool = True,
    ) -> BidRecord:
        """The caller takes the step ``action`` of ``states.BID``: in one
        transaction the bid moves to the step's state (with ``changes``), its
        job as the step says (with the fields ``job``), and the job's other
        bids the step rejects (put in ``rejected``); a lost race re-reads and
        re-checks. Then the other party is told, unless ``tell`` is false."""
        step = BID.step(action)

        async def attempt() -> BidRecord:
            bid, current_job = await self.find(user_id, bid_id)
            parties = {OWNER: bid.owner_id, BIDDER: bid.freelancer_id}
            await self.market.authorize(BID, step, user_id, parties)
            BID.require(step, bid.status)
            now = now_iso()
            fields = {**(changes or {}), "updated_at": now}
            if step.target is not None:
                fields["status"] = step.target
                if step.target not in ACTIVE_BIDS:
                    fields["active_key"] = None  # the freelancer may bid again
            transition = Transition(
                changes=[
                    Change("bids", bid.id, {"status": bid.status, "version": bid.version}, fields)
                ]
            )
            if step.job is not None:
                step.job.require(current_job.status, step.says)
                if current_job.status == "awarded" and current_job.awarded_bid_id != bid.id:
                    raise InvalidState("The job is awarded to another bid")
                moved = {
                    **({"status": step.job.target} if step.job.target else {}),
                    **(job or {}),
                }
                transition.changes.append(
                    Change(
                        "jobs",
                        current_job.id,
                        {"status": current_job.status, "version": current_job.version},
                        {**moved, "updated_at": now} if moved else {},
                    )
                )
            if step.rejects:
                others, reject = await self.market.rejecting(current_job.id, step.rejects, bid.id)
                transition.bulk.append(reject)
                if rejected is not None:
                    rejected[:] = others
            await self.market.apply(transition)
            updated = await self.store.market.get_bid(bid.id)
            assert updated is not None
            return updated

        bid = await self.market.retrying(attempt)
        if tell:
            await self._tell(
                bid, step.event, bid.freelancer_id if OWNER in step.by else bid.owner_id
            )
        return bid

    async def _tell(self, bid: BidRecord, event: str, to: str, **extra: Any) -> None:
        told = {"job_id": bid.job_id, "bid_id": bid.id, **extra, "bid": data(view(Bid, bid))}
        await self.market.notify(to, event, told)
        self.market.publish(event, told)
