"""The route table's shape, and what every thin handler needs from a request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

from hub.accounts import ClientInfo
from hub.context import HUB, Hub
from hub.http import bearer_claims, json_response
from hub.tokens import AccessClaims

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One REST operation: what serves it and what the OpenAPI document says of it."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: bool = True
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    idempotent: bool = False  # accepts an Idempotency-Key header
    body_optional: bool = False  # an empty body stands for {}
    description: str | None = None  # longer OpenAPI text: states, rules, errors


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB]


def user_id_of(request: web.Request) -> str:
    """The authenticated caller (401 problem when the bearer token is bad,
    expired or of a revoked session)."""
    return claims_of(request).user_id


def claims_of(request: web.Request) -> AccessClaims:
    """The authenticated caller's token claims, its session included (401 as above)."""
    return bearer_claims(request)


def client_of(request: web.Request) -> ClientInfo:
    """Where a login comes from: the User-Agent and the peer address (a reverse
    proxy's, behind one: X-Forwarded-For is not trusted)."""
    return ClientInfo(user_agent=request.headers.get("User-Agent"), ip=request.remote)


def by_id_action(service: str, method: str, name: str) -> Handler:
    """The handler of a route that only names a thing by ``{id}``: it calls
    ``hub.<service>.<method>(caller, id)`` and answers with the view.
    ``name`` becomes the handler's name (the route's OpenAPI operationId)."""

    async def handler(request: web.Request) -> web.Response:
        action = getattr(getattr(hub_of(request), service), method)
        return json_response(await action(user_id_of(request), request.match_info["id"]))

    handler.__name__ = name
    return handler


async def idempotent_create(request: web.Request, caller: str, operation: str, body: BaseModel,
                            status: int, create: Callable[[], Awaitable[object]]) -> web.Response:
    """Run ``create`` once per ``Idempotency-Key``: a repeat with the same body
    replays the stored response, another body is 422 idempotency_mismatch."""

    async def action() -> tuple[int, object]:
        return status, await create()

    replayed_status, response = await hub_of(request).idempotency.run(
        caller, operation, request.headers.get("Idempotency-Key"),
        {"path": request.path, **body.model_dump()}, action)
    return json_response(response, status=replayed_status)
