"""Accessibility and phone width of the web client's main screens in headless
Chromium (issue 21): axe-core finds no serious or critical violation on the
sign-in page, "Page not found", the conversation list, a conversation, the jobs,
a job, the account page, the wallet and networking, at desktop width and on a
375 px phone, where no screen scrolls sideways; on the phone the nav's links are
fingertip-sized; and a lost connection shows in the status badge (a role=status
live region) until the page is back online.

Other screens check themselves with browser.assert_accessible and
browser.assert_fits_width."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestServer

from browser import DESKTOP, NARROW_PHONE, assert_accessible, assert_fits_width, sign_up
from market_client import post_bid, post_job
from users import Api, Users


async def new_page(browser: Any) -> Any:
    page = await (await browser.new_context(viewport=DESKTOP)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


async def check_screen(page: Any, name: str) -> None:
    """axe at desktop width, then axe and the width check on a 375 px phone."""
    await page.set_viewport_size(DESKTOP)
    await assert_accessible(page, f"{name} (desktop)")
    await page.set_viewport_size(NARROW_PHONE)
    await assert_fits_width(page, f"{name} (phone)")
    await assert_accessible(page, f"{name} (phone)")


async def test_main_screens_are_accessible_at_desktop_and_phone_width(
    server: TestServer, api: Api, users: Users, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await new_page(chromium)
    await page.goto(base)
    await expect(page.locator("#signup-form")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("data-limits", "applied")
    await check_screen(page, "sign-in")

    # Setup (not what this test claims): Ann signs up in the page; Cara posts a job
    # Ann has bid on, Bob writes to Ann.
    ann_id = await sign_up(page, base, "Ann", role="freelancer")
    ann = users.of(await api.login("ann@example.com"))
    cara, bob = await users("cara", "bob")
    job = await post_job(cara, title="Logo for a bakery")
    await post_bid(ann, job)
    conversation = await bob.ok("POST", "/conversations", {"participant_ids": [ann_id]}, status=201)
    await bob.send(conversation["id"], "Hello Ann, about the logo")

    screens = [
        ("#/conversations", "conversation list", page.locator("#conversations li")),
        (f"#/c/{conversation['id']}", "a conversation",
         page.locator("#messages").get_by_text("Hello Ann, about the logo")),
        ("#/jobs", "jobs", page.locator("#view-jobs").get_by_text("Logo for a bakery").first),
        (f"#/jobs/{job['id']}", "a job", page.locator("#job-title")),
        ("#/account", "account", page.locator("#sessions li").first),
        ("#/wallet", "wallet", page.locator("#no-ledger")),
        ("#/lobby", "networking", page.locator("#no-lobbies")),
        ("#/nope", "page not found", page.get_by_role("heading", name="Page not found")),
    ]  # fmt: skip
    for route, name, content in screens:
        await page.set_viewport_size(DESKTOP)
        await page.goto(base + route)
        await expect(content).to_be_visible()
        await check_screen(page, name)
    assert page.errors == []


async def test_the_nav_fits_a_phone_with_tap_sized_links(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await new_page(chromium)
    await page.set_viewport_size(NARROW_PHONE)
    await sign_up(page, base, "Tess")
    nav = page.get_by_role("navigation")
    await expect(nav).to_be_visible()
    for control in await nav.locator("a:visible, button:visible").all():
        box = await control.bounding_box()
        assert box is not None
        name = await control.text_content()
        assert box["height"] >= 40, (name, box)  # a fingertip, about 44 css px
        assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW_PHONE["width"], (name, box)
    await assert_fits_width(page, "conversation list (phone)")
    await page.get_by_role("link", name="Jobs").click()
    await expect(page.locator("#view-jobs")).to_be_visible()
    assert page.errors == []


async def test_a_lost_connection_is_shown_and_announced(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await new_page(chromium)
    # The page's WebSockets go through Playwright, which cuts them as a network
    # would, and while `down` answers new ones with an engine.io error packet (a
    # WebSocket closed before its handshake goes unnoticed for the client's 20 s
    # connect timeout, where a real network gives an error at once).
    sockets: list[Any] = []
    down = False

    def through(ws: Any) -> None:
        sockets.append(ws)
        if down:
            ws.send("x")  # not an engine.io packet: a "parser error"
        else:
            ws.connect_to_server()

    await page.route_web_socket(re.compile(r"/socket\.io/"), through)
    await sign_up(page, base, "Lou")
    status = page.locator("#status")
    await expect(status).to_have_attribute("role", "status")
    await expect(status).to_have_text("online")

    down = True
    for ws in list(sockets):
        await ws.close()
    await expect(status).to_have_text(re.compile("reconnecting|cannot reach"))
    await expect(status).to_have_class(re.compile("reconnecting|offline"))
    await expect(status).to_have_text(re.compile(r"attempt \d|cannot reach"))  # it retries
    await assert_accessible(page, "connection lost")  # the badge's colours too
    down = False
    await expect(status).to_have_text("online")  # back by itself
    assert len(sockets) > 2  # a WebSocket refused, then one that got through
    assert page.errors == []
