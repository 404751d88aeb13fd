"""Thin REST handlers: parse, call the domain service, shape the response.

``ROUTES`` is the single list of operations: it registers them under
``/api/v1`` and generates the OpenAPI document, so the two never disagree.
"""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import (
    AuthResult, BlockEntry, BlockList, LoginRequest, LogoutRequest, PrivateUser, ProfileUpdate,
    PublicUser, RefreshRequest, RegisterRequest, RoleUpdate,
)

from . import admin, auth, health, users
from .openapi import API_PREFIX, build_openapi, openapi_handler
from .routing import Route

ROUTES: list[Route] = [
    Route("GET", "/healthz", health.healthz, "Liveness", "health", auth=False),
    Route("GET", "/readyz", health.readyz, "Readiness: storage (and Redis) answer", "health",
          auth=False, errors=(503,)),
    Route("POST", "/auth/register", auth.register, "Create an account", "auth", auth=False,
          body=RegisterRequest, response=AuthResult, status=201, errors=(409,)),
    Route("POST", "/auth/login", auth.login, "Log in", "auth", auth=False,
          body=LoginRequest, response=AuthResult, errors=(401,)),
    Route("POST", "/auth/refresh", auth.refresh, "Rotate a refresh token", "auth", auth=False,
          body=RefreshRequest, response=AuthResult, errors=(401,)),
    Route("POST", "/auth/logout", auth.logout, "Revoke a refresh token's family", "auth",
          auth=False, body=LogoutRequest, status=204),
    Route("GET", "/auth/me", auth.me, "The caller's own account", "auth", response=PrivateUser),
    Route("PATCH", "/users/me", users.update_me, "Update the caller's profile", "users",
          body=ProfileUpdate, response=PrivateUser),
    Route("GET", "/users/me/blocks", users.list_blocks, "Users the caller blocked", "users",
          response=BlockList),
    Route("GET", "/users/{id}", users.get_user, "A public profile", "users", response=PublicUser),
    Route("POST", "/users/{id}/block", users.block, "Block a user", "users",
          response=BlockEntry),
    Route("DELETE", "/users/{id}/block", users.unblock, "Unblock a user", "users", status=204),
    Route("PATCH", "/admin/users/{id}", admin.set_role, "Change a user's role (admin)", "admin",
          body=RoleUpdate, response=PrivateUser, errors=(403,)),
]

UNVERSIONED = ("/healthz", "/readyz")


def setup_routes(app: web.Application) -> None:
    for route in ROUTES:
        app.router.add_route(route.method, API_PREFIX + route.path, route.handler)
        if route.path in UNVERSIONED:
            app.router.add_route(route.method, route.path, route.handler)
    document = build_openapi(ROUTES, version="0.1.0")
    app.router.add_get(API_PREFIX + "/openapi.json", openapi_handler(document))
