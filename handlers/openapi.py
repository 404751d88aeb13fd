"""The OpenAPI 3.1 document, generated from the route table and pydantic models."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hub.http import TITLES, json_response

from .routing import Route

API_PREFIX = "/api/v1"
_PATH_PARAM = re.compile(r"{(\w+)}")

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
        "details": {"type": "object", "description": "validation_failed: {fields: [{field, message}]}"},
    },
}
COMMON_ERRORS = (400, 404, 405, 413, 422, 500)


def build_openapi(routes: list[Route], version: str) -> dict[str, Any]:
    schemas = _component_schemas(routes)
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
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _component_schemas(routes: list[Route]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = []
    for route in routes:
        if route.body:
            models.append((route.body, "validation"))
        if route.response:
            models.append((route.response, "serialization"))
    _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    return top.get("$defs", {})


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
    if route.body:
        operation["requestBody"] = {
            "required": not route.body_optional,
            "content": {"application/json": {"schema": _ref(route.body)}},
        }
    return operation


def _parameters(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(route.path)
    ]
    if route.idempotent:
        params.append({
            "name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Same key and body replay the first response; "
            "another body is 422 idempotency_mismatch",
        })
    if route.query:
        schema = route.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            params.append({
                "name": name, "in": "query",
                "required": name in schema.get("required", []), "schema": prop,
            })
    return params


def _responses(route: Route) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Success"}
    if route.response:
        success["content"] = {"application/json": {"schema": _ref(route.response)}}
    responses: dict[str, Any] = {str(route.status): success}
    errors = set(route.errors) | set(COMMON_ERRORS) | ({401} if route.auth else set())
    for status in sorted(errors):
        responses[str(status)] = {
            "description": TITLES.get(status, "Error"),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return responses


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def openapi_handler(document: dict[str, Any]) -> Any:
    async def openapi(request: web.Request) -> web.Response:
        return json_response(document)

    return openapi
