"""The served OpenAPI document agrees with the route table and the request models."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from handlers import ROUTES
from handlers.openapi import API_PREFIX
from handlers.routing import Route

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


@pytest.fixture
async def document(http: TestClient) -> dict[str, Any]:
    response = await http.get(f"{API_PREFIX}/openapi.json")
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    return await response.json()


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` anywhere under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"external or malformed $ref {ref!r}"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"dangling $ref {ref!r}"
        node = node[part]
    return node


async def test_document_is_openapi_3_1(document: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"]), document["openapi"]
    assert isinstance(document["info"]["title"], str) and document["info"]["title"]
    assert isinstance(document["info"]["version"], str) and document["info"]["version"]
    assert isinstance(document["paths"], dict) and document["paths"]
    for path, item in document["paths"].items():
        assert path.startswith(f"{API_PREFIX}/"), path
        assert item and set(item) <= HTTP_METHODS | {"parameters", "summary", "description"}
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["type"] == "http" and schemes["bearer"]["scheme"] == "bearer"
    assert "Problem" in document["components"]["schemas"]


async def test_every_ref_resolves(document: dict[str, Any]) -> None:
    found = list(refs(document))
    assert found
    for ref in found:
        resolve(document, ref)


async def test_operations_match_the_route_table_exactly(document: dict[str, Any]) -> None:
    served = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item if method in HTTP_METHODS
    }
    expected = {(route.method, API_PREFIX + route.path) for route in ROUTES}
    assert served == expected
    operation_ids = [
        item[method]["operationId"]
        for item in document["paths"].values() for method in item if method in HTTP_METHODS
    ]
    assert len(operation_ids) == len(set(operation_ids)), operation_ids


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_operation_of_each_route(document: dict[str, Any], route: Route) -> None:
    operation = document["paths"][API_PREFIX + route.path][route.method.lower()]
    assert operation.get("summary")

    responses = operation["responses"]
    assert responses and str(route.status) in responses
    for status, response in responses.items():
        assert re.fullmatch(r"[1-5]\d\d|default", status), status
        assert response.get("description"), (status, response)
        if status.startswith(("4", "5")):
            schema = response["content"]["application/problem+json"]["schema"]
            assert resolve(document, schema["$ref"]) is document["components"]["schemas"]["Problem"]
    for status in route.errors:
        assert str(status) in responses, status

    if route.response is not None:
        schema = responses[str(route.status)]["content"]["application/json"]["schema"]
        assert isinstance(resolve(document, schema["$ref"]), dict)

    declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    assert declared == set(re.findall(r"{(\w+)}", route.path))
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            assert parameter["required"] is True

    if route.auth:
        assert {"bearer": []} in operation["security"]
        assert "401" in responses
    else:
        assert not operation.get("security")


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_request_body_references_its_model(document: dict[str, Any], route: Route) -> None:
    operation = document["paths"][API_PREFIX + route.path][route.method.lower()]
    if route.body is None:
        assert "requestBody" not in operation
        return
    body = operation["requestBody"]
    assert body["required"] is not route.body_optional
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref.startswith("#/components/schemas/")
    schema = resolve(document, ref)
    assert schema["type"] == "object"
    fields = route.body.model_fields
    assert set(schema["properties"]) == set(fields)
    assert set(schema.get("required", [])) == {n for n, f in fields.items() if f.is_required()}
    # The server refuses unknown fields (422), and says so.
    assert schema.get("additionalProperties") is False
    for name in schema.get("required", []):
        assert name in schema["properties"]
    assert "422" in operation["responses"] and "400" in operation["responses"]
    assert "413" in operation["responses"]


# --- headers ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", f"{API_PREFIX}/healthz", f"{API_PREFIX}/nope"])
async def test_permissions_policy_allows_camera_and_microphone_to_the_hub_only(
        http: TestClient, path: str) -> None:
    response = await http.get(path)
    policy = dict(item.split("=", 1) for item in
                  response.headers["Permissions-Policy"].replace(" ", "").split(","))
    assert policy["camera"] == policy["microphone"] == "(self)"
    for feature in ("geolocation", "payment", "usb", "display-capture"):
        assert policy[feature] == "()", feature
