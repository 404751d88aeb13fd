"""The served OpenAPI document agrees with the route table, the request models and
what the hub enforces (integers, configured currencies, ids in paths), plus the
routing and headers that go with it."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any, get_args

import pytest
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, ValidationError

from handlers import ROUTES
from handlers.openapi import API_PREFIX, ID_PATTERN
from handlers.routing import Route
from hub.app import create_app
from hub.clock import new_id
from hub.config import Settings
from users import Api

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
        for method in item
        if method in HTTP_METHODS
    }
    expected = {(route.method, API_PREFIX + route.path) for route in ROUTES}
    assert served == expected
    operation_ids = [
        item[method]["operationId"]
        for item in document["paths"].values()
        for method in item
        if method in HTTP_METHODS
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
        if status.startswith(("4", "5")) and int(status) not in route.answers:
            schema = response["content"]["application/problem+json"]["schema"]
            assert resolve(document, schema["$ref"]) is document["components"]["schemas"]["Problem"]
    for status in route.errors:
        assert str(status) in responses, status

    if route.response is not None:
        for status in (route.status, *route.answers):  # readyz answers its report at 503 too
            schema = responses[str(status)]["content"]["application/json"]["schema"]
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


# --- the document says what validation enforces ----------------------------------------


def request_models() -> dict[str, type[BaseModel]]:
    """Every request body model of ROUTES and every model nested in one, by name."""
    found: dict[str, type[BaseModel]] = {}

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation.__name__ not in found:
                found[annotation.__name__] = annotation
                for field in annotation.model_fields.values():
                    visit(field.annotation)
        for argument in get_args(annotation):
            visit(argument)

    for route in ROUTES:
        visit(route.body)
    return found


def integer_properties(schema: dict[str, Any]) -> list[str]:
    """The properties of an object schema that hold an integer (maybe or null)."""

    def is_integer(prop: dict[str, Any]) -> bool:
        return prop.get("type") == "integer" or any(is_integer(p) for p in prop.get("anyOf", ()))

    return [name for name, prop in schema.get("properties", {}).items() if is_integer(prop)]


def test_every_request_body_is_strict_about_integers() -> None:
    """Where the document says integer, a JSON integer it must be: 5.0, "5" and true
    are refused (JSON Schema itself would take 5.0)."""
    checked = []
    for name, model in request_models().items():
        for field in integer_properties(model.model_json_schema()):
            for wrong in (5.0, "5", True):
                with pytest.raises(ValidationError) as refused:
                    model.model_validate({field: wrong})
                assert any(error["loc"][:1] == (field,) for error in refused.value.errors()), (
                    name,
                    field,
                    wrong,
                )
            checked.append(f"{name}.{field}")
    # Money, counts and choices: the set is not empty by accident.
    assert {
        "CreateBid.amount",
        "CreateBid.period_days",
        "RestMarkRead.seq",
        "CreateLobby.duration_minutes",
        "CreateUpload.size",
    } <= set(checked)


@pytest.mark.parametrize("route", [route for route in ROUTES if route.query], ids=route_id)
def test_query_integers_are_digits_and_booleans_words(route: Route) -> None:
    """Query strings are text: an integer is written in digits, a boolean true or false."""
    model = route.query
    assert model is not None
    schema = model.model_json_schema()
    required = {name: "x" for name in schema.get("required", [])}  # all text (q)

    def parsed(field: str, text: str) -> Any:
        return getattr(model.model_validate({**required, field: text}), field)

    def refused(field: str, text: str) -> None:
        with pytest.raises(ValidationError) as error:
            model.model_validate({**required, field: text})
        assert [e["loc"] for e in error.value.errors()] == [(field,)], (field, text)

    for field in integer_properties(schema):
        prop = schema["properties"][field]
        valid = str(max(1, *(p.get("minimum", 1) for p in [prop, *prop.get("anyOf", ())])))
        assert parsed(field, valid) == int(valid)
        for wrong in (f"{valid}.0", f" {valid}", f"+{valid}", "1e2", "", "\u0663"):
            refused(field, wrong)
    for field, prop in schema["properties"].items():
        if "boolean" in {prop.get("type"), *(p.get("type") for p in prop.get("anyOf", ()))}:
            assert parsed(field, "true") is True and parsed(field, "false") is False
            for wrong in ("1", "yes", "True", ""):
                refused(field, wrong)


async def test_query_parameters_are_never_null(document: dict[str, Any]) -> None:
    """An optional query parameter is left out, never sent as null."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                assert "null" not in str(parameter["schema"]), (method, path, parameter)


async def test_limit_in_a_query_string(api: Api, http: TestClient) -> None:
    headers = api.auth(await api.register("lister"))
    ok = await http.get(f"{API_PREFIX}/conversations?limit=5", headers=headers)
    assert ok.status == 200, await ok.text()
    for query in ("limit=5.0", "limit=5&limit=6", "archived=1"):
        refused = await http.get(f"{API_PREFIX}/conversations?{query}", headers=headers)
        assert refused.status == 422, (query, await refused.text())
        assert (await refused.json())["code"] == "validation_failed"


MONEY_BODIES = ["CreateJob", "UpdateJob", "CreateBid", "CreateDeposit", "CreatePayout"]


async def test_currencies_are_the_configured_enum(
    document: dict[str, Any], settings: Settings
) -> None:
    schemas = document["components"]["schemas"]
    for name in MONEY_BODIES:
        assert schemas[name]["properties"]["currency"]["enum"] == settings.currencies, name
    assert settings.currencies == ["USD", "EUR", "GBP"]


@pytest.mark.hub_settings(currencies=["JPY", "USD"])
async def test_other_currencies_change_schema_and_validation_alike(http: TestClient) -> None:
    document = await (await http.get(f"{API_PREFIX}/openapi.json")).json()
    schemas = document["components"]["schemas"]
    for name in MONEY_BODIES:
        assert schemas[name]["properties"]["currency"]["enum"] == ["JPY", "USD"], name
    headers = Api(http).auth(await Api(http).register("yen", role="client"))
    job = {"title": "T", "description": "D", "budget_min": 100, "budget_max": 200, "type": "fixed"}
    refused = await http.post(
        f"{API_PREFIX}/jobs", headers=headers, json={**job, "currency": "GBP"}
    )
    assert refused.status == 422 and (await refused.json())["code"] == "validation_failed"
    accepted = await http.post(
        f"{API_PREFIX}/jobs", headers=headers, json={**job, "currency": "JPY"}
    )
    assert accepted.status == 201, await accepted.text()


@pytest.mark.hub_settings(max_text_length=10)
async def test_message_text_carries_the_configured_length(http: TestClient) -> None:
    """x-hub-trimmed-max-length is HUB_MAX_TEXT_LENGTH (the web client's composer
    limit); maxLength stays the raw request's bound."""
    document = await (await http.get(f"{API_PREFIX}/openapi.json")).json()
    schemas = document["components"]["schemas"]
    for name in ["RestSendMessage", "RestEditMessage"]:
        text = schemas[name]["properties"]["text"]
        assert text["x-hub-trimmed-max-length"] == 10, name
        assert text["maxLength"] == 100_000, name


# --- ids in paths ----------------------------------------------------------------------


def test_the_id_pattern_is_the_one_ids_are_made_with() -> None:
    for _ in range(1000):
        assert re.fullmatch(ID_PATTERN, new_id())


async def test_path_parameters_are_documented_as_ids(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation["parameters"]:
                if parameter["in"] == "path" and parameter["name"] != "emoji":
                    assert parameter["schema"] == {
                        "type": "string",
                        "pattern": f"^{ID_PATTERN}$",
                    }, (method, path)


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "OPTIONS", "PUT", "POST"])
@pytest.mark.parametrize("path", ["/messages/unread-count", "/notifications/unread-count"])
async def test_static_paths_never_fall_through_to_an_id(
    api: Api, http: TestClient, method: str, path: str
) -> None:
    headers = api.auth(await api.register("router"))
    response = await http.request(method, API_PREFIX + path, headers=headers)
    assert response.status == 405, await response.text()
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"


@pytest.mark.parametrize(
    "wrong", ["not-an-id", new_id().lower(), new_id()[:-1], new_id() + "0", "0" * 25 + "U", "%20"]
)
async def test_malformed_ids_are_404(api: Api, http: TestClient, wrong: str) -> None:
    headers = api.auth(await api.register("prober"))
    for method, path in [
        ("GET", "/jobs/{}"),
        ("PATCH", "/messages/{}"),
        ("GET", "/users/{}"),
        ("POST", "/bids/{}/award"),
        ("GET", "/networking/sessions/{}"),
    ]:
        response = await http.request(method, API_PREFIX + path.format(wrong), headers=headers)
        assert response.status == 404, (method, path, wrong, await response.text())
        assert response.content_type == "application/problem+json"
        assert (await response.json())["code"] == "not_found"


async def test_users_me_is_the_callers_private_profile(api: Api, http: TestClient) -> None:
    account = await api.register("myself", role="freelancer")
    headers = api.auth(account)
    me = await http.get(f"{API_PREFIX}/users/me", headers=headers)
    assert me.status == 200, await me.text()
    profile = await me.json()
    assert profile == await (await http.get(f"{API_PREFIX}/auth/me", headers=headers)).json()
    assert profile["email"] == "myself@example.com" and profile["id"] == account["user"]["id"]
    assert (await http.get(f"{API_PREFIX}/users/me")).status == 401
    other = await http.post(f"{API_PREFIX}/users/me", headers=headers)
    assert other.status == 405 and set(other.headers["Allow"].split(",")) == {"GET", "PATCH"}


# --- headers ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", f"{API_PREFIX}/healthz", f"{API_PREFIX}/nope"])
async def test_permissions_policy_allows_camera_and_microphone_to_the_hub_only(
    http: TestClient, path: str
) -> None:
    response = await http.get(path)
    policy = dict(
        item.split("=", 1)
        for item in response.headers["Permissions-Policy"].replace(" ", "").split(",")
    )
    assert policy["camera"] == policy["microphone"] == "(self)"
    for feature in ("geolocation", "payment", "usb", "display-capture"):
        assert policy[feature] == "()", feature


async def test_the_response_check_catches_a_response_the_document_does_not_describe(
    aiohttp_client: Any, settings: Any, tmp_path: Any
) -> None:
    """Every in-process test checks the hub's REST responses (ResponseCheck in
    conftest.py); this shows the check fails when a response and the document
    disagree: here the document is made to require a field no user has."""
    from engines import make_store
    from handlers import ROUTES, build_openapi
    from openapi_responses import ResponseCheck
    from users import Api

    # A copy: the tests share one document per settings (openapi_responses.py).
    document = copy.deepcopy(build_openapi(ROUTES, version="0.1.0", settings=settings))
    document["components"]["schemas"]["PrivateUser"]["required"].append("shoe_size")
    strict = ResponseCheck(document)
    app = create_app(settings, store=make_store("sqlite", tmp_path))
    app.middlewares.insert(0, strict.middleware)
    api = Api(await aiohttp_client(app))
    account = await api.register("ann")
    await api.http.get("/api/v1/auth/me", headers=api.auth(account))
    assert [v for v in strict.violations if "shoe_size" in v] == [
        'POST /api/v1/auth/register: "shoe_size" is a required property',
        'GET /api/v1/auth/me: "shoe_size" is a required property',
    ]
