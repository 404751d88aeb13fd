"""``/auth``: register, login, refresh, logout, me."""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest
from hub.http import json_response, read_body

from .routing import hub_of, user_id_of


async def register(request: web.Request) -> web.Response:
    body = await read_body(request, RegisterRequest)
    return json_response(await hub_of(request).accounts.register(body), status=201)


async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginRequest)
    return json_response(await hub_of(request).accounts.login(body))


async def refresh(request: web.Request) -> web.Response:
    body = await read_body(request, RefreshRequest)
    return json_response(await hub_of(request).accounts.refresh(body.refresh_token))


async def logout(request: web.Request) -> web.Response:
    body = await read_body(request, LogoutRequest)
    await hub_of(request).accounts.logout(body.refresh_token)
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    return json_response(await hub_of(request).accounts.me(user_id_of(request)))
