"""Headless Chromium for the web client tests (Playwright from PyPI, Debian's chromium).

Never ``playwright install``: Playwright drives ``/usr/bin/chromium`` through
``executable_path``. Tests skip when either is missing (scripts/test installs both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # WebRTC on loopback with a fake camera and microphone, no permission prompt.
    "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    # Background pages must keep their timers and media running.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--autoplay-policy=no-user-gesture-required",
]
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


def require_browser() -> None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")


async def launch(playwright):  # type: ignore[no-untyped-def]
    return await playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


async def sign_up(page: Any, base: str, name: str, role: str | None = None) -> str:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(base)
    form = page.locator("#signup-form")
    await form.get_by_label("Display name").fill(name)
    await form.get_by_label("Email").fill(f"{name.lower()}@example.com")
    await form.get_by_label("Password").fill("correct horse")
    if role is not None:
        await form.get_by_label("Role").select_option(role)
    await form.get_by_role("button", name="Create account").click()
    await page.locator("#status.online").wait_for(timeout=TIMEOUT_MS)
    return (await page.locator("#me-id").text_content() or "").strip()


async def log_in(page: Any, base: str, email: str, password: str) -> None:
    """Through the log-in form of a fresh page, collecting the page's JS errors in
    ``page.errors`` as sign_up does; returns once the page is online."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(base)
    form = page.locator("#login-form")
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("Password").fill(password)
    await form.get_by_role("button", name="Log in").click()
    await page.locator("#status.online").wait_for(timeout=TIMEOUT_MS)


async def start_chat(page: Any, name: str) -> None:
    """From the conversation list: find ``name`` in the people search and message them."""
    await page.get_by_label("Find people to message").fill(name)
    await page.get_by_role("button", name=f"Message {name}", exact=True).click()
    await page.locator("#view-conv:not([hidden])").wait_for(timeout=TIMEOUT_MS)


async def alice_chats_with_bob(
    browser: Any, base: str, roles: tuple[str | None, str | None] = (None, None)
) -> tuple[Any, Any]:
    """Alice and Bob sign up in two phone-sized contexts; Alice finds Bob in the
    people search and opens a chat with him."""
    alice = await (await browser.new_context(viewport=PHONE)).new_page()
    bob = await (await browser.new_context(viewport=PHONE)).new_page()
    await sign_up(alice, base, "Alice", role=roles[0])
    await sign_up(bob, base, "Bob", role=roles[1])
    await start_chat(alice, "Bob")
    return alice, bob


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Any]:
    """Headless Chromium, closed after the test (conftest.py marks the test
    ``browser``); Playwright's ``expect`` waits up to TIMEOUT_MS."""
    require_browser()
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            yield browser
        finally:
            await browser.close()


# The narrowest phone every screen must fit (no horizontal scrolling).
NARROW_PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
SERIOUS = ("serious", "critical")


async def assert_accessible(page: Any, screen: str = "") -> None:
    """axe-core (bundled by axe-playwright-python) on the page as it is now: no
    serious or critical violation. A failure lists each rule's id, impact and help
    with the selectors of the nodes at fault. Any screen's test can call it (after
    waiting for the screen's content); tests/test_web_a11y.py does, at desktop and
    phone width, for the main screens."""
    from axe_playwright_python.base import AXE_SCRIPT

    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE_SCRIPT)
    results = await page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    bad = [v for v in results["violations"] if v["impact"] in SERIOUS]
    report = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}: "
        + ", ".join(str(node["target"]) for node in v["nodes"])
        for v in bad
    )
    assert not bad, f"axe on {screen or page.url}:\n{report}"


# The elements (the first 8) that reach past the viewport's right edge.
WIDER_THAN = """(inner) => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > inner + 0.5 && e.offsetParent)
  .slice(0, 8).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className
      ? '.' + e.className.replaceAll(' ', '.') : ''))"""


async def assert_fits_width(page: Any, screen: str = "") -> None:
    """No horizontal scrolling: the document is no wider than the viewport."""
    scroll, inner = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    if scroll > inner:
        wide = await page.evaluate(WIDER_THAN, inner)
        raise AssertionError(f"{screen or page.url}: {scroll} px wide in {inner} px: {wide}")
