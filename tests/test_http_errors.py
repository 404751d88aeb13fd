"""REST error handling on every route of ``handlers.ROUTES``, plus headers, health and CORS.

Body checks are parametrized over the route table, so a new route with a body is
covered as soon as it is added: it needs an example in ``EXAMPLE_BODIES`` and, for a
new kind of path parameter, a way to make a real id in ``Caller.real_id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel

from handlers import ROUTES, UNVERSIONED
from handlers.openapi import API_PREFIX
from handlers.routing import Route
from hub.context import HUB, Hub
from hub.http import SECURITY_HEADERS
from storage.records import Transition
from users import Api

MAX_BODY = 4096
ALLOWED_ORIGIN = "https://app.example"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "code"}
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

BODY_ROUTES = [route for route in ROUTES if route.body is not None]
AUTH_ROUTES = [route for route in ROUTES if route.auth]


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


# One valid body per request model. A new body model must be added here.
EXAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "RegisterRequest": {
        "email": "new@example.com",
        "password": "correct horse",
        "display_name": "New",
        "role": "client",
    },
    "LoginRequest": {"email": "caller@example.com", "password": "correct horse"},
    "RefreshRequest": {"refresh_token": "some-token"},
    "LogoutRequest": {"refresh_token": "some-token"},
    "ChangePasswordRequest": {"current_password": "correct horse", "new_password": "new horse!"},
    "TwoFactorCode": {"code": "123456"},
    "ForgotPasswordRequest": {"email": "ann@example.com"},
    "ResetPasswordRequest": {"token": "a-mailed-token", "new_password": "new horse!"},
    "VerifyEmailRequest": {"token": "a-mailed-token"},
    "LoginMfaRequest": {"mfa_token": "some-token", "code": "123456"},
    "ProfileUpdate": {
        "display_name": "Renamed",
        "headline": "h",
        "skills": ["a"],
        "avatar_url": "https://cdn.example/a.png",
    },
    "RoleUpdate": {"role": "freelancer"},
    "RegisterWebhook": {
        "url": "https://93.184.215.14/hook",  # a public address: no DNS needed
        "events": ["message.created", "bid.*"],
        "secret": "a-secret-of-sixteen-or-more",
    },
    "PushSubscribe": {
        "endpoint": "https://push.example.net/send/abc",
        "keys": {
            "p256dh": "BMe6t1PHIY-tjjRZXGNHF8q5wqB65Lspq7Xq0ZtuXOPi67JHUxoLS3h7o"
            "ZUun4GSg1JZLJa_BJ9IBQwpHAzim14",  # a real P-256 point
            "auth": "ZHqLXszUaDoCcVZb_8HJQA",
        },
    },
    "NotificationSettingsChange": {
        "push": True,
        "quiet_hours": {"start": "22:00", "end": "07:00", "tz": "Europe/Paris"},
    },
    "CreateConversation": {
        "participant_ids": ["someone"],
        "type": "group",
        "title": "T",
        "context": {"type": "job", "id": "job-1"},
    },
    "RestUpdateConversation": {"title": "T", "pinned": True, "archived": False, "muted": False},
    "RestAddParticipants": {"user_ids": ["someone"]},
    "RestSendMessage": {
        "client_msg_id": "c-1",
        "text": "hello",
        "reply_to": None,
        "attachments": [],
        "mentions": [],
    },
    "CreateUpload": {
        "conversation_id": "c-1",
        "name": "a.pdf",
        "size": 10,
        "mime": "application/pdf",
    },
    "RestEditMessage": {"text": "edited"},
    "RestMarkRead": {"seq": 1},
    "RestMarkDelivered": {"seq": 1},
    "RestMarkUnread": {"seq": 1},
    "CreateJob": {
        "title": "T",
        "description": "D",
        "skills": ["go"],
        "budget_min": 100,
        "budget_max": 200,
        "currency": "USD",
        "type": "fixed",
        "publish": True,
    },
    "UpdateJob": {
        "title": "T",
        "description": "D",
        "skills": ["go"],
        "budget_min": 100,
        "budget_max": 200,
        "currency": "USD",
        "type": "hourly",
    },
    "CreateBid": {"amount": 150, "currency": "USD", "period_days": 3, "proposal": "P"},
    "UpdateBid": {"amount": 150, "period_days": 3, "proposal": "P"},
    "CreateMilestone": {"amount": 100, "description": "M"},
    "ReleaseMilestone": {"amount": 50},
    "ResolveMilestone": {"freelancer_amount": 50},
    "DisputeMilestone": {"note": "The work was not delivered"},
    "WriteDisputeNote": {"note": "The work was delivered on time"},
    "CreateReview": {"rating": 5, "comment": "C"},
    "CreateDeposit": {"amount": 100, "currency": "USD", "payment_method": "pm_card_ok"},
    "CreatePayout": {"amount": 100, "currency": "USD", "destination": "ba_ok"},
    "LiveSdp": {"call_id": "call-1", "sdp": "v=0"},
    "LiveIce": {
        "session_id": "session-1",
        "candidate": {
            "candidate": "candidate:1 1 UDP 1 127.0.0.1 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "u",
        },
    },
    "CreateLobby": {
        "title": "T",
        "topic": "design",
        "duration_minutes": 2,
        "starts_at": "2026-01-01T10:00:00.000Z",
        "ends_at": "2026-01-01T11:00:00.000Z",
    },
    "Rating": {"stars": 5, "note": "N", "connect": True},
    # Moderation (issue 20)
    "CreateReport": {"target": {"type": "user", "id": "U1"}, "reason": "spam", "note": "N"},
    "ResolveReport": {"action": "dismiss", "note": "N"},
    "SuspendUser": {"until": "2099-01-01T00:00:00.000Z", "reason": "R"},
    "BanUser": {"reason": "R"},
}

# One value of each JSON type; a field gets every one its schema does not allow.
JSON_SAMPLES: dict[str, Any] = {
    "string": "text",
    "integer": 12345,
    "number": 1.5,
    "boolean": True,
    "object": {"x": 1},
    "array": [1, 2],
}


def example_body_of(name: str) -> dict[str, Any]:
    return dict(EXAMPLE_BODIES[name])


def example_body(model: type[BaseModel]) -> dict[str, Any]:
    if model.__name__ not in EXAMPLE_BODIES:
        pytest.fail(f"add a valid example body for {model.__name__} to EXAMPLE_BODIES")
    return dict(EXAMPLE_BODIES[model.__name__])


def json_types(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The JSON types a (pydantic-generated) JSON schema admits."""
    if "$ref" in schema:
        return json_types(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    types: set[str] = set()
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            types |= json_types(option, defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        types |= set(kind)
    elif kind:
        types.add(kind)
    for value in [*schema.get("enum", []), *([schema["const"]] if "const" in schema else [])]:
        types.add(
            {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}[
                type(value)
            ]
        )
    if not types and not any(k in schema for k in ("anyOf", "oneOf", "allOf")):
        types = set(JSON_SAMPLES) | {"null"}  # no constraint at all
    if "number" in types:
        types.add("integer")
    return types


def wrong_values(model: type[BaseModel], field: str) -> list[Any]:
    schema = model.model_json_schema()
    allowed = json_types(schema["properties"][field], schema.get("$defs", {}))
    return [value for kind, value in JSON_SAMPLES.items() if kind not in allowed]


def required_fields(route: Route) -> list[str]:
    return [
        name
        for name, info in route.body.model_fields.items()  # type: ignore[union-attr]
        if info.is_required()
    ]


REQUIRED_ROUTES = [route for route in BODY_ROUTES if required_fields(route)]


# --- fixtures ------------------------------------------------------------------------------


# A small body limit and one CORS origin, for the whole module (and sandbox
# webhooks that never come: the deposits made here stay pending).
pytestmark = pytest.mark.hub_settings(
    max_payload_bytes=MAX_BODY, cors_origins=[ALLOWED_ORIGIN], sandbox_webhook_delay_s=60
)


@pytest.fixture(autouse=True)
def no_server_errors(app: web.Application) -> Iterator[list[int]]:
    """Every response the hub sends in these tests; none may be a 5xx."""
    statuses: list[int] = []

    async def record(request: web.Request, response: web.StreamResponse) -> None:
        statuses.append(response.status)

    app.on_response_prepare.append(record)
    yield statuses
    assert not [status for status in statuses if status >= 500], statuses


class Caller:
    """An admin (so admin routes get past authorization), another user to point at, and
    real resources, made on first use, for the path parameters of any route."""

    def __init__(
        self,
        http: TestClient,
        headers: dict[str, str],
        user_id: str,
        target_id: str,
        api: Api,
        hub: Hub,
    ) -> None:
        self.http = http
        self.headers = headers
        self.user_id = user_id
        self.target_id = target_id
        self.api = api
        self.hub = hub
        self._ids: dict[str, str] = {}
        self._accounts: dict[str, dict[str, str]] = {}

    async def real_id(self, kind: str) -> str:
        """A real id for a path parameter; ``kind`` is its name, or for ``{id}`` the
        collection segment before it (``/users/{id}`` -> ``users``)."""
        if kind in ("users", "user_id", "participants"):
            return self.target_id
        if kind == "emoji":
            return "%F0%9F%91%8D"  # 👍, percent-encoded as a client sends it
        if kind not in self._ids:
            if kind == "conversations":
                self._ids[kind] = (
                    await self._create(
                        "/conversations",
                        {
                            "participant_ids": [self.target_id],
                            "type": "group",
                            "title": "errors",
                        },
                    )
                )["id"]
            elif kind == "messages":
                conversation = await self.real_id("conversations")
                self._ids[kind] = (
                    await self._create(
                        f"/conversations/{conversation}/messages",
                        {"client_msg_id": "errors-1", "text": "hello"},
                    )
                )["id"]
            elif kind in ("uploads", "attachments"):  # an attachment is an upload's id
                conversation = await self.real_id("conversations")
                body = {"conversation_id": conversation, "name": "a.pdf", "size": 10}
                upload = await self._create("/uploads", {**body, "mime": "application/pdf"})
                self._ids["uploads"] = self._ids["attachments"] = upload["id"]
            elif kind in ("jobs", "bids", "milestones"):
                await self._marketplace()
            elif kind == "deposits":
                self._ids[kind] = (
                    await self._create(
                        "/wallet/deposits",
                        {"amount": 100, "currency": "USD", "payment_method": "pm_card_ok"},
                        status=202,
                    )
                )["id"]
            elif kind == "payouts":
                await self._credit(self.user_id, 100)
                self._ids[kind] = (
                    await self._create(
                        "/wallet/payouts", {"amount": 100, "currency": "USD"}, status=202
                    )
                )["id"]
            elif kind == "notifications":
                view = await self.hub.notifications.notify(self.user_id, "test.event", {})
                assert view is not None
                self._ids[kind] = view["id"]
            elif kind == "lobbies":
                self._ids[kind] = (
                    await self._create(
                        "/networking/lobbies",
                        {"title": "errors", "topic": "t", "duration_minutes": 2},
                    )
                )["id"]
            elif kind == "sessions":  # sessions come from matching: stored directly here
                self._ids[kind] = await _networking_session(
                    self.hub, await self.real_id("lobbies"), self.user_id, self.target_id
                )
            elif kind == "subscriptions":  # Web Push
                self._ids[kind] = (
                    await self._create("/push/subscriptions", example_body_of("PushSubscribe"))
                )["id"]
            elif kind == "webhooks":
                self._ids[kind] = (
                    await self._create("/admin/webhooks", example_body_of("RegisterWebhook"))
                )["id"]
            elif kind == "reports":  # moderation (issue 20): a report of the other user
                body = {"target": {"type": "user", "id": self.target_id}, "reason": "spam"}
                self._ids[kind] = (await self._create("/reports", body))["id"]
            else:
                pytest.fail(f"teach Caller.real_id to make a real id for {kind!r}")
        return self._ids[kind]

    async def _create(
        self,
        path: str,
        body: dict[str, Any],
        status: int = 201,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.http.post(
            API_PREFIX + path, json=body, headers=headers or self.headers
        )
        assert response.status == status, await response.text()
        return await response.json()

    async def _marketplace(self) -> None:
        """A job in progress (a client's), its accepted bid (a freelancer's) and a
        funded milestone."""
        client = self.api.auth(await self.api.register("errors-client", role="client"))
        freelancer = self.api.auth(await self.api.register("errors-freelancer", role="freelancer"))
        job = await self._create("/jobs", example_body_of("CreateJob"), headers=client)
        bid = await self._create(
            f"/jobs/{job['id']}/bids", example_body_of("CreateBid"), headers=freelancer
        )
        await self._create(f"/bids/{bid['id']}/award", {}, status=200, headers=client)
        await self._create(f"/bids/{bid['id']}/accept", {}, status=200, headers=freelancer)
        await self._credit(job["owner_id"], 100)
        milestone = await self._create(
            f"/jobs/{job['id']}/milestones", example_body_of("CreateMilestone"), headers=client
        )
        self._ids.update(jobs=job["id"], bids=bid["id"], milestones=milestone["id"])

    async def _credit(self, user_id: str, amount: int) -> None:
        """Money in a user's wallet without a provider round trip."""
        from hub.marketplace.common import movement

        await self.hub.store.market.apply(
            Transition(
                movement=movement(
                    "deposit",
                    "test",
                    user_id,
                    "2024-01-01T00:00:00.000Z",
                    ("provider:sandbox", "external", "USD", -amount, "deposit"),
                    (user_id, "available", "USD", amount, "deposit"),
                )
            )
        )

    async def url(self, route: Route) -> str:
        parts = route.path.split("/")
        for index, part in enumerate(parts):
            match = re.fullmatch(r"{(\w+)}", part)
            if match:
                name = match.group(1)
                parts[index] = await self.real_id(parts[index - 1] if name == "id" else name)
        return API_PREFIX + "/".join(parts)


async def _networking_session(hub: Any, lobby_id: str, user_id: str, peer_id: str) -> str:
    from hub.clock import new_id, now_iso
    from storage.records import NetworkingSessionRecord

    session_id = new_id()
    await hub.store.networking.create_session(
        NetworkingSessionRecord(
            id=session_id,
            lobby_id=lobby_id,
            offerer_id=user_id,
            answerer_id=peer_id,
            offerer_conn="c1",
            answerer_conn="c2",
            started_at=now_iso(),
            ends_at="2999-01-01T00:00:00.000Z",
        )
    )
    return session_id


@pytest.fixture
async def caller(api: Api, app: web.Application, http: TestClient) -> Caller:
    account = await api.register("caller")
    await app[HUB].accounts.set_role(account["user"]["id"], "admin")
    target = await api.register("target")
    return Caller(
        http, api.auth(account), account["user"]["id"], target["user"]["id"], api, app[HUB]
    )


async def send(
    http: TestClient,
    route: Route,
    caller: Caller,
    raw: bytes,
    headers: dict[str, str] | None = None,
) -> Any:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if route.auth:
        all_headers.update(caller.headers)
    return await http.request(route.method, await caller.url(route), data=raw, headers=all_headers)


async def expect_problem(
    response: Any, status: int, code: str | None = None, sent: object = None
) -> dict[str, Any]:
    """Check a problem+json answer; ``sent`` names the input in failure messages."""
    text = await response.text()
    where = f"{response.method} {response.url.path} sent {sent!r}: {text}"
    assert response.status == status, where
    assert response.headers["Content-Type"].startswith("application/problem+json"), where
    body = orjson.loads(text)
    assert PROBLEM_FIELDS <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == response.url.path
    if code is not None:
        assert body["code"] == code, where
    assert_common_headers(response)
    return body


def assert_common_headers(response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, dict(response.headers))
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers
    assert "Referrer-Policy" in response.headers
    assert REQUEST_ID.match(response.headers.get("X-Request-ID", "")), dict(response.headers)


def fields_of(problem: dict[str, Any]) -> set[str]:
    return {entry["field"] for entry in problem["details"]["fields"]}


def names_field(problem: dict[str, Any], field: str) -> bool:
    return any(name == field or name.startswith(field + ".") for name in fields_of(problem))


# --- bodies, on every route that takes one -------------------------------------------------


def test_every_body_model_has_an_example() -> None:
    missing = {route.body.__name__ for route in BODY_ROUTES} - set(EXAMPLE_BODIES)  # type: ignore[union-attr]
    assert not missing, f"add examples for {sorted(missing)}"
    assert BODY_ROUTES, "the route table has no body routes?"


MALFORMED = [
    b'{"email": ',
    b"not json",
    b"{'a': 1}",
    b'{"a": 1,}',
    b'{"a": NaN}',
    b'{"a": "\xff"}',
    b"[" * 2000,
]
NOT_OBJECTS = [b"[]", b'[{"role": "client"}]', b'"text"', b"42", b"null", b"true", b""]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_malformed_json_is_400(http: TestClient, caller: Caller, route: Route) -> None:
    for raw in MALFORMED:
        await expect_problem(
            await send(http, route, caller, raw), 400, "malformed_request", sent=raw[:40]
        )


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_lone_surrogates_are_422_naming_the_field(
    http: TestClient, caller: Caller, route: Route
) -> None:
    """Well-formed JSON, but not valid Unicode (half an emoji, as a browser's
    JSON.stringify writes it): the field is named, never a 400 or a 500."""
    for raw, field in ((rb'{"a": "\ud800"}', "a"), (rb'{"a": [{"b": "x\udfffy"}]}', "a.0.b")):
        problem = await expect_problem(
            await send(http, route, caller, raw), 422, "validation_failed", sent=raw
        )
        assert fields_of(problem) == {field}, (raw, problem)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_json_that_is_not_an_object_is_422(
    http: TestClient, caller: Caller, route: Route
) -> None:
    for raw in NOT_OBJECTS:
        if raw == b"" and route.body_optional:
            continue  # an empty body stands for {} there
        problem = await expect_problem(
            await send(http, route, caller, raw), 422, "validation_failed", sent=raw
        )
        assert fields_of(problem) == {"body"}, (raw, problem)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_wrong_types_are_422_naming_the_field(
    http: TestClient, caller: Caller, route: Route
) -> None:
    for field in route.body.model_fields:  # type: ignore[union-attr]
        bad_values = wrong_values(route.body, field)  # type: ignore[arg-type]
        assert bad_values, f"{field} accepts every JSON type?"
        for bad in bad_values:
            body = example_body(route.body)  # type: ignore[arg-type]
            body[field] = bad
            problem = await expect_problem(
                await send(http, route, caller, orjson.dumps(body)),
                422,
                "validation_failed",
                sent=body,
            )
            assert names_field(problem, field), (body, problem)


@pytest.mark.parametrize("route", REQUIRED_ROUTES, ids=route_id)
async def test_missing_fields_are_422_naming_them(
    http: TestClient, caller: Caller, route: Route
) -> None:
    required = required_fields(route)
    for field in required:
        body = example_body(route.body)  # type: ignore[arg-type]
        del body[field]
        problem = await expect_problem(
            await send(http, route, caller, orjson.dumps(body)), 422, "validation_failed", sent=body
        )
        assert names_field(problem, field), (body, problem)
    problem = await expect_problem(
        await send(http, route, caller, b"{}"), 422, "validation_failed", sent={}
    )
    assert set(required) <= fields_of(problem), problem


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_unknown_field_is_422(http: TestClient, caller: Caller, route: Route) -> None:
    body = {**example_body(route.body), "unexpected_field": "x"}  # type: ignore[arg-type]
    problem = await expect_problem(
        await send(http, route, caller, orjson.dumps(body)), 422, "validation_failed", sent=body
    )
    assert fields_of(problem) == {"unexpected_field"}, problem


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_body_over_the_limit_is_413(http: TestClient, caller: Caller, route: Route) -> None:
    body = {**example_body(route.body), "padding": ""}  # type: ignore[arg-type]
    body["padding"] = "x" * (MAX_BODY - len(orjson.dumps(body)))
    at_limit = orjson.dumps(body)
    assert len(at_limit) == MAX_BODY
    # At the limit the body is read and validated (the padding is an unknown field)...
    problem = await expect_problem(
        await send(http, route, caller, at_limit),
        422,
        "validation_failed",
        sent="max_payload_bytes",
    )
    assert fields_of(problem) == {"padding"}
    # ...one byte more and it is refused for its size.
    over = at_limit[:-2] + b'x"}'
    await expect_problem(
        await send(http, route, caller, over),
        413,
        "payload_too_large",
        sent="max_payload_bytes + 1",
    )
    huge = orjson.dumps({**body, "padding": "x" * (20 * MAX_BODY)})
    await expect_problem(
        await send(http, route, caller, huge),
        413,
        "payload_too_large",
        sent="20 * max_payload_bytes",
    )


# --- every authenticated route -------------------------------------------------------------


@pytest.mark.parametrize("route", AUTH_ROUTES, ids=route_id)
async def test_authenticated_routes_refuse_bad_tokens(
    http: TestClient, caller: Caller, route: Route
) -> None:
    url = await caller.url(route)
    body = orjson.dumps(example_body(route.body)) if route.body else None
    for authorization in [None, "Bearer nonsense", "Bearer a.b.c", "Token abc", "Bearer"]:
        headers = {"Authorization": authorization} if authorization else {}
        response = await http.request(
            route.method, url, data=body, headers={"Content-Type": "application/json", **headers}
        )
        await expect_problem(response, 401, "unauthorized", sent=authorization)
    if route.body:
        # The token is checked before the body is looked at.
        response = await http.request(
            route.method, url, data=b"not json", headers={"Content-Type": "application/json"}
        )
        await expect_problem(response, 401, "unauthorized", sent="no token, bad body")


ODD_IDS = ["no-such-id", "x" * 300, "%00", "..%2F..%2Fetc", "%F0%9F%98%80", "'%20OR%201=1", "%20"]
PARAM_ROUTES = [route for route in ROUTES if "{" in route.path]


async def test_odd_user_ids_are_404(http: TestClient, caller: Caller) -> None:
    for user_id in ODD_IDS:
        for method, path in [
            ("GET", "/users/{}"),
            ("POST", "/users/{}/block"),
            ("DELETE", "/users/{}/block"),
        ]:
            response = await http.request(
                method, API_PREFIX + path.format(user_id), headers=caller.headers
            )
            await expect_problem(response, 404, "not_found", sent=user_id)
        response = await http.patch(
            f"{API_PREFIX}/admin/users/{user_id}", headers=caller.headers, json={"role": "client"}
        )
        await expect_problem(response, 404, "not_found", sent=user_id)


@pytest.mark.parametrize("route", PARAM_ROUTES, ids=route_id)
async def test_odd_path_ids_are_client_errors(
    http: TestClient, caller: Caller, route: Route
) -> None:
    """Whatever the id, a 4xx problem (not found, or an invalid id), never a 500."""
    body = orjson.dumps(example_body(route.body)) if route.body else None
    for odd in ODD_IDS:
        url = API_PREFIX + re.sub(r"{\w+}", odd, route.path)
        response = await http.request(
            route.method,
            url,
            data=body,
            headers={"Content-Type": "application/json", **caller.headers},
        )
        assert 400 <= response.status < 500, (url, await response.text())
        await expect_problem(response, response.status, sent=odd)


# --- routing errors ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/auth/me", "/nope", "/api/v1/people"])
async def test_unknown_route_is_404_problem(http: TestClient, path: str) -> None:
    await expect_problem(await http.get(path), 404, "not_found")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/auth/register"),
        ("PUT", "/api/v1/auth/me"),
        ("DELETE", "/healthz"),
        ("POST", "/api/v1/readyz"),
        ("PUT", f"/api/v1/users/{'0' * 26}/block"),
    ],
)
async def test_wrong_method_is_405_problem(http: TestClient, method: str, path: str) -> None:
    response = await http.request(method, path)
    await expect_problem(response, 405, "method_not_allowed")
    assert response.headers.get("Allow"), dict(response.headers)


# --- headers -------------------------------------------------------------------------------


async def test_security_headers_and_request_id_on_success(http: TestClient, api: Api) -> None:
    responses = [await http.get("/healthz"), await http.get("/api/v1/openapi.json")]
    created = await http.post(
        "/api/v1/auth/register",
        json={
            "email": "h@example.com",
            "password": "correct horse",
            "display_name": "H",
            "role": "client",
        },
    )
    responses.append(created)
    account = await created.json()
    responses.append(await http.get("/api/v1/auth/me", headers=api.auth(account)))
    for response in responses:
        assert response.status < 300
        assert_common_headers(response)
    ids = {response.headers["X-Request-ID"] for response in responses}
    assert len(ids) == len(responses), "each request gets its own id"


async def test_security_headers_and_request_id_on_errors(http: TestClient) -> None:
    # expect_problem checks the headers on each.
    await expect_problem(await http.get("/api/v1/nope"), 404)
    await expect_problem(await http.put("/api/v1/auth/me"), 405)
    await expect_problem(await http.get("/api/v1/auth/me"), 401)
    await expect_problem(await http.post("/api/v1/auth/login", data=b"{"), 400)
    await expect_problem(await http.post("/api/v1/auth/login", json=[]), 422)
    await expect_problem(await http.post("/api/v1/auth/login", data=b"x" * (MAX_BODY + 1)), 413)


@pytest.mark.parametrize(
    "method, path", [("GET", "/healthz"), ("GET", "/api/v1/nope"), ("POST", "/api/v1/auth/login")]
)
async def test_supplied_request_id_is_echoed(http: TestClient, method: str, path: str) -> None:
    response = await http.request(method, path, headers={"X-Request-ID": "trace-42.a_b"}, data=b"{")
    assert response.headers["X-Request-ID"] == "trace-42.a_b"


@pytest.mark.parametrize("supplied", ["has spaces", "x" * 65, "semi;colon", ""])
async def test_unsafe_request_id_is_replaced(http: TestClient, supplied: str) -> None:
    response = await http.get("/healthz", headers={"X-Request-ID": supplied})
    assert response.status == 200
    assert response.headers["X-Request-ID"] != supplied
    assert REQUEST_ID.match(response.headers["X-Request-ID"])


# --- health --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [prefix + path for path in UNVERSIONED for prefix in ("", API_PREFIX)]
)
async def test_health_answers_at_root_and_under_the_api(http: TestClient, path: str) -> None:
    response = await http.get(path)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["status"] == "ok"
    if path.endswith("readyz"):
        assert body["checks"]["storage"] == "ok"
    assert_common_headers(response)


# --- CORS ----------------------------------------------------------------------------------


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/login", "/api/v1/users/someone/block", "/api/v1/users/me"]
)
async def test_preflight_from_an_allowed_origin(http: TestClient, path: str) -> None:
    response = await http.options(path, headers=preflight_headers(ALLOWED_ORIGIN))
    assert 200 <= response.status < 300, await response.text()
    assert response.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert "POST" in response.headers.get("Access-Control-Allow-Methods", "")
    allowed_headers = response.headers.get("Access-Control-Allow-Headers", "").lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert_common_headers(response)


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://app.example", "https://app.example.evil", "null"]
)
async def test_preflight_from_another_origin_is_not_allowed(http: TestClient, origin: str) -> None:
    response = await http.options("/api/v1/auth/login", headers=preflight_headers(origin))
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.status >= 400
    await expect_problem(response, response.status)


async def test_simple_requests_get_cors_headers_for_allowed_origins_only(http: TestClient) -> None:
    allowed = await http.get("/healthz", headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert "X-Request-ID" in allowed.headers.get("Access-Control-Expose-Headers", "")
    assert "Origin" in allowed.headers.get("Vary", "")
    error = await http.get("/api/v1/auth/me", headers={"Origin": ALLOWED_ORIGIN})
    assert error.status == 401
    assert error.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN

    other = await http.get("/healthz", headers={"Origin": "https://evil.example"})
    assert other.status == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    none = await http.get("/healthz")
    assert "Access-Control-Allow-Origin" not in none.headers
