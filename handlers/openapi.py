"""The OpenAPI 3.1 document, generated from the route table and pydantic models."""

from __future__ import annotations

import re
from typing import Any, Literal

from aiohttp import web
from pydantic import TypeAdapter

from hub.config import Settings
from hub.http import API_PREFIX, TITLES, UNLIMITED_PATHS, json_response
from hub.idempotency import MAX_KEY_LENGTH
from hub.schema import CONFIGURED

from .routing import Route

PATH_PARAM = re.compile(r"{(\w+)}")
# Every path parameter is an id the hub made: a ULID from hub.clock.new_id, 26
# Crockford base32 characters. setup_routes registers each one with this pattern,
# so a malformed id is a plain 404 and a static path (/messages/unread-count) is
# never taken for an id.
ID_PATTERN = "[0-9A-HJKMNP-TV-Z]{26}"
# The path parameters that are not ids: what the router matches, and their schema.
OTHER_PATH_PARAMS: dict[str, tuple[str, dict[str, Any]]] = {
    "emoji": (
        "[^{}/]{1,64}",
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "One emoji (percent-encoded) or a :short_name:",
        },
    ),
}


def path_param_pattern(name: str) -> str:
    """What ``setup_routes`` registers the path parameter ``name`` with."""
    return OTHER_PATH_PARAMS[name][0] if name in OTHER_PATH_PARAMS else ID_PATTERN


def _path_param_schema(name: str) -> dict[str, Any]:
    if name in OTHER_PATH_PARAMS:
        return OTHER_PATH_PARAMS[name][1]
    return {"type": "string", "pattern": f"^{ID_PATTERN}$"}


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 7807 problem document",
    "required": ["type", "title", "status", "detail", "instance", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "details": {
            "type": "object",
            "description": "validation_failed: {fields: [{field, message}]}",
        },
        "mfa_token": {
            "type": "string",
            "description": "mfa_required (POST /auth/login): send it to POST /auth/login/mfa",
        },
    },
}
COMMON_ERRORS = (400, 404, 405, 413, 422, 500)


def build_openapi(routes: list[Route], version: str, settings: Settings) -> dict[str, Any]:
    """The document of ``routes`` for a hub with these ``settings``: fields whose
    limits are settings (currencies, message length) say what this hub enforces."""
    schemas = _configured(_component_schemas(routes), _configured_schemas(settings))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(API_PREFIX + route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Freelance hub REST API",
            "version": version,
            "description": "REST half of the hub. Realtime events: see docs/protocol.md.",
        },
        "paths": paths,
        "components": {
            "schemas": {**schemas, "Problem": PROBLEM_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _component_schemas(routes: list[Route]) -> dict[str, Any]:
    """Every body and response shape, each a component named as its class."""
    shapes: dict[tuple[type, Literal["validation", "serialization"]], TypeAdapter[Any]] = {}
    for route in routes:
        if route.body:
            shapes[route.body, "validation"] = TypeAdapter(route.body)
        if route.response:
            shapes[route.response, "serialization"] = TypeAdapter(route.response)
    inputs = [(key, key[1], adapter) for key, adapter in shapes.items()]
    _, top = TypeAdapter.json_schemas(inputs, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = top.get("$defs", {})
    return schemas


def _configured_schemas(settings: Settings) -> dict[str, dict[str, Any]]:
    """What each ``configured(name)`` field becomes: the settings the services check."""
    return {
        "currencies": {"enum": list(settings.currencies)},
        "max_text_length": {
            "description": f"1..{settings.max_text_length} characters "
            "after trimming (HUB_MAX_TEXT_LENGTH)",
            # The same limit for machines (the web client's form limits): maxLength
            # only bounds the raw request, the hub counts after trimming.
            "x-hub-trimmed-max-length": settings.max_text_length,
        },
    }


def _configured(node: Any, schemas: dict[str, dict[str, Any]]) -> Any:
    """``node`` with each configured-field mark replaced by its schema."""
    if isinstance(node, list):
        return [_configured(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _configured(value, schemas) for key, value in node.items() if key != CONFIGURED}
    if CONFIGURED in node:
        schema.update(schemas[node[CONFIGURED]])
    return schema


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": route.handler.__name__,
        "parameters": _parameters(route),
        "responses": _responses(route),
    }
    if route.description:
        operation["description"] = route.description
    if route.auth:
        operation["security"] = [{"bearer": []}]
    if route.role is not None:
        operation["x-hub-role"] = route.role  # the caller's stored role must be this
    if route.body:
        operation["requestBody"] = {
            "required": not route.body_optional,
            "content": {"application/json": {"schema": _ref(route.body)}},
        }
    return operation


def _parameters(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _path_param_schema(name),
        }
        for name in PATH_PARAM.findall(route.path)
    ]
    if route.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                "description": "Per user and route, for 24 h: the same key with the same path "
                "and body replays the first response byte for byte, even while it runs; another "
                "request is 422 idempotency_mismatch (docs/marketplace.md#idempotency-key)",
            }
        )
    if route.query:
        schema = route.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in schema.get("required", []),
                    "schema": _present(prop),
                }
            )
    return params


def _present(prop: dict[str, Any]) -> dict[str, Any]:
    """A query field's schema when it is sent: ``X | None`` is ``X`` (a query
    string has no null; leaving the parameter out is how a client says none)."""
    options = [option for option in prop.get("anyOf", ()) if option != {"type": "null"}]
    if len(options) != 1:
        return prop
    rest = {key: value for key, value in prop.items() if key != "anyOf"}
    if rest.get("default", ...) is None:
        del rest["default"]
    return {**options[0], **rest}


def _responses(route: Route) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Success"}
    if route.response:
        success["content"] = {"application/json": {"schema": _ref(route.response)}}
    if route.html:
        success["content"] = {"text/html": HTML_PAGE}
    responses: dict[str, Any] = {str(status): success for status in (route.status, *route.answers)}
    errors = set(route.errors) | set(COMMON_ERRORS) | ({401} if route.auth else set())
    if API_PREFIX + route.path not in UNLIMITED_PATHS:
        errors.add(429)  # the REST rate limits (hub/http.py rate_limit_middleware)
    errors -= set(route.answers)
    for status in sorted(errors):
        content: dict[str, Any] = {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
        if route.html and status in route.errors:
            content["text/html"] = HTML_PAGE
        responses[str(status)] = {"description": TITLES.get(status, "Error"), "content": content}
    return responses


HTML_PAGE: dict[str, Any] = {"schema": {"type": "string"}}


def _ref(model: type) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def openapi_handler(document: dict[str, Any]) -> Any:
    async def openapi(request: web.Request) -> web.Response:
        return json_response(document)

    return openapi
