"""The platform fee: what the platform keeps of each payment to a freelancer."""

from __future__ import annotations

from dataclasses import dataclass

BPS = 10_000  # basis points in a whole


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """``bps`` basis points of each payment to a freelancer (a release, a part
    of one, an admin split), rounded half up to the minor unit, and at least
    ``minimum`` minor units when the payment is at least that.

    Rounding each payment half up keeps many small partial releases within
    one minor unit per release of the fee on their sum, and the minimum keeps
    them from paying none at all (with floor rounding, 100 releases of 9 cents
    at 10% paid no fee). A policy of 0 bps charges nothing, minimum or not.
    """

    bps: int
    minimum: int = 1

    def fee(self, amount: int) -> int:
        """The fee on a payment of ``amount`` minor units (never more than it)."""
        if amount <= 0 or self.bps == 0:
            return 0
        fee = (amount * self.bps + BPS // 2) // BPS
        if amount >= self.minimum:
            fee = max(fee, self.minimum)
        return min(fee, amount)
