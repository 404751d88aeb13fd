"""Web Push (issue 18) with real parts: an aiohttp server on a free loopback
port is the browser's push service; the test makes the subscription's P-256
key pair and auth secret as a browser does, subscribes over REST, receives
the hub's POST, checks its VAPID token (RFC 8292) against the hub's public key
and the endpoint's origin, and decrypts the aes128gcm body (RFC 8291) with
http_ece. Senders and recipients are real Socket.IO clients.

The hub runs in development, the mode that accepts http endpoints on loopback.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import http_ece
import jwt
import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from multidict import CIMultiDict

from engines import ON_BOTH_ENGINES
from hub.context import HUB
from hub.offline.models import endpoint_problem
from users import User, Users
from waits import eventually

pytestmark = pytest.mark.hub_settings(env="development")

PATH = "/push/subscriptions"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser profile's push subscription: its keys, as pushManager makes them."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> Any:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return orjson.loads(plain)


@dataclass
class Received:
    path: str
    headers: CIMultiDict[str]  # case-insensitive, as HTTP headers are
    body: bytes


class PushServer:
    """The push service: records every POST; answers each path with the
    statuses queued for it (then 201)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: dict[str, list[int]] = {}
        self.origin = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, request.headers.copy(), await request.read()))
        queued = self.answers.get(request.path)
        status = queued.pop(0) if queued else 201
        return web.Response(status=status)

    def browser(self, name: str) -> Browser:
        return Browser(f"{self.origin}/push/{name}")

    def to(self, browser: Browser) -> list[Received]:
        return [r for r in self.received if self.origin + r.path == browser.endpoint]


@pytest_asyncio.fixture
async def push_server() -> AsyncIterator[PushServer]:
    server = PushServer()
    app = web.Application()
    app.router.add_post("/push/{name}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.origin = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()


async def subscribe(user: User, browser: Browser) -> dict[str, Any]:
    return await user.ok("POST", PATH, browser.subscription(), status=201)  # type: ignore[no-any-return]


async def settled(app: web.Application) -> None:
    """Everything the hub queued for push has been sent or given up."""
    await app[HUB].push.idle()


def check_vapid(received: Received, hub_key: str, origin: str) -> dict[str, Any]:
    """The Authorization header is ``vapid t=<JWT>, k=<key>`` (RFC 8292): the
    key is the hub's, the JWT is ES256-signed by it for the endpoint's origin."""
    scheme, _, params = received.headers["Authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(part.strip().split("=", 1) for part in params.split(","))
    assert parts["k"] == hub_key
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
    claims: dict[str, Any] = jwt.decode(
        parts["t"], key=public, algorithms=["ES256"], audience=origin
    )
    assert claims["sub"].startswith(("mailto:", "https://"))
    return claims


async def direct(ann: User, bob: User) -> tuple[Any, str]:
    ann1 = await ann.socket()
    cid = (await ann1.ok("conversation:create", {"participant_ids": [bob.id]}))["id"]
    return ann1, cid


def send(cid: str, client_msg_id: str, text: str) -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text}


@ON_BOTH_ENGINES
async def test_a_message_to_an_offline_recipient_is_pushed_encrypted_and_signed(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    ann, bob = await users("ann", "bob")
    browser = push_server.browser("bob-laptop")
    hub_key = (await bob.ok("GET", "/push/vapid-public-key"))["key"]
    assert len(unb64url(hub_key)) == 65 and unb64url(hub_key)[0] == 4
    subscription = await subscribe(bob, browser)
    assert subscription["endpoint"] == browser.endpoint
    ann1, cid = await direct(ann, bob)

    text = "x" * 150
    sent = await ann1.ok("message:send", send(cid, "m1", text))

    [received] = await eventually(lambda: push_server.to(browser))
    check_vapid(received, hub_key, push_server.origin)
    assert received.headers["Content-Encoding"] == "aes128gcm"
    assert int(received.headers["TTL"]) > 0
    assert received.headers["Urgency"] == "high"
    assert browser.decrypt(received.body) == {
        "type": "message",
        "conversation_id": cid,
        "seq": sent["seq"],
        "sender_name": "ann",
        "preview": "x" * 100,
    }
    await settled(app)
    assert app[HUB].metrics.push_sent._value.get() == 1
    assert push_server.to(push_server.browser("ann")) == []  # never the sender


async def test_an_online_recipient_is_not_pushed(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    ann, bob, cat = await users("ann", "bob", "cat")
    bob_browser, cat_browser = push_server.browser("bob"), push_server.browser("cat")
    await subscribe(bob, bob_browser)
    await subscribe(cat, cat_browser)
    await bob.socket()  # bob has the app open
    ann1 = await ann.socket()
    group = await ann1.ok(
        "conversation:create", {"participant_ids": [bob.id, cat.id], "type": "group"}
    )

    await ann1.ok("message:send", send(group["id"], "m1", "hello both"))

    await eventually(lambda: push_server.to(cat_browser))  # cat is offline
    await settled(app)
    assert push_server.to(bob_browser) == []


async def test_a_muted_conversation_and_push_off_send_nothing(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    ann, bob, cat = await users("ann", "bob", "cat")
    bob_browser, cat_browser = push_server.browser("bob"), push_server.browser("cat")
    await subscribe(bob, bob_browser)
    await subscribe(cat, cat_browser)
    ann1 = await ann.socket()
    group = (
        await ann1.ok("conversation:create", {"participant_ids": [bob.id, cat.id], "type": "group"})
    )["id"]
    await bob.ok("PATCH", f"/conversations/{group}", {"muted": True})
    await cat.ok("PATCH", "/users/me/notification-settings", {"push": False})

    message = send(group, "m1", "@bob @cat look")
    await ann1.ok("message:send", {**message, "mentions": [bob.id, cat.id]})
    await app[HUB].notifications.notify(cat.id, "review.created", {"review_id": "r1"})

    await settled(app)
    assert push_server.received == []
    skipped = app[HUB].metrics.push_skipped
    assert skipped.labels("muted")._value.get() == 1
    assert skipped.labels("push_off")._value.get() == 2


async def test_quiet_hours_hold_pushes_back(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    ann, bob = await users("ann", "bob")
    browser = push_server.browser("bob")
    await subscribe(bob, browser)
    now = datetime.now(UTC)  # an hour either side of now (crossing midnight, maybe)
    around_now = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M"),
        "tz": "UTC",
    }
    await bob.ok("PATCH", "/users/me/notification-settings", {"quiet_hours": around_now})
    ann1, cid = await direct(ann, bob)

    await ann1.ok("message:send", send(cid, "m1", "late"))

    await settled(app)
    assert app[HUB].metrics.push_skipped.labels("quiet_hours")._value.get() == 1
    assert push_server.received == []


async def test_a_mention_is_said_in_the_message_push(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    ann, bob = await users("ann", "bob")
    browser = push_server.browser("bob")
    await subscribe(bob, browser)
    ann1, cid = await direct(ann, bob)

    await ann1.ok("message:send", {**send(cid, "m1", "@bob hi"), "mentions": [bob.id]})

    await settled(app)
    [received] = push_server.to(browser)  # one push, not one more for the mention
    assert browser.decrypt(received.body)["mention"] is True


async def test_a_gone_subscription_is_deleted(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    ann, bob = await users("ann", "bob")
    browser = push_server.browser("bob-old")
    subscription = await subscribe(bob, browser)
    push_server.answers["/push/bob-old"] = [410]
    ann1, cid = await direct(ann, bob)

    await ann1.ok("message:send", send(cid, "m1", "anyone there?"))

    await eventually(lambda: push_server.to(browser))
    await settled(app)
    assert await app[HUB].store.push_subscriptions.get(subscription["id"]) is None
    assert app[HUB].metrics.push_failed.labels("gone")._value.get() == 1
    await ann1.ok("message:send", send(cid, "m2", "still?"))
    await settled(app)
    assert len(push_server.to(browser)) == 1  # nothing more to a deleted subscription


async def test_a_503_is_retried_until_accepted(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    ann, bob = await users("ann", "bob")
    browser = push_server.browser("bob")
    await subscribe(bob, browser)
    push_server.answers["/push/bob"] = [503]
    ann1, cid = await direct(ann, bob)

    await ann1.ok("message:send", send(cid, "m1", "retry me"))

    first, second = await eventually(lambda: push_server.to(browser), lambda r: len(r) == 2)
    assert browser.decrypt(first.body) == browser.decrypt(second.body)
    assert browser.decrypt(second.body)["preview"] == "retry me"
    await settled(app)
    metrics = app[HUB].metrics
    assert metrics.push_retries._value.get() == 1
    assert metrics.push_sent._value.get() == 1
    assert metrics.push_failed.labels("server_error")._value.get() == 0


async def test_a_notification_is_pushed(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    (bob,) = await users("bob")
    browser = push_server.browser("bob")
    hub_key = (await bob.ok("GET", "/push/vapid-public-key"))["key"]
    await subscribe(bob, browser)

    view = await app[HUB].notifications.notify(bob.id, "milestone.released", {"amount": 250})

    [received] = await eventually(lambda: push_server.to(browser))
    check_vapid(received, hub_key, push_server.origin)
    assert received.headers["Urgency"] == "normal"
    assert view is not None
    assert browser.decrypt(received.body) == {
        "type": "notification",
        "id": view["id"],
        "notification_type": "milestone.released",
        "created_at": view["created_at"],
    }


@pytest.mark.hub_settings(push_previews="off")
async def test_previews_off_push_no_text(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    ann, bob = await users("ann", "bob")
    browser = push_server.browser("bob")
    await subscribe(bob, browser)
    ann1, cid = await direct(ann, bob)

    await ann1.ok("message:send", send(cid, "m1", "my password is hunter2"))

    [received] = await eventually(lambda: push_server.to(browser))
    payload = browser.decrypt(received.body)
    assert payload["preview"] is None and payload["sender_name"] == "ann"


async def test_resubscribing_updates_and_only_the_owner_deletes(
    users: Users, push_server: PushServer, app: web.Application
) -> None:
    ann, bob = await users("ann", "bob")
    browser = push_server.browser("shared")
    first = await subscribe(bob, browser)
    again = await bob.ok(
        "POST", PATH, {**browser.subscription(), "user_agent": "Firefox 130"}, status=201
    )
    assert again["id"] == first["id"] and again["user_agent"] == "Firefox 130"
    assert len(await app[HUB].store.push_subscriptions.list_for_users([bob.id])) == 1

    await ann.fails("DELETE", f"{PATH}/{first['id']}", status=404, code="not_found")
    await bob.ok("DELETE", f"{PATH}/{first['id']}", status=204)
    assert await app[HUB].store.push_subscriptions.list_for_users([bob.id]) == []
    await bob.fails("DELETE", f"{PATH}/{first['id']}", status=404, code="not_found")


def keys_of(browser: Browser) -> dict[str, str]:
    return browser.subscription()["keys"]  # type: ignore[no-any-return]


GOOD = Browser("https://push.example.net/abc")
COMPRESSED = b64url(b"\x02" + os.urandom(32))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"endpoint": "http://push.example.net/abc", "keys": keys_of(GOOD)}, "endpoint"),
        ({"endpoint": "ftp://push.example.net/abc", "keys": keys_of(GOOD)}, "endpoint"),
        ({"endpoint": "https://user:pw@push.example.net/a", "keys": keys_of(GOOD)}, "endpoint"),
        ({"endpoint": "not a url at all", "keys": keys_of(GOOD)}, "endpoint"),
        ({**GOOD.subscription(), "keys": {**keys_of(GOOD), "p256dh": COMPRESSED}}, "p256dh"),
        ({**GOOD.subscription(), "keys": {**keys_of(GOOD), "p256dh": "!!!"}}, "p256dh"),
        ({**GOOD.subscription(), "keys": {**keys_of(GOOD), "auth": b64url(b"x" * 15)}}, "auth"),
        ({**GOOD.subscription(), "keys": {"p256dh": keys_of(GOOD)["p256dh"]}}, "auth"),
        ({"endpoint": GOOD.endpoint}, "keys"),
    ],
)
async def test_bad_subscriptions_are_validation_failed(
    users: Users, body: dict[str, Any], field: str
) -> None:
    (bob,) = await users("bob")
    problem = await bob.fails("POST", PATH, body, status=422, code="validation_failed")
    assert any(f["field"].endswith(field) for f in problem["details"]["fields"]), problem


def test_http_endpoints_only_on_loopback_in_development() -> None:
    assert endpoint_problem("https://fcm.googleapis.com/fcm/send/x", False) is None
    assert endpoint_problem("http://127.0.0.1:9000/p", True) is None
    assert endpoint_problem("http://localhost:9000/p", True) is None
    assert endpoint_problem("http://[::1]:9000/p", True) is None
    assert endpoint_problem("http://127.0.0.1:9000/p", False) is not None  # production
    assert endpoint_problem("http://10.0.0.5/p", True) is not None
