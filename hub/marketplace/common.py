"""What every marketplace service shares: roles and parties, currencies, fees,
movements, pages, atomic transitions with retries, and notifications."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from storage import Store
from storage.errors import ClaimLost, ConditionFailed, InsufficientBalance
from storage.records import (
    BidRecord,
    BulkChange,
    MovementRecord,
    Posting,
    Transition,
    UserRecord,
)

from ..clock import new_id, now_iso
from ..conversations.system_messages import SystemMessages
from ..cursors import encode_cursor
from ..errors import Conflict, Forbidden, InsufficientFunds, NotFound, ValidationFailed
from ..idempotency import attach_claim, mark_committed
from ..notifications import NotificationService
from ..offline.webhooks import WebhookEvents
from .fees import FeePolicy
from .states import ADMIN, Machine, Step

if TYPE_CHECKING:
    from ..accounts.verification import VerifiedEmailRule

T = TypeVar("T")

PLATFORM = "platform"  # owner of the platform's fee account
MAX_ATTEMPTS = 25  # a transition that keeps losing races gives up with 409 conflict


def movement(
    kind: str, ref_type: str, ref_id: str, at: str, *postings: tuple[str, str, str, int, str]
) -> MovementRecord:
    """A movement of the given (owner, account, currency, amount, kind) postings;
    zero amounts are left out."""
    return MovementRecord(
        id=new_id(),
        kind=kind,
        ref_type=ref_type,
        ref_id=ref_id,
        created_at=at,
        postings=[
            Posting(owner, account, currency, amount, posting_kind)
            for owner, account, currency, amount, posting_kind in postings
            if amount != 0
        ],
    )


def transfer(
    kind: str,
    ref_type: str,
    ref_id: str,
    at: str,
    currency: str,
    amount: int,
    source: tuple[str, str],
    target: tuple[str, str],
) -> MovementRecord:
    """A movement of ``amount`` from one (owner, account) to another."""
    return movement(
        kind,
        ref_type,
        ref_id,
        at,
        (*source, currency, -amount, kind),
        (*target, currency, amount, kind),
    )


class HasId(Protocol):
    @property
    def id(self) -> str: ...


RowT = TypeVar("RowT", bound=HasId)


def cut(rows: list[RowT], limit: int) -> tuple[list[RowT], str | None]:
    """Of ``limit + 1`` rows read, the page (the first ``limit``) and the cursor
    of the next one (None when this is the last)."""
    items = rows[:limit]
    return items, encode_cursor(items[-1].id) if len(rows) > limit else None


@dataclass(frozen=True)
class MarketRules:
    currencies: tuple[str, ...] = ("USD", "EUR", "GBP")
    fees: FeePolicy = field(default_factory=lambda: FeePolicy(bps=1000))


class Market:
    """The shared plumbing of the marketplace services."""

    def __init__(
        self,
        store: Store,
        notifications: NotificationService,
        rules: MarketRules,
        system_messages: SystemMessages,
    ) -> None:
        self.store = store
        self.notifications = notifications
        self.rules = rules
        self.system_messages = system_messages
        self.webhooks: WebhookEvents | None = None  # outbound webhooks (hub/context.py)
        # HUB_REQUIRE_VERIFIED_EMAIL (hub/context.py): who may bid and post jobs.
        self.verified_email: VerifiedEmailRule | None = None

    async def user(self, user_id: str) -> UserRecord:
        user = await self.store.users.get(user_id)
        if user is None:
            raise NotFound("User not found")
        return user

    async def require_role(self, user_id: str, role: str, action: str) -> UserRecord:
        """The caller, if their stored role (not the token's) is ``role``."""
        user = await self.user(user_id)
        if user.role != role:
            raise Forbidden(f"Only {role}s can {action}")
        return user

    def require_verified_email(self, user: UserRecord) -> None:
        """403 email_unverified while HUB_REQUIRE_VERIFIED_EMAIL is on and
        ``user`` has not verified their email."""
        if self.verified_email is not None:
            self.verified_email.check(user)

    async def is_admin(self, user_id: str) -> bool:
        user = await self.store.users.get(user_id)
        return user is not None and user.role == "admin"

    async def authorize(
        self, machine: Machine, step: Step, user_id: str, parties: Mapping[str, str | None]
    ) -> None:
        """403 unless the caller is one of the parties ``step`` is ``by``
        (``parties``: who each is, for this resource; an admin by role)."""
        if any(user_id == parties.get(actor) for actor in step.by):
            return
        if ADMIN in step.by and await self.is_admin(user_id):
            return
        raise machine.forbidden(step)

    async def rejecting(
        self, job_id: str, states: tuple[str, ...], but: str | None = None
    ) -> tuple[list[BidRecord], BulkChange]:
        """The job's bids in ``states`` (all but the bid ``but``), and the
        change that rejects them (freeing their active_key)."""
        found = await self.store.market.list_bids(job_id, status=list(states), limit=10_000)
        change = BulkChange(
            "bids",
            {"job_id": job_id, "status": list(states)},
            {"status": "rejected", "active_key": None, "updated_at": now_iso()},
            exclude_id=but,
        )
        return [b for b in found if b.id != but], change

    def check_currency(self, currency: str, field: str = "currency") -> None:
        if currency not in self.rules.currencies:
            raise ValidationFailed.field(
                field, f"Currency must be one of {', '.join(self.rules.currencies)}"
            )

    def fee(self, amount: int) -> int:
        return self.rules.fees.fee(amount)

    async def apply(self, transition: Transition) -> list[Any]:
        """``store.market.apply`` under the Idempotency-Key claim of the request
        being served (hub/idempotency.py): the changed rows as it left them.
        Overdrawing is 402 insufficient_funds."""
        try:
            changed = await self.store.market.apply(attach_claim(transition))
        except InsufficientBalance as exc:
            raise InsufficientFunds(
                f"Not enough {exc.currency} {exc.account} balance",
                {"currency": exc.currency, "account": exc.account},
            ) from exc
        except ClaimLost as exc:
            raise Conflict(
                "A retry with this Idempotency-Key took it over; nothing was done by this request"
            ) from exc
        mark_committed()
        return changed

    async def retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` (read, check, apply a conditional transition) until its
        conditions hold when applied: a lost race re-reads and re-checks, so the
        loser sees the winner's state (usually 409 invalid_state)."""
        for _ in range(MAX_ATTEMPTS):
            try:
                return await attempt()
            except ConditionFailed:
                continue
        raise Conflict("This resource is changing too fast; retry")

    async def notify(self, user_id: str, type: str, data: dict[str, Any]) -> None:
        await self.notifications.notify(user_id, type, data)

    def publish(self, type: str, data: dict[str, Any]) -> None:
        """A ``job.*``, ``bid.*`` or ``milestone.*`` webhook event: once per
        change, beside the notifications that tell its parties."""
        if self.webhooks is not None:
            self.webhooks.publish(type, data)

    # Cards in the bid's conversation

    async def hired_bid(self, job_id: str) -> BidRecord | None:
        """The bid a job was awarded to (after the accept, the hired one): its
        conversation is where the job's and its milestones' cards go."""
        job = await self.store.market.get_job(job_id)
        if job is None or job.awarded_bid_id is None:
            return None
        return await self.store.market.get_bid(job.awarded_bid_id)

    async def card(
        self,
        bid: BidRecord | None,
        actor_id: str,
        ref: tuple[str, str],
        state: str,
        text: str,
        **fields: Any,
    ) -> None:
        """A card message about ``ref`` in ``bid``'s conversation, if it has one
        (it may not: the two parties blocked each other before the accept)."""
        if bid is not None and bid.conversation_id is not None:
            await self.system_messages.market(
                bid.conversation_id, actor_id, ref, state, text, **fields
            )


def quoted(text: str, limit: int = 80) -> str:
    """A title or description quoted in a card's text, cut at ``limit``."""
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"
