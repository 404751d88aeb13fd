"""``/users``: profiles and blocks."""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import (
    BlockEntry,
    BlockList,
    PrivateUser,
    ProfileUpdate,
    PublicUser,
    UserDirectoryQuery,
    UserPage,
)
from hub.http import json_response, read_body, read_query

from .routing import Route, services_of, user_id_of


async def list_users(request: web.Request) -> web.Response:
    """``GET /users``: the people directory, one page of public profiles."""
    caller = user_id_of(request)
    query = read_query(request, UserDirectoryQuery)
    return json_response(await services_of(request).accounts.directory(caller, query))


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
        "/users",
        list_users,
        "Find people by name, headline or skill",
        "users",
        query=UserDirectoryQuery,
        response=UserPage,
        description=(
            "Public profiles ordered by display name (code point order: capitals first),"
            " then id. Every word of `q` must occur, case-insensitively, in the display"
            " name, the headline or one of the skills; email is never searched. `role`"
            " keeps one role; `skills` (comma-separated, at most 50) keeps users who have"
            " every one, compared whole and case-insensitively. The caller and users on"
            " either side of a block with the caller are never listed."
        ),
    ),
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
