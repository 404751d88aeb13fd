"""Who may call what, as the route table declares it.

Anyone may call the routes listed here, and only admins the admin ones: a route
that changes either list changes this test. Every other route answers 401
without a token, and every admin route 403 for a user who is not an admin.
"""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from handlers import ROUTES
from handlers.routing import Route
from users import Api

UNAUTHENTICATED = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/auth/login/mfa"),  # the mfa_token in the body is the credential
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),  # the refresh token in the body is the credential
    ("POST", "/auth/password/forgot"),  # 202 whoever asks: the mail goes to the address
    ("POST", "/auth/password/reset"),  # the mailed token in the body is the credential
    ("POST", "/auth/email/verify"),  # the mailed token in the body is the credential
    ("POST", "/payments/webhook"),  # signed by the payment provider
    # The local file store's URLs: the HMAC signature in the query is the credential.
    ("PUT", "/files/{id}"),
    ("GET", "/files/{id}"),
    ("GET", "/files/{id}/thumbnail"),
    # One-click unsubscribe links in emails: the signed token in the query is the credential.
    ("GET", "/email/unsubscribe"),
    ("POST", "/email/unsubscribe"),
}
ADMIN_ONLY = {
    ("PATCH", "/admin/users/{id}"),
    ("POST", "/admin/milestones/{id}/resolve"),
    ("POST", "/networking/lobbies"),
    ("GET", "/networking/analytics/usage"),
    ("POST", "/admin/webhooks"),
    ("GET", "/admin/webhooks"),
    ("DELETE", "/admin/webhooks/{id}"),
    ("GET", "/admin/webhooks/{id}/deliveries"),
    # Moderation (issue 20)
    ("GET", "/admin/reports"),
    ("POST", "/admin/reports/{id}/resolve"),
    ("GET", "/admin/reports/{id}/context"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users/{id}"),
    ("POST", "/admin/users/{id}/suspend"),
    ("POST", "/admin/users/{id}/ban"),
    ("POST", "/admin/users/{id}/unban"),
    ("GET", "/admin/disputes"),
    ("GET", "/admin/audit"),
}
SOME_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"  # shaped like a hub id, naming nothing


def url(route: Route) -> str:
    return "/api/v1" + re.sub(r"{\w+}", SOME_ID, route.path)


def test_the_unauthenticated_and_admin_routes() -> None:
    assert {(r.method, r.path) for r in ROUTES if not r.auth} == UNAUTHENTICATED
    assert {(r.method, r.path) for r in ROUTES if r.role == "admin"} == ADMIN_ONLY
    assert all(r.auth for r in ROUTES if r.role is not None)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.auth], ids=lambda r: r.method + r.path)
async def test_every_other_route_needs_a_token(http: TestClient, route: Route) -> None:
    response = await http.request(route.method, url(route), json={})
    assert response.status == 401, await response.text()
    assert (await response.json())["code"] == "unauthorized"


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.role == "admin"], ids=lambda r: r.method + r.path
)
async def test_admin_routes_refuse_everyone_else(http: TestClient, api: Api, route: Route) -> None:
    client = await api.register("cleo", role="client")
    response = await http.request(route.method, url(route), json={}, headers=api.auth(client))
    assert response.status == 403, await response.text()
    assert (await response.json())["code"] == "forbidden"
