"""The platform fee policy (contract: "Money details")."""

from __future__ import annotations

import random

import pytest

from hub.marketplace.fees import FeePolicy

TEN_PERCENT = FeePolicy(bps=1000)


@pytest.mark.parametrize(
    ("amount", "fee"),
    [
        (1_000, 100),
        (1_004, 100),
        (1_005, 101),  # half up: 100.5 -> 101
        (12_345, 1_235),
        (15, 2),
        (14, 1),
        (9, 1),
        (1, 1),  # below one minor unit: the minimum, 1
        (0, 0),
    ],
)
def test_ten_percent_rounded_half_up_at_least_one(amount: int, fee: int) -> None:
    assert TEN_PERCENT.fee(amount) == fee


def test_tiny_releases_pay_about_the_fee_of_their_sum() -> None:
    """100 releases of 9 cents used to pay no fee at all (rounded down)."""
    assert sum(TEN_PERCENT.fee(9) for _ in range(100)) == 100
    assert TEN_PERCENT.fee(900) == 90
    rng = random.Random(3)
    for _ in range(500):
        parts = [rng.randint(1, 5_000) for _ in range(rng.randint(1, 20))]
        together = TEN_PERCENT.fee(sum(parts))
        assert abs(sum(TEN_PERCENT.fee(p) for p in parts) - together) <= len(parts)


def test_the_minimum_applies_only_to_payments_that_large() -> None:
    policy = FeePolicy(bps=1000, minimum=5)
    assert [policy.fee(amount) for amount in (3, 5, 40, 46)] == [0, 5, 5, 5]
    assert policy.fee(60) == 6


def test_no_fee_policy_and_the_whole_amount() -> None:
    assert FeePolicy(bps=0).fee(1_000) == 0  # 0 bps: no minimum either
    assert FeePolicy(bps=10_000).fee(777) == 777
    assert all(
        FeePolicy(bps=bps).fee(amount) <= amount
        for bps in (1, 999, 5_000, 10_000)
        for amount in range(0, 50)
    )
