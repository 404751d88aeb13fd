"""``/admin``: role changes."""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import PrivateUser, RoleUpdate
from hub.http import json_response, read_body

from .routing import Route, services_of, user_id_of


async def set_role(request: web.Request) -> web.Response:
    body = await read_body(request, RoleUpdate)
    moderation = services_of(request).moderation  # audited (issue 20)
    user = await moderation.set_role(user_id_of(request), request.match_info["id"], body.role)
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
