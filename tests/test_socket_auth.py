"""The shared auth step of every namespace, through a namespace the test registers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import pytest_asyncio
import socketio
from pydantic import BaseModel, ConfigDict

from hub.context import HUB
from hub.errors import Forbidden
from hub.realtime import Caller, HubNamespace, event
from hub.tokens import TokenIssuer
from waits import eventually


class EchoPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str


class ProbeNamespace(HubNamespace):
    """A namespace of the test's own, standing in for the product namespaces."""

    @event("echo", EchoPayload, limit="echo")
    async def echo(self, caller: Caller, payload: EchoPayload) -> dict[str, Any]:
        return {"text": payload.text, "user_id": caller.user_id}

    @event("forbidden", limit="echo")
    async def forbidden(self, caller: Caller, payload: Any) -> None:
        raise Forbidden("Not for you")

    @event("crash", limit="echo")
    async def crash(self, caller: Caller, payload: Any) -> None:
        raise RuntimeError("boom")


@pytest.fixture
def app(app):  # type: ignore[no-untyped-def]
    hub = app[HUB]
    hub.sio.register_namespace(ProbeNamespace("/probe", hub))
    hub.sio.register_namespace(ProbeNamespace("/probe2", hub))
    return app


@pytest_asyncio.fixture
async def account(api):  # type: ignore[no-untyped-def]
    return await api.register("sam")


async def refused_with(server, auth: Any) -> Any:  # type: ignore[no-untyped-def]
    client = socketio.AsyncClient(reconnection=False)
    errors: asyncio.Queue[Any] = asyncio.Queue()
    client.on("connect_error", errors.put_nowait, namespace="/probe")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            str(server.make_url("/")),
            namespaces=["/probe"],
            auth=auth,
            transports=["websocket"],
            wait_timeout=3,
        )
    error = await asyncio.wait_for(errors.get(), 3)
    await client.disconnect()
    return error


async def test_connects_with_a_valid_token_and_acks_events(connect, account):
    client = await connect(account["access_token"], ["/probe"])
    ack = await client.call("echo", {"text": "hi"}, namespace="/probe", timeout=3)
    assert ack == {"ok": True, "data": {"text": "hi", "user_id": account["user"]["id"]}}


@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"token": "garbage"}, {"token": 42}])
async def test_refuses_missing_or_bad_tokens(server, auth):
    error = await refused_with(server, auth)
    assert error["code"] == "unauthorized"
    assert error["message"]


def session_of(settings, account) -> str:  # type: ignore[no-untyped-def]
    """The session of a real registration or login (the sid of its access token)."""
    return TokenIssuer(settings).verify(account["access_token"]).session_id


async def test_refuses_an_expired_token(server, settings, account):
    expired = TokenIssuer(settings).issue(
        account["user"]["id"], "client", session_of(settings, account), ttl_s=-5
    )
    error = await refused_with(server, {"token": expired})
    assert error == {
        "code": "unauthorized",
        "message": "Access token expired",
        "data": {"code": "unauthorized", "message": "Access token expired"},
    }


async def test_bad_payloads_get_validation_failed_and_keep_the_socket(connect, account):
    client = await connect(account["access_token"], ["/probe"])
    for payload in ({"text": 5}, {"nope": 1}, "string", [1, 2], None):
        ack = await client.call("echo", payload, namespace="/probe", timeout=3)
        assert ack["ok"] is False and ack["error"]["code"] == "validation_failed", payload
    unknown = await client.call("no:such:event", {}, namespace="/probe", timeout=3)
    assert unknown["error"]["code"] == "validation_failed"
    assert (await client.call("echo", {"text": "still here"}, namespace="/probe"))["ok"]


async def test_domain_errors_and_crashes_become_error_acks(connect, account):
    client = await connect(account["access_token"], ["/probe"])
    assert (await client.call("forbidden", {}, namespace="/probe", timeout=3))["error"][
        "code"
    ] == "forbidden"
    crash = await client.call("crash", {}, namespace="/probe", timeout=3)
    assert crash == {"ok": False, "error": {"code": "internal", "message": "Internal error"}}
    assert client.connected


async def test_socket_is_disconnected_when_its_token_expires(connect, settings, account):
    short = TokenIssuer(settings).issue(
        account["user"]["id"], "client", session_of(settings, account), ttl_s=1
    )
    client = await connect(short, ["/probe"])
    expired = asyncio.Event()
    client.on("auth:expired", lambda data: expired.set(), namespace="/probe")
    await asyncio.wait_for(expired.wait(), 4)
    await eventually(lambda: not client.connected, timeout=2)


@pytest.mark.slow  # waits out a token's one-second lifetime
async def test_auth_refresh_on_one_namespace_keeps_every_namespace(connect, settings, account):
    issuer = TokenIssuer(settings)
    user_id, session_id = account["user"]["id"], session_of(settings, account)
    client = await connect(
        issuer.issue(user_id, "client", session_id, ttl_s=1), ["/probe", "/probe2"]
    )
    ack = await client.call(
        "auth:refresh",
        {"token": issuer.issue(user_id, "client", session_id)},
        namespace="/probe2",
        timeout=3,
    )
    assert ack["ok"] is True
    await asyncio.sleep(1.6)  # on purpose: past the first token's expiry, which must not matter
    for namespace in ("/probe", "/probe2"):
        assert (await client.call("echo", {"text": "x"}, namespace=namespace, timeout=3))["ok"]


async def test_auth_refresh_rejects_bad_or_foreign_tokens(connect, api, account):
    other = await api.register("other")
    client = await connect(account["access_token"], ["/probe"])
    garbage = await client.call("auth:refresh", {"token": "nope"}, namespace="/probe")
    assert garbage["error"]["code"] == "unauthorized"
    foreign = await client.call(
        "auth:refresh", {"token": other["access_token"]}, namespace="/probe"
    )
    assert foreign["error"]["code"] == "unauthorized"
    missing = await client.call("auth:refresh", {}, namespace="/probe")
    assert missing["error"]["code"] == "validation_failed"


# One token check per Engine.IO connection. A raw Socket.IO client connects
# namespaces one at a time, each with its own auth payload.


async def open_connection(http):  # type: ignore[no-untyped-def]
    ws = await http.ws_connect("/socket.io/?EIO=4&transport=websocket")
    opened = await ws.receive_str(timeout=3)
    assert opened.startswith("0{"), opened
    return ws


async def connect_namespace(ws, namespace: str, token: Any) -> tuple[str, Any]:  # type: ignore[no-untyped-def]
    """Connect ``namespace`` on the open connection: ("40", {sid}) or ("44", error)."""
    await ws.send_str(f"40{namespace},{json.dumps({'token': token})}")
    while True:
        text = await ws.receive_str(timeout=3)
        if text == "2":
            await ws.send_str("3")
        elif text.startswith((f"40{namespace},", f"44{namespace},")):
            return text[:2], json.loads(text.split(",", 1)[1])


@pytest.fixture
def verify_calls(app, monkeypatch):  # type: ignore[no-untyped-def]
    tokens = app[HUB].tokens
    calls: list[object] = []
    verify = tokens.verify

    def counting(token: object):  # type: ignore[no-untyped-def]
        calls.append(token)
        return verify(token)

    monkeypatch.setattr(tokens, "verify", counting)
    return calls


async def test_a_token_is_verified_once_per_connection(http, account, verify_calls):
    ws = await open_connection(http)
    for namespace in ("/probe", "/probe2"):
        kind, data = await connect_namespace(ws, namespace, account["access_token"])
        assert kind == "40", data
    assert len(verify_calls) == 1
    second = await open_connection(http)  # another connection checks it again
    assert (await connect_namespace(second, "/probe", account["access_token"]))[0] == "40"
    assert len(verify_calls) == 2
    await ws.close()
    await second.close()


async def test_other_tokens_on_a_second_namespace_are_still_checked(
    http, api, settings, account, verify_calls
):
    other = await api.register("other")
    user_id, session_id = account["user"]["id"], session_of(settings, account)
    expired = TokenIssuer(settings).issue(user_id, "client", session_id, ttl_s=-5)
    ws = await open_connection(http)
    assert (await connect_namespace(ws, "/probe", account["access_token"]))[0] == "40"
    cases = [
        ("garbage", "Invalid access token"),
        (account["access_token"] + "x", "Invalid access token"),
        (expired, "Access token expired"),
        (other["access_token"], "This connection belongs to another user"),
        ("", "Missing access token"),
        (42, "Missing access token"),
    ]
    for token, message in cases:
        kind, error = await connect_namespace(ws, "/probe2", token)
        assert (kind, error["code"], error["message"]) == ("44", "unauthorized", message), token
    # A fresh token of the same user is verified, and accepted.
    fresh = TokenIssuer(settings).issue(user_id, "client", session_id)
    assert (await connect_namespace(ws, "/probe2", fresh))[0] == "40"
    assert len(verify_calls) == 1 + len(cases) + 1
    await ws.close()
