"""The route table's shape, and what every thin handler needs from a request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

from hub import json_input
from hub.accounts import ClientInfo
from hub.errors import Forbidden, HubError
from hub.http import bearer_claims, error_response, json_response
from hub.idempotency import Reply
from hub.services import SERVICES, Services
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
    auth: bool = True  # False: anyone may call it (tests/test_routes.py lists these)
    role: str | None = None  # the stored role the caller must have ("admin"), else 403
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type | None = None  # a pydantic model or a TypedDict (the shape sent)
    status: int = 200
    answers: tuple[int, ...] = ()  # other statuses answered with ``response``, not a problem
    errors: tuple[int, ...] = ()
    body_optional: bool = False  # an empty body stands for {}
    description: str | None = None  # longer OpenAPI text: states, rules, errors
    # False only for a POST whose body or answer holds a credential (a password,
    # a TOTP secret, recovery codes): a key's record would keep it (its answer
    # as sent, a hash of its body) for 24 h, so such a route takes no key.
    keyed: bool = True
    # True for a page a browser opens (an email's link): its answer, and the
    # errors it lists, come as text/html.
    html: bool = False

    @property
    def idempotent(self) -> bool:
        """Every authenticated POST takes an Idempotency-Key (but those that
        must not be kept, ``keyed=False``): no route that creates or moves
        something can be declared without one."""
        return self.method == "POST" and self.auth and self.keyed


def services_of(request: web.Request) -> Services:
    """The domain services, as the composition root put them on the app."""
    return request.app[SERVICES]


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
        action = getattr(getattr(services_of(request), service), method)
        return json_response(await action(user_id_of(request), request.match_info["id"]))

    handler.__name__ = name
    return handler


def serving(route: Route) -> Handler:
    """The handler registered for ``route``: its own, behind the role the route
    declares, and, for a route that takes an Idempotency-Key, served through
    the hub's Idempotency (hub/idempotency.py) whether or not the client sent
    a key."""
    handler = route.handler
    if route.role is not None:
        handler = _requiring(route.role, handler)
    if route.idempotent:
        handler = _idempotent(f"{route.method} {route.path}", handler)
    handler.__name__ = route.handler.__name__
    return handler


def _requiring(role: str, handler: Handler) -> Handler:
    async def checked(request: web.Request) -> web.StreamResponse:
        me = await services_of(request).accounts.me(user_id_of(request))
        if me.role != role:  # the stored role, not the token's
            raise Forbidden(f"Only {role}s can do this")
        return await handler(request)

    return checked


def _idempotent(operation: str, handler: Handler) -> Handler:
    async def once(request: web.Request) -> web.StreamResponse:
        caller = user_id_of(request)  # 401 before any key is claimed
        identity = {"path": request.path, "body": _body_identity(await request.read())}

        async def action() -> Reply:
            try:
                response = await handler(request)
            except HubError as exc:
                response = error_response(request, exc)
            assert isinstance(response, web.Response)
            body = response.body if isinstance(response.body, (bytes, bytearray)) else b""
            return Reply(response.status, response.content_type, bytes(body))

        reply = await services_of(request).idempotency.run(
            caller, operation, request.headers.get("Idempotency-Key"), identity, action
        )
        return web.Response(
            status=reply.status, body=reply.body or None, content_type=reply.content_type
        )

    return once


def _body_identity(raw: bytes) -> object:
    """What two requests must share to be the same request: the parsed body
    (so spacing and key order do not matter; no body is ``{}``), or the raw
    text of one that does not parse (the handler refuses it anyway)."""
    if not raw:
        return {}
    try:
        return json_input.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
