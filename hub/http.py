"""The REST plumbing: middlewares, JSON in and out, problem+json, bearer auth."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.typedefs import Middleware as _Middleware
from pydantic import BaseModel

from . import json_input
from .errors import HubError, MalformedRequest, RateLimited, Unauthorized, ValidationFailed
from .logs import request_id_var
from .ratelimit import Decision, Limit, RateLimiter
from .schema import validate
from .tokens import AccessClaims

log = logging.getLogger(__name__)
access_log = logging.getLogger("hub.access")

ModelT = TypeVar("ModelT", bound=BaseModel)
Middleware = _Middleware

# What auth_middleware made of a request's bearer token: the caller's claims,
# or the error to raise where a handler asks for the caller.
BEARER: web.RequestKey[AccessClaims | Exception] = web.RequestKey("bearer")

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
CODE_BY_STATUS = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_failed",
    429: "rate_limited",
    503: "unavailable",
}


# Calls and the echo check need the camera and microphone, on the hub's own page
# only; the other powerful features are off (only names browsers know: an unknown
# one is a console error).
def content_security_policy(file_origins: tuple[str, ...] = ()) -> str:
    """The page's CSP; ``file_origins`` are where it PUTs and GETs attachment
    bytes besides the hub itself (an object store's presigned URLs)."""
    connect = " ".join(("'self'", "ws:", "wss:", *file_origins))
    return (
        f"default-src 'self'; connect-src {connect}; "
        "img-src 'self' data: https: blob:; media-src 'self' blob:; frame-ancestors 'none'"
    )


PERMISSIONS_POLICY = (
    "camera=(self), microphone=(self), display-capture=(), geolocation=(), payment=(), usb=()"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": PERMISSIONS_POLICY,
}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

API_PREFIX = "/api/v1"
# Never rate limited: probes and the API description (plus everything outside
# /api/v1: /healthz, /readyz, /metrics, /socket.io/).
# The payment webhook is the provider calling back, proven by its signature:
# limiting it per IP would throttle every provider event through one bucket.
UNLIMITED_PATHS = frozenset(
    {
        API_PREFIX + "/healthz",
        API_PREFIX + "/readyz",
        API_PREFIX + "/openapi.json",
        API_PREFIX + "/payments/webhook",
    }
)
# Limited per client IP by the auth limit instead of the general REST limit.
AUTH_PATHS = frozenset(
    {
        API_PREFIX + "/auth/login",
        API_PREFIX + "/auth/login/mfa",
        API_PREFIX + "/auth/register",
        API_PREFIX + "/auth/refresh",
        API_PREFIX + "/auth/password/forgot",
        API_PREFIX + "/auth/password/reset",
        API_PREFIX + "/auth/email/verify",
    }
)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def problem(
    request: web.Request,
    status: int,
    detail: str,
    code: str | None = None,
    details: dict[str, Any] | None = None,
    extensions: dict[str, Any] | None = None,
) -> web.Response:
    """An RFC 7807 problem document; ``extensions`` are extra top-level members
    (never replacing a standard one)."""
    code = code or CODE_BY_STATUS.get(status, "internal")
    body: dict[str, Any] = {
        "type": f"https://hub.dev/problems/{code.replace('_', '-')}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.path,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    if extensions:
        body = {**extensions, **body}
    return web.Response(body=orjson.dumps(body), status=status, content_type=PROBLEM_TYPE)


async def read_body(request: web.Request, model: type[ModelT]) -> ModelT:
    """Parse and validate a JSON body: 400 when it is not JSON, 422 when it is wrong."""
    raw = await request.read()
    try:
        data = json_input.loads(raw) if raw else None
    except json_input.LoneSurrogate as exc:
        raise ValidationFailed.field(
            json_input.field_name(exc.path), json_input.UNICODE_MESSAGE
        ) from exc
    except json_input.InvalidJson as exc:
        raise MalformedRequest(f"Body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "Body must be a JSON object")
    return validate(model, data)


async def read_optional_body(request: web.Request, model: type[ModelT]) -> ModelT:
    """Like ``read_body``, but an empty body means ``{}`` (every field defaulted)."""
    if not await request.read():
        return validate(model, {})
    return await read_body(request, model)


def read_query(request: web.Request, model: type[ModelT]) -> ModelT:
    """Validate the query string; a parameter given twice is 422 (no silent pick)."""
    for name in request.query:
        if len(request.query.getall(name)) > 1:
            raise ValidationFailed.field(name, "Give this parameter once")
    return validate(model, dict(request.query))


def bearer_claims(request: web.Request) -> AccessClaims:
    """The caller, as ``auth_middleware`` authenticated the bearer token;
    Unauthorized when there is none or it was refused."""
    outcome: AccessClaims | Exception | None = request.get(BEARER)
    if outcome is None:
        raise Unauthorized("Send 'Authorization: Bearer <access token>'")
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def auth_middleware(authenticate: Callable[[str], Awaitable[AccessClaims]]) -> Middleware:
    """Authenticate the bearer token of an ``/api/v1`` request once (signature,
    expiry and session), for the rate limiter and the handler to read.

    Nothing is refused here: a route that needs a caller answers 401 through
    ``bearer_claims``, others ignore the header. Sits outside
    ``problem_middleware``, so any error (a store failure too) is kept and
    raised where a handler asks for the caller, inside it.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        token = _bearer_token(request) if request.path.startswith(API_PREFIX + "/") else None
        if token is not None:
            try:
                request[BEARER] = await authenticate(token)
            except Exception as exc:
                request[BEARER] = exc
        return await handler(request)

    return middleware


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    try:
        response = await handler(request)
        response.headers["X-Request-ID"] = request_id
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status,
            extra={
                "fields": {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
            },
        )
        return response
    finally:
        request_id_var.reset(token)


def error_response(request: web.Request, exc: HubError) -> web.Response:
    """The problem+json answer to a domain error (429s carry ``Retry-After``)."""
    response = problem(request, exc.status, exc.message, exc.code, exc.details, exc.extensions)
    if exc.code == "rate_limited" and exc.details is not None:
        response.headers["Retry-After"] = str(max(1, -(-exc.details["retry_after_ms"] // 1000)))
    return response


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as problem+json; internals never leak."""
    try:
        return await handler(request)
    except HubError as exc:
        return error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = problem(request, exc.status, exc.reason or TITLES.get(exc.status, "Error"))
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(request, 500, "Something went wrong on our side", "internal")


def rate_limit_middleware(limiter: RateLimiter, rest: Limit, auth: Limit) -> Middleware:
    """Token buckets on ``/api/v1``: ``auth`` per client IP on the auth POSTs,
    ``rest`` per user (valid bearer token) or per client IP on everything else.

    Sits just outside ``problem_middleware``, so every limited response, error
    or not, leaves with ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``
    (seconds until the bucket is full again); a refusal is a 429 problem with
    ``Retry-After``. The client IP is the peer address: behind a reverse proxy
    every anonymous client shares the proxy's bucket.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith(API_PREFIX + "/") or path in UNLIMITED_PATHS:
            return await handler(request)
        if request.method == "POST" and path in AUTH_PATHS:
            key, limit = f"rl:auth:{request.remote or 'unknown'}", auth
        else:
            key, limit = f"rl:rest:{_rest_identity(request)}", rest
        try:
            decision = await limiter.hit(key, limit)
        except Exception:  # a limiter bug must not take the API down
            log.exception("rate limiter failed on %s %s", request.method, path)
            decision = Decision.fail_open(limit)
        if decision.allowed:
            response = await handler(request)
        else:
            response = error_response(request, RateLimited(decision.retry_after_ms))
        if not response.prepared:
            response.headers["X-RateLimit-Limit"] = str(decision.limit)
            response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
            response.headers["X-RateLimit-Reset"] = str(decision.reset_s)
        return response

    return middleware


def _rest_identity(request: web.Request) -> str:
    """The user of a valid bearer token (``auth_middleware`` checked it), else
    the client IP (a bad token is the handler's 401 to give, not ours)."""
    claims = request.get(BEARER)
    if isinstance(claims, AccessClaims):
        return "user:" + claims.user_id
    return f"ip:{request.remote or 'unknown'}"


def security_headers_middleware(production: bool, file_origins: tuple[str, ...] = ()) -> Middleware:
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(file_origins)}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers.update(headers)
        if production:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    return middleware


def cors_middleware(allowed_origins: list[str]) -> Middleware:
    """CORS for the listed origins only; preflights answered here."""
    allowed = set(allowed_origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        permitted = origin is not None and (origin in allowed or "*" in allowed)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not permitted:
                # Returned, not raised: this middleware sits outside problem_middleware,
                # so a raised HTTPForbidden would leave as text/plain without the
                # security headers or X-Request-ID.
                return problem(request, 403, "Origin not allowed", "forbidden")
            response: web.StreamResponse = web.Response(status=204)
            response.headers.update(
                {
                    "Access-Control-Allow-Methods": "GET, POST, PATCH, PUT, DELETE, OPTIONS",
                    "Access-Control-Allow-Headers": "Authorization, Content-Type, "
                    "Idempotency-Key, X-Request-ID",
                    "Access-Control-Max-Age": "600",
                }
            )
        else:
            response = await handler(request)
        if permitted:
            response.headers["Access-Control-Allow-Origin"] = origin  # type: ignore[assignment]
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Expose-Headers"] = (
                "X-Request-ID, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, "
                "X-RateLimit-Reset"
            )
        return response

    return middleware
