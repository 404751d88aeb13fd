"""The wallet: balances, the caller's ledger, deposits, payouts and provider webhooks.

Money, with P the provider's external account (``provider:<name>``):

* deposit succeeded: P ``external`` -A, user ``available`` +A
* payout requested: user ``available`` -A, P ``external`` +A (402 when short)
* payout failed: P ``external`` -A, user ``available`` +A (the money comes back)

A deposit moves no money until its ``deposit.succeeded`` webhook; the webhook's
transaction also marks the event id processed and changes the deposit (or
payout) only from ``pending``, so a replayed or conflicting event changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import orjson
from pydantic import ValidationError

from storage.errors import ConditionFailed, DuplicateError
from storage.records import Change, DepositRecord, MovementRecord, PayoutRecord, Transition

from ..clock import new_id, now_iso
from ..cursors import decode_cursor
from ..errors import Forbidden, MalformedRequest, NotFound, Unavailable, ValidationFailed
from ..payments import PaymentProvider, ProviderError, verify
from .common import Market, cut, transfer
from .models import (
    Balance,
    CreateDeposit,
    CreatePayout,
    Deposit,
    LedgerPage,
    Payout,
    Wallet,
    WebhookAck,
    WebhookEvent,
)
from .views import data, entry_view, view

log = logging.getLogger(__name__)

Payment = TypeVar("Payment", DepositRecord, PayoutRecord)
# What settling a deposit or payout came to.
Settled = Literal["applied", "duplicate", "not_pending"]


class WalletService:
    def __init__(self, market: Market, provider: PaymentProvider, webhook_secret: str) -> None:
        self.market = market
        self.store = market.store
        self.provider = provider
        self.webhook_secret = webhook_secret

    @property
    def external(self) -> tuple[str, str]:
        """The provider's account: the other side of every deposit and payout."""
        return f"provider:{self.provider.name}", "external"

    # Reading

    async def balances(self, user_id: str) -> Wallet:
        """Every configured currency (zeros included), then any other the user holds."""
        found: dict[str, dict[str, int]] = {}
        for balance in await self.store.ledger.balances(user_id):
            if balance.account in ("available", "held"):
                found.setdefault(balance.currency, {"available": 0, "held": 0})[balance.account] = (
                    balance.balance
                )
        currencies = [
            *self.market.rules.currencies,
            *sorted(set(found) - set(self.market.rules.currencies)),
        ]
        return Wallet(
            balances=[
                Balance(currency=c, **found.get(c, {"available": 0, "held": 0})) for c in currencies
            ]
        )

    async def ledger(self, user_id: str, cursor: str | None, limit: int) -> LedgerPage:
        rows = await self.store.ledger.entries(
            user_id, before=decode_cursor(cursor), limit=limit + 1
        )
        items, after = cut(rows, limit)
        return LedgerPage(items=[entry_view(e) for e in items], next_cursor=after)

    async def deposit(self, user_id: str, deposit_id: str) -> Deposit:
        record = await self.store.market.get_deposit(deposit_id)
        return view(Deposit, await self._own(user_id, record, "deposit"))

    async def payout(self, user_id: str, payout_id: str) -> Payout:
        record = await self.store.market.get_payout(payout_id)
        return view(Payout, await self._own(user_id, record, "payout"))

    async def _own(self, user_id: str, record: Payment | None, what: str) -> Payment:
        """``record``, if it is the caller's (or the caller is an admin)."""
        if record is None:
            raise NotFound(f"No such {what}")
        if user_id != record.user_id and not await self.market.is_admin(user_id):
            raise Forbidden(f"This {what} is someone else's")
        return record

    # Deposits and payouts

    async def create_deposit(self, user_id: str, body: CreateDeposit) -> Deposit:
        """A pending deposit; the provider confirms (or declines) it by webhook."""
        await self._check(user_id, body.currency)
        problem = self.provider.check_payment_method(body.payment_method)
        if problem:
            raise ValidationFailed.field("payment_method", problem)
        deposit = self._pending(DepositRecord, user_id, body, payment_method=body.payment_method)
        await self._start(
            "deposits",
            deposit,
            None,
            self.provider.create_deposit,
            "The payment provider is unavailable; nothing was charged",
        )
        return await self.deposit(user_id, deposit.id)

    async def create_payout(self, user_id: str, body: CreatePayout) -> Payout:
        """Take ``amount`` out of ``available`` now (402 when short); a failed
        payout puts it back."""
        await self._check(user_id, body.currency)
        destination = body.destination or self.provider.default_destination
        problem = self.provider.check_destination(destination)
        if problem:
            raise ValidationFailed.field("destination", problem)
        payout = self._pending(PayoutRecord, user_id, body, destination=destination)
        await self._start(
            "payouts",
            payout,
            self._money("payout", payout, (user_id, "available"), self.external, payout.created_at),
            self.provider.create_payout,
            "The payment provider is unavailable; the payout was returned to your balance",
        )
        return await self.payout(user_id, payout.id)

    async def _check(self, user_id: str, currency: str) -> None:
        await self.market.user(user_id)
        self.market.check_currency(currency)

    def _pending(
        self, kind: type[Payment], user_id: str, body: CreateDeposit | CreatePayout, **fields: Any
    ) -> Payment:
        """A new pending deposit or payout of ``body``'s amount."""
        now = now_iso()
        return kind(
            id=new_id(),
            user_id=user_id,
            amount=body.amount,
            currency=body.currency,
            provider=self.provider.name,
            status="pending",
            created_at=now,
            updated_at=now,
            **fields,
        )

    async def _start(
        self,
        table: str,
        record: Payment,
        money: MovementRecord | None,
        start: Callable[[Payment], Awaitable[str]],
        unavailable: str,
    ) -> None:
        """Write the pending ``record`` (with ``money``), then have the provider
        start it. A provider that is down fails it at once (a payout's money
        comes back): 503 ``unavailable``."""
        await self.market.apply(Transition(inserts=[record], movement=money))
        try:
            ref = await start(record)
        except ProviderError as exc:
            undo = self._refund(record) if isinstance(record, PayoutRecord) else None
            await self._settle(table, record.id, "failed", "provider_error", None, undo)
            raise Unavailable(unavailable) from exc
        try:
            await self.market.apply(
                Transition(
                    changes=[
                        Change(table, record.id, {"provider_ref": None}, {"provider_ref": ref})
                    ]
                )
            )
        except ConditionFailed:
            pass  # the webhook came first and set it

    def _money(
        self,
        kind: str,
        record: Payment,
        source: tuple[str, str],
        target: tuple[str, str],
        at: str | None = None,
    ) -> MovementRecord:
        """The movement of a deposit's or payout's amount, from one (owner,
        account) to another, at ``at`` (default: now)."""
        ref_type = "deposit" if isinstance(record, DepositRecord) else "payout"
        return transfer(
            kind,
            ref_type,
            record.id,
            at or now_iso(),
            record.currency,
            record.amount,
            source,
            target,
        )

    def _refund(self, payout: PayoutRecord) -> MovementRecord:
        return self._money("payout_refund", payout, self.external, (payout.user_id, "available"))

    async def _settle(
        self,
        table: str,
        row_id: str,
        status: str,
        reason: str | None,
        event_id: str | None,
        money: MovementRecord | None,
    ) -> Settled:
        """``pending`` -> ``status`` with ``money``, in one transaction with the
        event id: "applied", "duplicate" (the event was processed already) or
        "not_pending" (the row was settled otherwise)."""
        try:
            await self.market.apply(
                Transition(
                    event_id=event_id,
                    movement=money,
                    changes=[
                        Change(
                            table,
                            row_id,
                            {"status": "pending"},
                            {"status": status, "failure_reason": reason, "updated_at": now_iso()},
                        )
                    ],
                )
            )
        except DuplicateError:
            return "duplicate"
        except ConditionFailed:
            return "not_pending"
        return "applied"

    # Webhooks

    async def handle_webhook(self, raw: bytes, signature: str | None) -> WebhookAck:
        """Verify, then apply a provider event at most once. 200 for a replay."""
        verify(self.webhook_secret, raw, signature)
        try:
            event = WebhookEvent.model_validate(orjson.loads(raw))
        except orjson.JSONDecodeError as exc:
            raise MalformedRequest("Webhook body is not JSON") from exc
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc) from exc
        what, status = event.type.split(".", 1)
        table = f"{what}s"
        record: DepositRecord | PayoutRecord | None = (
            await self.store.market.get_deposit(event.data.id)
            if what == "deposit"
            else await self.store.market.get_payout(event.data.id)
        )
        if record is None:
            raise NotFound(f"No such {what} {event.data.id}")
        if (event.data.amount, event.data.currency) != (record.amount, record.currency):
            raise ValidationFailed.field("data.amount", "Amount or currency does not match")
        money = None
        if isinstance(record, DepositRecord) and status == "succeeded":
            money = self._money("deposit", record, self.external, (record.user_id, "available"))
        elif isinstance(record, PayoutRecord) and status == "failed":
            money = self._refund(record)
        outcome = await self._settle(
            table,
            record.id,
            status,
            event.data.failure_reason if status == "failed" else None,
            event.id,
            money,
        )
        if outcome == "duplicate":
            return WebhookAck(received=True, duplicate=True)
        if outcome == "not_pending":
            log.warning(
                "webhook %s (%s) ignored: %s %s is no longer pending",
                event.id,
                event.type,
                what,
                record.id,
            )
            return WebhookAck(received=True, duplicate=False)
        settled = (
            view(Deposit, await self.store.market.get_deposit(record.id))
            if what == "deposit"
            else view(Payout, await self.store.market.get_payout(record.id))
        )
        await self.market.notify(
            record.user_id, event.type, {f"{what}_id": record.id, what: data(settled)}
        )
        return WebhookAck(received=True, duplicate=False)
