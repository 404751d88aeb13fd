"""The wallet and the payment provider's webhook."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_body, read_query
from hub.marketplace.models import (
    CreateDeposit,
    CreatePayout,
    Deposit,
    LedgerPage,
    PageQuery,
    Payout,
    Wallet,
    WebhookAck,
)
from hub.payments import SIGNATURE_HEADER

from .routing import Route, by_id_action, services_of, user_id_of


async def get_wallet(request: web.Request) -> web.Response:
    return json_response(await services_of(request).wallet.balances(user_id_of(request)))


async def get_ledger(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await services_of(request).wallet.ledger(caller, query.cursor, query.limit)
    )


async def create_deposit(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateDeposit)
    return json_response(await services_of(request).wallet.create_deposit(caller, body), status=202)


get_deposit = by_id_action("wallet", "deposit", "get_deposit")


async def create_payout(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreatePayout)
    return json_response(await services_of(request).wallet.create_payout(caller, body), status=202)


get_payout = by_id_action("wallet", "payout", "get_payout")


async def payments_webhook(request: web.Request) -> web.Response:
    """The signature covers the raw bytes, so the body is read raw, not parsed first."""
    raw = await request.read()
    ack = await services_of(request).wallet.handle_webhook(
        raw, request.headers.get(SIGNATURE_HEADER)
    )
    return json_response(ack)


ROUTES: list[Route] = [
    Route(
        "GET",
        "/wallet",
        get_wallet,
        "The caller's balances per currency",
        "wallet",
        response=Wallet,
    ),
    Route(
        "GET",
        "/wallet/ledger",
        get_ledger,
        "The caller's ledger entries, newest first",
        "wallet",
        query=PageQuery,
        response=LedgerPage,
        description="amount is signed (positive credits the caller); per currency the "
        "entries sum to available + held.",
    ),
    Route(
        "POST",
        "/wallet/deposits",
        create_deposit,
        "Deposit with a payment method",
        "wallet",
        body=CreateDeposit,
        response=Deposit,
        status=202,
        errors=(503,),
        description="pending until the provider's webhook: succeeded credits available, "
        "failed credits nothing. Sandbox: pm_card_ok succeeds, pm_card_declined fails.",
    ),
    Route(
        "GET",
        "/wallet/deposits/{id}",
        get_deposit,
        "One of the caller's deposits",
        "wallet",
        response=Deposit,
        errors=(403,),
    ),
    Route(
        "POST",
        "/wallet/payouts",
        create_payout,
        "Pay out from available",
        "wallet",
        body=CreatePayout,
        response=Payout,
        status=202,
        errors=(402, 503),
        description="Takes amount out of available now (402 insufficient_funds when short); "
        "pending -> paid|failed by webhook, and a failed payout returns the money. Sandbox "
        "destinations: ba_ok (default) is paid, ba_fail fails.",
    ),
    Route(
        "GET",
        "/wallet/payouts/{id}",
        get_payout,
        "One of the caller's payouts",
        "wallet",
        response=Payout,
        errors=(403,),
    ),
    Route(
        "POST",
        "/payments/webhook",
        payments_webhook,
        "Payment provider events (signed)",
        "wallet",
        auth=False,
        response=WebhookAck,
        description="Header X-Hub-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "
        '"<t>.<raw body>")>; 400 when wrong or more than 5 minutes off. Body: {id, type: '
        "deposit.succeeded|deposit.failed|payout.paid|payout.failed, created, data: {id, "
        "amount, currency, provider_ref, failure_reason}}. Idempotent by event id: a replay "
        "answers 200 with duplicate: true and changes nothing.",
    ),
]
