"""``/auth``: register, login, refresh, logout, me, and the caller's sessions."""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import (
    AuthResult,
    LoginRequest,
    LogoutRequest,
    PrivateUser,
    RefreshRequest,
    RegisterRequest,
    SessionList,
)
from hub.http import json_response, read_body

from .routing import Route, claims_of, client_of, services_of, user_id_of


async def register(request: web.Request) -> web.Response:
    body = await read_body(request, RegisterRequest)
    result = await services_of(request).accounts.register(body, client_of(request))
    return json_response(result, status=201)


async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginRequest)
    return json_response(await services_of(request).accounts.login(body, client_of(request)))


async def refresh(request: web.Request) -> web.Response:
    body = await read_body(request, RefreshRequest)
    return json_response(await services_of(request).accounts.refresh(body.refresh_token))


async def logout(request: web.Request) -> web.Response:
    body = await read_body(request, LogoutRequest)
    await services_of(request).accounts.logout(body.refresh_token)
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    return json_response(await services_of(request).accounts.me(user_id_of(request)))


async def list_sessions(request: web.Request) -> web.Response:
    claims = claims_of(request)
    sessions = await services_of(request).sessions.list_active(claims.user_id, claims.session_id)
    return json_response(sessions)


async def revoke_session(request: web.Request) -> web.Response:
    await services_of(request).sessions.revoke(user_id_of(request), request.match_info["id"])
    return web.Response(status=204)


async def logout_all(request: web.Request) -> web.Response:
    await services_of(request).sessions.revoke_all(user_id_of(request))
    return web.Response(status=204)


ROUTES: list[Route] = [
    Route(
        "POST",
        "/auth/register",
        register,
        "Create an account",
        "auth",
        auth=False,
        body=RegisterRequest,
        response=AuthResult,
        status=201,
        errors=(409,),
    ),
    Route(
        "POST",
        "/auth/login",
        login,
        "Log in",
        "auth",
        auth=False,
        body=LoginRequest,
        response=AuthResult,
        errors=(401,),
    ),
    Route(
        "POST",
        "/auth/refresh",
        refresh,
        "Rotate a refresh token",
        "auth",
        auth=False,
        body=RefreshRequest,
        response=AuthResult,
        errors=(401,),
    ),
    Route(
        "POST",
        "/auth/logout",
        logout,
        "End the session of a refresh token",
        "auth",
        auth=False,
        body=LogoutRequest,
        status=204,
        description="Revokes the refresh token's family, which is its session: the "
        "session's access tokens answer 401 and its sockets get auth:revoked and are "
        "disconnected. An unknown refresh token is 204 too.",
    ),
    Route("GET", "/auth/me", me, "The caller's own account", "auth", response=PrivateUser),
    Route(
        "GET",
        "/auth/sessions",
        list_sessions,
        "The caller's active sessions, newest first",
        "auth",
        response=SessionList,
        description="One session per login (or registration); current marks the session "
        "of the token that asks.",
    ),
    Route(
        "DELETE",
        "/auth/sessions/{id}",
        revoke_session,
        "Revoke one of the caller's sessions",
        "auth",
        status=204,
        description="Its refresh and access tokens stop working (401) and its sockets get "
        "auth:revoked and are disconnected, on every process. Someone else's session, or "
        "one already revoked, is 404.",
    ),
    Route(
        "POST",
        "/auth/logout-all",
        logout_all,
        "Revoke every session of the caller, this one too",
        "auth",
        status=204,
    ),
]
