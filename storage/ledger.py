"""Ledger rules every engine applies the same way inside ``MarketStore.apply``."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from .errors import UnbalancedMovement
from .records import LedgerEntryRecord, MovementRecord

# Balances that may never go below zero: a user's own money. The platform's
# fee account only grows; the provider's external account is the other side
# of every deposit and payout, so it is negative by what users hold.
GUARDED_ACCOUNTS = frozenset({"available", "held"})
MAX_AMOUNT = 10**12


def check_balanced(movement: MovementRecord) -> None:
    """Raise UnbalancedMovement unless, per currency, the postings sum to zero
    (and each is a non-zero int within the amount limits)."""
    if not movement.postings:
        raise UnbalancedMovement(f"movement {movement.id} has no postings")
    totals: defaultdict[str, int] = defaultdict(int)
    for posting in movement.postings:
        if type(posting.amount) is not int or not 0 < abs(posting.amount) <= 2 * MAX_AMOUNT:
            raise UnbalancedMovement(f"movement {movement.id}: bad amount {posting.amount!r}")
        totals[posting.currency] += posting.amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedMovement(f"movement {movement.id} does not balance: {unbalanced}")


def net_postings(movement: MovementRecord) -> dict[tuple[str, str, str], int]:
    """The net change per (owner, account, currency), in first-seen order, so a
    movement that debits and credits one account is checked on its net."""
    net: dict[tuple[str, str, str], int] = {}
    for posting in movement.postings:
        key = (posting.owner_id, posting.account, posting.currency)
        net[key] = net.get(key, 0) + posting.amount
    return {key: delta for key, delta in net.items() if delta != 0}


def entries_of(movement: MovementRecord) -> list[LedgerEntryRecord]:
    """One entry per posting; ids sort like the movement ids (ULIDs), then by position."""
    return [
        LedgerEntryRecord(
            id=f"{movement.id}-{index:02d}",
            movement_id=movement.id,
            owner_id=p.owner_id,
            account=p.account,
            currency=p.currency,
            amount=p.amount,
            kind=p.kind,
            ref_type=movement.ref_type,
            ref_id=movement.ref_id,
            created_at=movement.created_at,
        )
        for index, p in enumerate(movement.postings)
    ]


def utc_now_iso() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
