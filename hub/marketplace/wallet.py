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
from typing import Any

import orjson
from pydantic import ValidationError

from storage.errors import ConditionFailed, DuplicateError
from storage.records import Change, DepositRecord, PayoutRecord, Transition

from ..clock import new_id, now_iso
from ..cursors import decode_cursor, encode_cursor
from ..errors import Forbidden, MalformedRequest, NotFound, Unavailable, ValidationFailed
from ..payments import PaymentProvider, ProviderError, verify
from .common import Market, movement
from .models import CreateDeposit, CreatePayout, WebhookEvent, page
from .views import deposit_view, entry_view, payout_view

log = logging.getLogger(__name__)


class WalletService:
    def __init__(self, market: Market, provider: PaymentProvider, webhook_secret: str) -> None:
        self.market = market
        self.store = market.store
        self.provider = provider
        self.webhook_secret = webhook_secret

    @property
    def external(self) -> str:
        return f"provider:{self.provider.name}"

    # Reading

    async def balances(self, user_id: str) -> dict[str, Any]:
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
        return {
            "balances": [
                {"currency": c, **found.get(c, {"available": 0, "held": 0})} for c in currencies
            ]
        }

    async def ledger(self, user_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
        rows = await self.store.ledger.entries(
            user_id, before=decode_cursor(cursor), limit=limit + 1
        )
        items = rows[:limit]
        return page(
            [entry_view(e) for e in items],
            encode_cursor(items[-1].id) if len(rows) > limit else None,
        )

    async def deposit(self, user_id: str, deposit_id: str) -> dict[str, Any]:
        record = await self.store.market.get_deposit(deposit_id)
        if record is None:
            raise NotFound("No such deposit")
        await self._own(user_id, record.user_id, "deposit")
        return deposit_view(record)

    async def payout(self, user_id: str, payout_id: str) -> dict[str, Any]:
        record = await self.store.market.get_payout(payout_id)
        if record is None:
            raise NotFound("No such payout")
        await self._own(user_id, record.user_id, "payout")
        return payout_view(record)

    async def _own(self, user_id: str, owner_id: str, what: str) -> None:
        if user_id != owner_id and not await self.market.is_admin(user_id):
            raise Forbidden(f"This {what} is someone else's")

    # Deposits and payouts

    async def create_deposit(self, user_id: str, body: CreateDeposit) -> dict[str, Any]:
        """A pending deposit; the provider confirms (or declines) it by webhook."""
        await self.market.user(user_id)
        self.market.check_currency(body.currency)
        problem = self.provider.check_payment_method(body.payment_method)
        if problem:
            raise ValidationFailed.field("payment_method", problem)
        now = now_iso()
        deposit = DepositRecord(
            id=new_id(),
            user_id=user_id,
            amount=body.amount,
            currency=body.currency,
            payment_method=body.payment_method,
            provider=self.provider.name,
            status="pending",
            created_at=now,
            updated_at=now,
        )
        await self.market.apply(Transition(inserts=[deposit]))
        try:
            ref = await self.provider.create_deposit(deposit)
        except ProviderError as exc:
            await self._settle("deposits", deposit.id, "failed", "provider_error", None, None)
            raise Unavailable("The payment provider is unavailable; nothing was charged") from exc
        await self._set_ref("deposits", deposit.id, ref)
        return await self.deposit(user_id, deposit.id)

    async def create_payout(self, user_id: str, body: CreatePayout) -> dict[str, Any]:
        """Take ``amount`` out of ``available`` now (402 when short); a failed
        payout puts it back."""
        await self.market.user(user_id)
        self.market.check_currency(body.currency)
        destination = body.destination or self.provider.default_destination
        problem = self.provider.check_destination(destination)
        if problem:
            raise ValidationFailed.field("destination", problem)
        now = now_iso()
        payout = PayoutRecord(
            id=new_id(),
            user_id=user_id,
            amount=body.amount,
            currency=body.currency,
            destination=destination,
            provider=self.provider.name,
            status="pending",
            created_at=now,
            updated_at=now,
        )
        await self.market.apply(
            Transition(
                inserts=[payout],
                movement=movement(
                    "payout",
                    "payout",
                    payout.id,
                    now,
                    (user_id, "available", body.currency, -body.amount, "payout"),
                    (self.external, "external", body.currency, body.amount, "payout"),
                ),
            )
        )
        try:
            ref = await self.provider.create_payout(payout)
        except ProviderError as exc:
            await self._settle(
                "payouts", payout.id, "failed", "provider_error", None, self._refund(payout)
            )
            raise Unavailable(
                "The payment provider is unavailable; the payout was returned to your balance"
            ) from exc
        await self._set_ref("payouts", payout.id, ref)
        return await self.payout(user_id, payout.id)

    def _refund(self, payout: PayoutRecord) -> Any:
        return movement(
            "payout_refund",
            "payout",
            payout.id,
            now_iso(),
            (self.external, "external", payout.currency, -payout.amount, "payout_refund"),
            (payout.user_id, "available", payout.currency, payout.amount, "payout_refund"),
        )

    async def _set_ref(self, table: str, row_id: str, ref: str) -> None:
        try:
            await self.market.apply(
                Transition(
                    changes=[Change(table, row_id, {"provider_ref": None}, {"provider_ref": ref})]
                )
            )
        except ConditionFailed:
            pass  # the webhook came first and set it

    async def _settle(
        self,
        table: str,
        row_id: str,
        status: str,
        reason: str | None,
        event_id: str | None,
        money: Any,
    ) -> str:
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

    async def handle_webhook(self, raw: bytes, signature: str | None) -> dict[str, Any]:
        """Verify, then apply a provider event at most once. 200 for a replay."""
        verify(self.webhook_secret, raw, signature)
        try:
            event = WebhookEvent.model_validate(orjson.loads(raw))
        except orjson.JSONDecodeError as exc:
            raise MalformedRequest("Webhook body is not JSON") from exc
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc) from exc
        data = event.data
        is_deposit = event.type.startswith("deposit.")
        record: DepositRecord | PayoutRecord | None = (
            await self.store.market.get_deposit(data.id)
            if is_deposit
            else await self.store.market.get_payout(data.id)
        )
        if record is None:
            raise NotFound(f"No such {'deposit' if is_deposit else 'payout'} {data.id}")
        if (data.amount, data.currency) != (record.amount, record.currency):
            raise ValidationFailed.field("data.amount", "Amount or currency does not match")
        money = None
        if event.type == "deposit.succeeded":
            money = movement(
                "deposit",
                "deposit",
                record.id,
                now_iso(),
                (self.external, "external", record.currency, -record.amount, "deposit"),
                (record.user_id, "available", record.currency, record.amount, "deposit"),
            )
        elif event.type == "payout.failed":
            money = self._refund(record)  # type: ignore[arg-type]
        status = event.type.split(".", 1)[1]
        outcome = await self._settle(
            "deposits" if is_deposit else "payouts",
            record.id,
            status,
            data.failure_reason if status == "failed" else None,
            event.id,
            money,
        )
        if outcome == "duplicate":
            return {"received": True, "duplicate": True}
        if outcome == "not_pending":
            log.warning(
                "webhook %s (%s) ignored: %s %s is no longer pending",
                event.id,
                event.type,
                "deposit" if is_deposit else "payout",
                record.id,
            )
            return {"received": True, "duplicate": False}
        if is_deposit:
            updated = await self.store.market.get_deposit(record.id)
            view = deposit_view(updated)  # type: ignore[arg-type]
            await self.market.notify(
                record.user_id, event.type, {"deposit_id": record.id, "deposit": view}
            )
        else:
            updated_payout = await self.store.market.get_payout(record.id)
            view = payout_view(updated_payout)  # type: ignore[arg-type]
            await self.market.notify(
                record.user_id, event.type, {"payout_id": record.id, "payout": view}
            )
        return {"received": True, "duplicate": False}
