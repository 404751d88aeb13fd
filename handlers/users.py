"""``/users``: profiles and blocks."""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import BlockEntry, BlockList, PrivateUser, ProfileUpdate, PublicUser
from hub.http import json_response, read_body

from .routing import Route, services_of, user_id_of


async def get_user(request: web.Request) -> web.Response:
    user_id_of(request)
    return json_response(await services_of(request).accounts.profile(request.match_info["id"]))


async def get_me(request: web.Request) -> web.Response:
    """``GET /users/me``: the caller's private profile, the same as ``GET /auth/me``."""
    return json_response(await services_of(request).accounts.me(user_id_of(request)))


async def update_me(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, ProfileUpdate)
    return json_response(await services_of(request).accounts.update_profile(caller, body))


async def block(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    entry = await services_of(request).accounts.block(caller, request.match_info["id"])
    return json_response(entry)


async def unblock(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    await services_of(request).accounts.unblock(caller, request.match_info["id"])
    return web.Response(status=204)


async def list_blocks(request: web.Request) -> web.Response:
    entries = await services_of(request).accounts.blocked_users(user_id_of(request))
    return json_response(BlockList(items=entries))


ROUTES: list[Route] = [
    Route(
        "GET",
        "/users/me",
        get_me,
        "The caller's own profile (as GET /auth/me)",
        "users",
        response=PrivateUser,
    ),
    Route(
        "PATCH",
        "/users/me",
        update_me,
        "Update the caller's profile",
        "users",
        body=ProfileUpdate,
        response=PrivateUser,
    ),
    Route(
        "GET",
        "/users/me/blocks",
        list_blocks,
        "Users the caller blocked",
        "users",
        response=BlockList,
    ),
    Route("GET", "/users/{id}", get_user, "A public profile", "users", response=PublicUser),
    Route("POST", "/users/{id}/block", block, "Block a user", "users", response=BlockEntry),
    Route("DELETE", "/users/{id}/block", unblock, "Unblock a user", "users", status=204),
]
