"""``/auth``: register, login, refresh, logout, me, and the caller's sessions."""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest
from hub.http import json_response, read_body

from .routing import claims_of, client_of, hub_of, user_id_of


async def register(request: web.Request) -> web.Response:
    body = await read_body(request, RegisterRequest)
    result = await hub_of(request).accounts.register(body, client_of(request))
    return json_response(result, status=201)


async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginRequest)
    return json_response(await hub_of(request).accounts.login(body, client_of(request)))


async def refresh(request: web.Request) -> web.Response:
    body = await read_body(request, RefreshRequest)
    return json_response(await hub_of(request).accounts.refresh(body.refresh_token))


async def logout(request: web.Request) -> web.Response:
    body = await read_body(request, LogoutRequest)
    await hub_of(request).accounts.logout(body.refresh_token)
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    return json_response(await hub_of(request).accounts.me(user_id_of(request)))


async def list_sessions(request: web.Request) -> web.Response:
    claims = claims_of(request)
    sessions = await hub_of(request).sessions.list_active(claims.user_id, claims.session_id)
    return json_response(sessions)


async def revoke_session(request: web.Request) -> web.Response:
    await hub_of(request).sessions.revoke(user_id_of(request), request.match_info["id"])
    return web.Response(status=204)


async def logout_all(request: web.Request) -> web.Response:
    await hub_of(request).sessions.revoke_all(user_id_of(request))
    return web.Response(status=204)
