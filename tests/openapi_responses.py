"""Every REST response of the hub under test must be what its OpenAPI document says.

``ResponseCheck.middleware`` sits outermost in the app of every in-process
test (tests/conftest.py) and checks each response under ``/api/v1``: its
status is documented for the operation, and a JSON body validates against the
documented schema of that status. The ``app`` fixture fails the test at
teardown if any response did not.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import orjson
from aiohttp import web

API = "/api/v1/"
# Not part of a hub's document: what differs from one test's settings to the next's.
PER_TEST_FIELDS = {"data_dir", "database_url", "port"}


def share_openapi_documents() -> Callable[[], list[str]]:
    """Build each OpenAPI document once per test run instead of twice per test.

    ``handlers.build_openapi`` is a pure function of the route table and the
    settings, and building the document is most of what creating an app costs
    (about 20 ms; every in-process test makes one for the app and one for its
    ResponseCheck). This replaces it, wherever the hub's modules hold it, with one
    that builds a document once per distinct settings and hands that one document
    to every caller: the hub and ResponseCheck only read it; a test that changes
    one must copy it first. Returns a check for the end of the run: the names of
    the shared documents that no longer equal a fresh build (someone changed one).
    Test-only, like everything here.
    """
    import handlers.openapi

    build = handlers.openapi.build_openapi
    built: dict[tuple[int, str, str], tuple[Any, Any, dict[str, Any]]] = {}

    def shared(routes: list[Any], version: str, settings: Any) -> dict[str, Any]:
        key = (id(routes), version, settings.model_dump_json(exclude=PER_TEST_FIELDS))
        if key not in built:
            built[key] = (routes, settings, build(routes, version=version, settings=settings))
        return built[key][2]

    def changed() -> list[str]:
        return [
            key[2]
            for key, (routes, settings, document) in built.items()
            if document != build(routes, version=key[1], settings=settings)
        ]

    _replace_everywhere(build, shared)
    return changed


def _replace_everywhere(original: Callable[..., Any], replacement: Callable[..., Any]) -> None:
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("handlers", "hub")):
            continue
        for attribute, value in list(vars(module).items()):
            if value is original:
                setattr(module, attribute, replacement)


JSON_TYPES = ("application/json", "application/problem+json")


class ResponseCheck:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.violations: list[str] = []
        self._validators: dict[tuple[str, str, str, str], Any] = {}

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if request.path.startswith(API) and isinstance(response, web.Response):
            problem = self.problem(request, response)
            if problem is not None:
                self.violations.append(f"{request.method} {request.path}: {problem}")
        return response

    def problem(self, request: web.Request, response: web.Response) -> str | None:
        """What is wrong with ``response``, or None."""
        resource = request.match_info.route.resource
        path = resource.canonical if resource is not None else ""
        operation = self.document["paths"].get(path, {}).get(request.method.lower())
        if operation is None:
            return None  # no such operation: the router's own 404/405, checked elsewhere
        documented = operation["responses"].get(str(response.status))
        if documented is None:
            return f"status {response.status} is not documented"
        if response.content_type not in JSON_TYPES or not isinstance(response.body, bytes):
            return None
        content = documented.get("content", {}).get(response.content_type)
        if content is None:
            return f"{response.content_type} is not documented for {response.status}"
        validator = self._validator(
            path, request.method, str(response.status), response.content_type, content["schema"]
        )
        errors = [error.message for error in validator.iter_errors(orjson.loads(response.body))]
        return "; ".join(errors[:3]) or None

    def _validator(
        self, path: str, method: str, status: str, content_type: str, schema: dict[str, Any]
    ) -> Any:
        key = (path, method, status, content_type)
        if key not in self._validators:
            rooted = {**schema, "components": self.document["components"]}
            self._validators[key] = jsonschema_rs.Draft202012Validator(rooted)
        return self._validators[key]
