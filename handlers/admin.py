"""``/admin``: role changes."""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import PrivateUser, RoleUpdate
from hub.errors import Forbidden
from hub.http import json_response, read_body

from .routing import Route, hub_of, user_id_of


async def require_admin(request: web.Request) -> str:
    """The caller's id, if their stored role (not the token's) is admin."""
    caller = user_id_of(request)
    me = await hub_of(request).accounts.me(caller)
    if me.role != "admin":
        raise Forbidden("Admins only")
    return caller


async def set_role(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await read_body(request, RoleUpdate)
    user = await hub_of(request).accounts.set_role(request.match_info["id"], body.role)
    return json_response(user)


ROUTES: list[Route] = [
    Route(
        "PATCH",
        "/admin/users/{id}",
        set_role,
        "Change a user's role (admin)",
        "admin",
        body=RoleUpdate,
        response=PrivateUser,
        errors=(403,),
    ),
]
