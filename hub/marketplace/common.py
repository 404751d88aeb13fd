"""What every marketplace service shares: roles, currencies, fees, atomic
transitions with retries, and notifications."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from storage import Store
from storage.errors import ClaimLost, ConditionFailed, InsufficientBalance
from storage.records import MovementRecord, Posting, Transition, UserRecord

from ..clock import new_id
from ..errors import (
    Conflict,
    Forbidden,
    InsufficientFunds,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from ..idempotency import attach_claim, mark_committed
from ..notifications import NotificationService
from .fees import FeePolicy

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


def require_state(kind: str, state: str, allowed: tuple[str, ...], action: str) -> None:
    if state not in allowed:
        raise InvalidState(
            f"Cannot {action} a {kind} that is {state!r} "
            f"(only from {', '.join(repr(s) for s in allowed)})",
            {"state": state, "allowed": list(allowed)},
        )


@dataclass(frozen=True)
class MarketRules:
    currencies: tuple[str, ...] = ("USD", "EUR", "GBP")
    fees: FeePolicy = field(default_factory=lambda: FeePolicy(bps=1000))


class Market:
    """The shared plumbing of the marketplace services."""

    def __init__(
        self, store: Store, notifications: NotificationService, rules: MarketRules
    ) -> None:
        self.store = store
        self.notifications = notifications
        self.rules = rules

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

    async def is_admin(self, user_id: str) -> bool:
        user = await self.store.users.get(user_id)
        return user is not None and user.role == "admin"

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
