"""The web client in headless Chromium: two users chat through the page the hub serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from browser import (
    PHONE,
    TIMEOUT_MS,
    alice_chats_with_bob,
    artifact,
    sign_up,
    start_chat,
)
from handlers.web_client import VENDOR_DIR, VENDOR_FILES

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.hub_settings(presence_grace_s=0.3)


async def test_page_and_bundle_are_served(http: Any) -> None:
    page = await http.get("/")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = await page.text()
    assert '<script src="/static/socket.io.min.js"' in html and "<script>" not in html
    bundle = await http.get("/static/socket.io.min.js")
    assert bundle.status == 200 and "javascript" in bundle.headers["Content-Type"]
    assert await bundle.read() == (VENDOR_DIR / "socket.io.min.js").read_bytes()
    source_map = await http.get("/static/socket.io.min.js.map")
    assert source_map.status == 200 and source_map.headers["Content-Type"] == "application/json"
    assert (await http.get("/static/app.js")).status == 200
    icon = await http.get("/static/favicon.svg")  # else browsers ask for /favicon.ico: a 404
    assert icon.status == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")
    assert (await http.get("/static/../pyproject.toml")).status == 404
    assert (await http.get("/static/nope.js")).status == 404


def test_vendored_bundle_is_the_locked_npm_client() -> None:
    """The page's bundle and the Node test client (tests/test_js_client.py) are one version."""
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"][
        "node_modules/socket.io-client"
    ]["version"]
    npm_package = ROOT / "node_modules" / "socket.io-client"
    package_json = npm_package / "package.json"
    installed = json.loads(package_json.read_text())["version"] if package_json.is_file() else None
    assert installed == locked, "node_modules is missing or stale: run `npm ci` (scripts/test does)"
    for name in VENDOR_FILES:
        assert (VENDOR_DIR / name).read_bytes() == (npm_package / "dist" / name).read_bytes(), (
            f"handlers/web/vendor/{name} differs from socket.io-client {locked}: "
            "copy it again (handlers/web/vendor/README.md)"
        )
    assert (VENDOR_DIR / "socket.io-client.LICENSE").read_bytes() == (
        npm_package / "LICENSE"
    ).read_bytes()
    assert f"`socket.io-client` {locked}" in (VENDOR_DIR / "README.md").read_text()


async def test_two_users_chat(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    alice_ctx = await chromium.new_context(viewport=PHONE)
    bob_ctx = await chromium.new_context(viewport=PHONE)
    alice = await alice_ctx.new_page()
    bob = await bob_ctx.new_page()
    await sign_up(alice, base, "Alice")
    await sign_up(bob, base, "Bob")

    # The people search says when it finds nobody.
    await alice.get_by_label("Find people to message").fill("Zelda")
    await expect(alice.locator("#people-state")).to_have_text("Nobody found for “Zelda”.")

    # Alice finds Bob, starts a chat with him and writes first.
    await start_chat(alice, "Bob")
    await expect(alice.locator("#conv-title")).to_have_text("Bob")
    await expect(alice.locator("#conv-dot")).to_have_class("dot online")
    await alice.locator("#composer-input").fill("Hi Bob, got a minute?")
    await alice.locator("#composer-input").press("Enter")
    await expect(alice.locator(".msg.mine .text")).to_have_text("Hi Bob, got a minute?")
    # Bob's page has it (delivered) at once, or in a moment: never read yet.
    await expect(alice.locator(".msg.mine .receipt")).to_have_text("✓✓ Delivered")

    # Bob's list: the conversation, Alice online, one unread, the last message.
    item = bob.locator("li.conv").first
    await expect(item.locator(".name")).to_have_text("Alice")
    await expect(item.locator(".badge")).to_have_text("1")
    await expect(item.locator(".dot")).to_have_class("dot online")
    await expect(item.locator(".last")).to_contain_text("Hi Bob, got a minute?")
    await item.locator("button").click()
    await expect(bob.locator(".msg .text")).to_have_text("Hi Bob, got a minute?")
    # ... which marks it read: Alice sees the receipt, Bob's badge is gone.
    await expect(alice.locator(".msg.mine .receipt")).to_have_text("✓✓ Read")

    # Bob types: Alice sees it; Bob sends: the indicator goes away.
    await bob.locator("#composer-input").press_sequentially("Sure, what", delay=30)
    await expect(alice.locator("#typing")).to_have_text("Bob is typing…")
    await bob.locator("#composer-input").press_sequentially(" is up?", delay=10)
    await bob.locator("#composer-input").press("Enter")
    await expect(alice.locator(".msg:not(.mine) .text")).to_have_text("Sure, what is up?")
    await expect(alice.locator("#typing")).to_have_text("")
    await expect(bob.locator(".msg.mine .receipt")).to_have_text("✓✓ Read")

    # Alice edits, then deletes her message; Bob sees both.
    await alice.locator(".msg.mine button.edit").click()
    await alice.locator("#composer-input").fill("Hi Bob, got five minutes?")
    await alice.locator("#composer-input").press("Enter")
    first = bob.locator('.msg[data-seq="1"]')
    await expect(first.locator(".text")).to_have_text("Hi Bob, got five minutes?")
    await expect(first.locator(".edited")).to_have_text("edited")
    await alice.locator(".msg.mine button.delete").click()
    await expect(first.locator(".text")).to_have_text("message deleted")

    # Alice's connection drops; Bob writes meanwhile; after the reconnect
    # Alice's client resyncs (sync) and shows the message it missed.
    await alice.evaluate(
        "() => { const m = hubState.sockets.manager; m.reconnection(false); m.engine.close(); }"
    )
    await expect(alice.locator("#status")).to_have_text("connection lost, reconnecting…")
    await bob.locator("#composer-input").fill("Are you still there?")
    await bob.locator("#composer-input").press("Enter")
    await expect(bob.locator(".msg.mine .text").last).to_have_text("Are you still there?")
    await alice.evaluate(
        "() => { const m = hubState.sockets.manager; m.reconnection(true); m.open(); }"
    )
    await expect(alice.locator("#status")).to_have_text("online")
    await expect(alice.locator(".msg:not(.mine) .text").last).to_have_text("Are you still there?")
    await expect(bob.locator(".msg.mine .receipt").last).to_have_text("✓✓ Read")

    await alice.screenshot(path=str(artifact("web-chat-alice.png")), full_page=True)
    await bob.screenshot(path=str(artifact("web-chat-bob.png")), full_page=True)

    # Bob closes his page: Alice sees him go offline.
    await bob.close()
    await expect(alice.locator("#conv-dot")).to_have_class("dot offline")
    await alice.goto(base + "#/conversations")
    await expect(alice.locator("li.conv .dot")).to_have_class("dot offline")
    await expect(alice.locator("li.conv .last")).to_contain_text("Bob: Are you still there?")
    await alice.screenshot(path=str(artifact("web-chat-alice-bob-offline.png")), full_page=True)
    assert alice.errors == [] and bob.errors == []


async def test_read_receipts_show_after_a_reload(server: TestServer, chromium: Any) -> None:
    """Receipts come from the Conversation's read_seqs on load, not only from live events."""
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    alice, bob = await alice_chats_with_bob(chromium, base)
    await alice.locator("#composer-input").fill("Read this one")
    await alice.locator("#composer-input").press("Enter")
    await bob.locator("li.conv button").first.click()
    await expect(bob.locator(".msg .text")).to_have_text("Read this one")
    await expect(alice.locator(".msg.mine .receipt")).to_have_text("✓✓ Read")

    # Bob leaves: no live message:read can reach Alice any more.
    await bob.close()
    await alice.locator("#composer-input").fill("Not this one")
    await alice.locator("#composer-input").press("Enter")
    receipts = alice.locator(".msg.mine .receipt")
    await expect(receipts).to_have_text(["✓✓ Read", "✓ Sent"])

    await alice.reload()
    await alice.locator("#status.online").wait_for(timeout=TIMEOUT_MS)
    await expect(alice.locator(".msg.mine .text")).to_have_text(["Read this one", "Not this one"])
    await expect(receipts).to_have_text(["✓✓ Read", "✓ Sent"])
    await alice.screenshot(path=str(artifact("web-chat-receipts-after-reload.png")), full_page=True)
    assert alice.errors == []


async def test_a_picture_is_sent_and_shown(server: TestServer, chromium: Any) -> None:
    """Alice attaches an image in the page; Bob sees its thumbnail and opens the file."""
    import io

    from PIL import Image
    from playwright.async_api import expect

    from browser import alice_chats_with_bob

    picture = io.BytesIO()
    Image.new("RGB", (640, 320), (20, 120, 200)).save(picture, "PNG")
    alice, bob = await alice_chats_with_bob(chromium, str(server.make_url("/")))
    await expect(alice.locator("#conv-title")).to_have_text("Bob")
    await alice.locator("#composer-file").set_input_files(
        {"name": "wireframe.png", "mimeType": "image/png", "buffer": picture.getvalue()}
    )
    await alice.locator("#composer-input").fill("The wireframe")
    await alice.locator("#composer-input").press("Enter")
    await expect(alice.locator(".msg.mine .text")).to_have_text("The wireframe")

    await bob.locator("li.conv button").first.click()
    message = bob.locator(".msg").first
    await expect(message.locator(".file")).to_contain_text("wireframe.png")
    thumbnail = message.locator("img.thumb")
    await expect(thumbnail).to_have_attribute("src", re.compile(r"^blob:"))
    assert await thumbnail.evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 320
    async with bob.context.expect_page() as opened:
        await message.locator(".file").click()
    assert (await opened.value).url.startswith("blob:")
    assert alice.errors == [] and bob.errors == []
