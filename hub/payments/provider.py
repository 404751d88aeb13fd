"""What the wallet needs from a payment provider.

A provider takes deposits (charging a payment method) and payouts (sending
money out). Both are asynchronous: ``create_*`` only starts them; the outcome
arrives later as a signed webhook to ``POST /payments/webhook`` (see
``signing``), whose JSON body is::

    {"id": "<event id>", "type": "deposit.succeeded" | "deposit.failed"
                                 | "payout.paid" | "payout.failed",
     "created": <unix time>,
     "data": {"id": "<deposit or payout id>", "amount": <minor units>,
              "currency": "USD", "provider_ref": "...", "failure_reason": null}}

Event ids are unique per event: the hub applies each one at most once.
"""

from __future__ import annotations

from typing import Protocol

from storage.records import DepositRecord, PayoutRecord


class ProviderError(Exception):
    """The provider could not start the operation (it is down, or refused it)."""


class PaymentProvider(Protocol):
    name: str

    def check_payment_method(self, payment_method: str) -> str | None:
        """None when the provider can charge ``payment_method``; why not otherwise."""

    def check_destination(self, destination: str) -> str | None:
        """None when the provider can pay out to ``destination``; why not otherwise."""

    @property
    def default_destination(self) -> str: ...

    async def create_deposit(self, deposit: DepositRecord) -> str:
        """Start charging; return the provider's reference. Raises ProviderError."""

    async def create_payout(self, payout: PayoutRecord) -> str:
        """Start paying out; return the provider's reference. Raises ProviderError."""

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Stop delivering; work in flight is dropped (a real provider would retry)."""
