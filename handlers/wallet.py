"""The wallet and the payment provider's webhook."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_body, read_query
from hub.marketplace.models import CreateDeposit, CreatePayout, PageQuery
from hub.payments import SIGNATURE_HEADER

from .routing import by_id_action, hub_of, user_id_of


async def get_wallet(request: web.Request) -> web.Response:
    return json_response(await hub_of(request).wallet.balances(user_id_of(request)))


async def get_ledger(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(await hub_of(request).wallet.ledger(caller, query.cursor, query.limit))


async def create_deposit(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateDeposit)
    return json_response(await hub_of(request).wallet.create_deposit(caller, body), status=202)


get_deposit = by_id_action("wallet", "deposit", "get_deposit")


async def create_payout(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreatePayout)
    return json_response(await hub_of(request).wallet.create_payout(caller, body), status=202)


get_payout = by_id_action("wallet", "payout", "get_payout")


async def payments_webhook(request: web.Request) -> web.Response:
    """The signature covers the raw bytes, so the body is read raw, not parsed first."""
    raw = await request.read()
    ack = await hub_of(request).wallet.handle_webhook(raw, request.headers.get(SIGNATURE_HEADER))
    return json_response(ack)
