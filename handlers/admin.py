"""``/admin``: role changes."""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import PrivateUser, RoleUpdate
from hub.http import json_response, read_body

from .routing import Route, services_of


async def set_role(request: web.Request) -> web.Response:
    body = await read_body(request, RoleUpdate)
    user = await services_of(request).accounts.set_role(request.match_info["id"], body.role)
    return json_response(user)


ROUTES: list[Route] = [
    Route(
        "PATCH",
        "/admin/users/{id}",
        set_role,
        "Change a user's role (admin)",
        "admin",
        role="admin",
        body=RoleUpdate,
        response=PrivateUser,
        errors=(403,),
    ),
]
