"""Web Push from the account page to the service worker, in headless Chromium.

Bob turns browser notifications on through the page: it registers /sw.js, gets
the permission (granted to the test's browser context), subscribes with the
hub's VAPID key and gives the subscription to the hub. Ann (a REST user: her
sending is set-up, not the claim) writes to him while his tab shows no page of
the app (no /conversations socket: the hub counts him away). The hub encrypts
and signs the push to a push service on loopback (tests/test_web_push.py's);
the test decrypts it with http_ece as Chromium would, and hands the plaintext to
the service worker over the Chrome DevTools Protocol
(``ServiceWorker.deliverPushMessage``), whose ``push`` handler shows the
notification that the test then reads back with ``getNotifications()``.

The one browser part doubled: Chromium's own push service (FCM) is unreachable
here (no network), so an init script replaces ``PushManager.prototype.subscribe``
and ``getSubscription``: they answer a subscription whose endpoint is the local
push service and whose keys (p256dh, auth) the test generated. Everything else
(service worker, permission, the page's code, the hub, encryption, VAPID) is real.
"""

from __future__ import annotations

import json
from typing import Any

import http_ece
import pytest
from aiohttp.test_utils import TestClient, TestServer

from browser import PHONE, artifact, sign_up
from handlers.web_client import WEB_DIR
from hub.context import HUB
from hub.marketplace.models import CreateJob
from test_web_push import Browser, PushServer, check_vapid, unb64url
from test_web_push import push_server as push_server  # the local push service (fixture)
from users import Users
from waits import eventually

# Development accepts http push endpoints on loopback; no presence grace, so Bob
# counts as away as soon as his tab leaves the app.
pytestmark = pytest.mark.hub_settings(
    env="development", presence_grace_s=0, presence_sweep_interval_s=0.1
)

# THE DOUBLE (see the module docstring): pushManager answers the test's subscription.
FAKE_PUSH_MANAGER = """
(({ endpoint, p256dh, auth }) => {
  const SAVED = 'test.push-subscribed-with';  // the applicationServerKey given, while subscribed
  const make = (key) => ({
    endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: new Uint8Array(key).buffer },
    toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
    unsubscribe: async () => { localStorage.removeItem(SAVED); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    if (!options || options.userVisibleOnly !== true || !options.applicationServerKey) {
      throw new DOMException('userVisibleOnly and a key are required', 'NotAllowedError');
    }
    const key = Array.from(new Uint8Array(options.applicationServerKey));
    localStorage.setItem(SAVED, JSON.stringify(key));
    return make(key);
  };
  PushManager.prototype.getSubscription = async function () {
    const key = JSON.parse(localStorage.getItem(SAVED) || 'null');
    return key ? make(key) : null;
  };
})(%s);
"""

BID = {"amount": 38_000, "currency": "EUR", "period_days": 7, "proposal": "Sketches first."}

# What the service worker showed, read from any page of the origin.
SHOWN = """() => navigator.serviceWorker.ready
  .then((registration) => registration.getNotifications())
  .then((shown) => shown.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))"""


async def test_the_service_worker_is_served_at_the_root(http: TestClient) -> None:
    response = await http.get("/sw.js")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert await response.read() == (WEB_DIR / "sw.js").read_bytes()
    page = await (await http.get("/")).text()
    assert "sw.js" not in page  # registered by push.js when the user turns push on


async def test_a_message_to_an_away_user_is_pushed_into_the_service_worker(
    server: TestServer, app: Any, users: Users, push_server: PushServer, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    origin = base.rstrip("/")
    device = push_server.browser("bob-phone")
    keys = device.subscription()["keys"]

    context = await chromium.new_context(viewport=PHONE)
    await context.grant_permissions(["notifications"], origin=origin)
    await context.add_init_script(
        FAKE_PUSH_MANAGER % json.dumps({**keys, "endpoint": device.endpoint})
    )
    bob = await context.new_page()
    devtools = await context.new_cdp_session(bob)
    versions: list[dict[str, Any]] = []
    devtools.on(
        "ServiceWorker.workerVersionUpdated", lambda event: versions.extend(event["versions"])
    )
    await devtools.send("ServiceWorker.enable")
    bob_id = await sign_up(bob, base, "Bob", role="client")

    # Bob turns browser notifications on from his account page.
    await bob.get_by_role("link", name="Account").click()
    card = bob.locator("#notif-card")
    state = card.locator("#push-state")
    await expect(state).to_have_text("Browser notifications are off for this browser.")
    await card.get_by_role("button", name="Turn on browser notifications").click()
    await expect(state).to_have_text("Browser notifications are on for this browser.")
    turn_off = card.get_by_role("button", name="Turn off browser notifications")
    await expect(turn_off).to_be_focused()
    await bob.screenshot(path=str(artifact("web-push-account-phone.png")), full_page=True)

    # The hub has the subscription; the page subscribed with the hub's key.
    [stored] = await app[HUB].store.push_subscriptions.list_for_users([bob_id])
    assert (stored.endpoint, stored.p256dh, stored.auth) == (
        device.endpoint,
        keys["p256dh"],
        keys["auth"],
    )
    assert stored.user_agent and "Chrome" in stored.user_agent
    hub_key = app[HUB].push.public_key()
    given = await bob.evaluate("JSON.parse(localStorage.getItem('test.push-subscribed-with'))")
    assert bytes(given) == unb64url(hub_key)
    worker = await eventually(
        lambda: [
            v
            for v in versions
            if v["scriptURL"] == f"{origin}/sw.js" and v["status"] == "activated"
        ]
    )
    registration_id = worker[-1]["registrationId"]

    # Bob's tab leaves the app (a file of the hub's, no sockets): he is away.
    (ann,) = await users("Ann", role="freelancer")
    conversation = await ann.ok("POST", "/conversations", {"participant_ids": [bob_id]}, status=201)
    cid = conversation["id"]
    await away(bob, base, app, bob_id)
    text = "Are you free tomorrow at ten?"
    await ann.ok("POST", f"/conversations/{cid}/messages", {"text": text}, status=201)

    # The push service gets it, encrypted (RFC 8291) and signed (RFC 8292).
    [received] = await eventually(lambda: push_server.to(device))
    check_vapid(received, hub_key, push_server.origin)
    plaintext = decrypt(device, received.body)
    assert json.loads(plaintext)["sender_name"] == "Ann"

    # Delivered to the service worker as Chromium's push service would: it shows it.
    await devtools.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registration_id, "data": plaintext},
    )
    message = {
        "title": "Ann",
        "body": text,
        "tag": f"conversation-{cid}",
        "data": {"hash": f"#/c/{cid}", "alerts": False},
    }
    assert await eventually(lambda: bob.evaluate(SHOWN)) == [message]

    # A notification is pushed too (Ann bids on Bob's job): it names no
    # conversation, so it leads to the notifications drawer.
    job_id = await post_job(app, bob_id)
    await ann.ok("POST", f"/jobs/{job_id}/bids", BID, status=201)
    received = await eventually(lambda: push_server.to(device), lambda got: len(got) == 2)
    plaintext = decrypt(device, received[1].body)
    assert json.loads(plaintext)["notification_type"] == "bid.created"
    await devtools.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registration_id, "data": plaintext},
    )
    shown = await eventually(lambda: bob.evaluate(SHOWN), lambda got: len(got) == 2)
    [notification] = [n for n in shown if n != message]
    assert (notification["title"], notification["body"]) == ("Freelance Hub", "New bid on your job")
    assert notification["data"] == {"hash": "", "alerts": True}

    # Back in the app. A click on each: headless Chromium shows no notification
    # to click, so the worker runs what its notificationclick handler runs
    # (openPage) with each one's data: the page goes to the conversation, or
    # opens the drawer.
    await bob.goto(base + "#/account")
    await expect(turn_off).to_be_visible()
    [worker] = context.service_workers
    assert worker.url == f"{origin}/sw.js"
    await worker.evaluate("(data) => openPage(data).then(() => true)", message["data"])
    await expect(bob.locator("#conv-title")).to_have_text("Ann")
    assert bob.url.endswith(f"#/c/{cid}")
    await worker.evaluate("(data) => openPage(data).then(() => true)", notification["data"])
    drawer = bob.locator("#notifications")
    await expect(drawer).to_be_visible()
    await expect(drawer.locator("li.notif.unread")).to_contain_text(
        "New bid from Ann on “Logo for a bakery”"
    )
    await bob.keyboard.press("Escape")
    await expect(drawer).to_be_hidden()

    # Bob turns them off: the hub forgets the subscription and the browser
    # unsubscribes; Ann's next message pushes nothing.
    await bob.get_by_role("link", name="Account").click()
    await turn_off.click()
    await expect(state).to_have_text("Browser notifications are off for this browser.")
    await expect(card.get_by_role("button", name="Turn on browser notifications")).to_be_focused()
    assert await app[HUB].store.push_subscriptions.list_for_users([bob_id]) == []
    assert await bob.evaluate("localStorage.getItem('test.push-subscribed-with')") is None
    await away(bob, base, app, bob_id)
    await ann.ok("POST", f"/conversations/{cid}/messages", {"text": "Still there?"}, status=201)
    await app[HUB].push.idle()
    assert len(push_server.to(device)) == 2
    assert bob.errors == []


def decrypt(device: Browser, body: bytes) -> str:
    """The push's plaintext, as the browser decrypts it (RFC 8291, aes128gcm)."""
    plain: bytes = http_ece.decrypt(
        body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm"
    )
    return plain.decode()


async def post_job(app: Any, owner_id: str) -> str:
    body = CreateJob(
        title="Logo for a bakery",
        description="A round logo in two colours.",
        budget_min=20_000,
        budget_max=45_000,
        currency="EUR",
        type="fixed",
        publish=True,
    )
    return (await app[HUB].jobs.create(owner_id, body)).id


async def away(page: Any, base: str, app: Any, user_id: str) -> None:
    """The tab shows a file of the hub's instead of the app: no socket is left,
    and (no grace) the hub counts the user away."""
    await page.goto(base + "static/favicon.svg")
    await eventually(lambda: app[HUB].reach.connected_among([user_id]), lambda ids: not ids)
