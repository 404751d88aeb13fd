"""The page works from the wheel alone: ``pip install`` into a fresh venv, ``hub serve``
from an empty directory, no checkout, no Node, and a deployer's CORS setting that
names only their own app's origin."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from browser import PHONE, sign_up, start_chat
from handlers.web_client import STATIC_FILES
from installed import installed_env, serving

# The status of each path, fetched by the page (names in the checkout, served by the wheel).
STATUSES = "(paths) => Promise.all(paths.map(async (p) => [p, (await fetch(p)).status]))"

# A socket of the page's own bundle, signed in as the page's user, that records
# when and why it is disconnected (no reconnection: the hub is going away).
WATCH_A_SOCKET = """() => new Promise((resolve, reject) => {
  const { access_token } = JSON.parse(localStorage.getItem('hub.auth'));
  const socket = io('/conversations', {
    auth: { token: access_token }, transports: ['websocket'], reconnection: false });
  socket.on('connect', resolve);
  socket.on('connect_error', reject);
  socket.on('disconnect', (reason) => { window.hubDisconnect = { reason, at: Date.now() }; });
})"""


def _collect_console_errors(page: Any, into: list[str]) -> None:
    page.on(
        "console",
        lambda message: message.type == "error" and into.append(f"console: {message.text}"),
    )
    page.on("pageerror", lambda error: into.append(f"pageerror: {error}"))


async def test_installed_hub_serves_a_working_page(
    installed_hub: Path, tmp_path: Path, chromium: Any
) -> None:
    from playwright.async_api import expect

    workdir = tmp_path / "empty"
    env = installed_env(cors_origins="https://app.example.com")
    async with serving(installed_hub, workdir, env) as hub:
        errors: list[str] = []
        alice, bob = [
            await (await chromium.new_context(viewport=PHONE)).new_page() for _ in range(2)
        ]
        for page in (alice, bob):
            _collect_console_errors(page, errors)
        await alice.goto(hub.url("/"))
        assert await alice.evaluate("typeof io") == "function"
        # Every file of the page is in the wheel: the modules, styles, icon and the
        # service worker at the root.
        paths = ["/sw.js", *(f"/static/{name}" for name in STATIC_FILES)]
        statuses = dict(await alice.evaluate(STATUSES, paths))
        assert {p: s for p, s in statuses.items() if s != 200} == {}

        await sign_up(alice, hub.url("/"), "Alice")
        await sign_up(bob, hub.url("/"), "Bob")
        await start_chat(alice, "Bob")
        await alice.locator("#composer-input").fill("Hello from the wheel")
        await alice.locator("#composer-input").press("Enter")
        # Bob's page acknowledges it at once (delivered), then reads it.
        await expect(alice.locator(".msg.mine .receipt")).to_have_text("✓✓ Delivered")
        await bob.locator("li.conv button").first.click()
        await expect(bob.locator(".msg .text")).to_have_text("Hello from the wheel")
        await bob.locator("#composer-input").fill("Hello back")
        await bob.locator("#composer-input").press("Enter")
        await expect(alice.locator(".msg:not(.mine) .text")).to_have_text("Hello back")
        assert errors == []

        # SIGTERM: the browsers' engine.io-client ignores an Engine.IO close
        # packet on a WebSocket, so the hub must close the transport itself.
        for page in (alice, bob):
            await page.evaluate(WATCH_A_SOCKET)
        sigterm_at = time.time() * 1000
        stopped = asyncio.ensure_future(hub.stop())
        for page in (alice, bob):
            await page.wait_for_function("() => window.hubDisconnect", timeout=2000)
            seen = await page.evaluate("() => window.hubDisconnect")
            assert seen["reason"] == "io server disconnect", seen
            assert seen["at"] - sigterm_at < 1000, seen
        assert await stopped == 0, hub.output()
    # The hub ran from the empty directory: its state is there, nothing elsewhere.
    assert (workdir / "data" / "hub.db").is_file()
