"""The web client's video in headless Chromium: the device check (echo) and a call.

Chromium uses its fake camera and microphone; frames are counted with
``getStats()`` (inbound-rtp ``framesDecoded``). As root with ``unshare``, the
video tests re-run themselves in a network namespace that has only loopback
(``test_video_without_network``); elsewhere they run on loopback directly
(``--allow-loopback-in-peer-connection``; the hub's aiortc peer is restricted to
127.0.0.1 by the test-only ``loopback_ice`` fixture).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from browser import (
    PHONE,
    ROOT,
    TIMEOUT_MS,
    alice_chats_with_bob,
    artifact,
    require_browser,
    sign_up,
)
from hub.context import HUB
from waits import eventually

IN_NETNS = os.environ.get("HUB_TEST_NETNS") == "1"
CAN_UNSHARE = (
    os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("ip") is not None
)
MIN_FRAMES = 10


# A lobby "minute" of 4 s: a 2-minute session lasts 8 s.
pytestmark = pytest.mark.hub_settings(networking_minute_s=4, networking_tick_s=0.05)


@pytest.mark.browser
@pytest.mark.slow  # a whole pytest run of this file under unshare -n
def test_video_without_network() -> None:
    """Runs this file's browser video tests under ``unshare -n`` (only loopback)."""
    if IN_NETNS or not CAN_UNSHARE:
        pytest.skip("already in the namespace" if IN_NETNS else "needs root and unshare")
    require_browser()
    inner = (
        f"ip link set lo up && HUB_TEST_NETNS=1 exec {sys.executable} -m pytest -q "
        f"-p no:cacheprovider {__file__} -k 'not without_network'"
    )
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", inner], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "3 passed" in result.stdout, result.stdout[-3000:]


needs_isolation = pytest.mark.skipif(
    CAN_UNSHARE and not IN_NETNS, reason="run by test_video_without_network under unshare -n"
)


async def wait_frames(page: Any, which: str, minimum: int = MIN_FRAMES) -> int:
    return await eventually(
        lambda: page.evaluate(f"window.hubFrames.{which}()"),
        lambda frames: frames >= minimum,
        timeout=TIMEOUT_MS / 1000,
        message=f"video frames decoded ({which})",
    )


@needs_isolation
async def test_device_check_echoes_video(
    server: TestServer, loopback_ice: None, chromium: Any
) -> None:
    from playwright.async_api import expect

    page = await (await chromium.new_context(viewport=PHONE)).new_page()
    await sign_up(page, str(server.make_url("/")), "Echo")
    await page.get_by_role("link", name="Device check").click()
    await page.get_by_role("button", name="Start check").click()
    await expect(page.locator("#echo-state")).to_have_text("receiving your echo")
    assert await wait_frames(page, "echo") >= MIN_FRAMES
    playing = await page.evaluate("document.querySelector('#echo-remote').videoWidth")
    assert playing > 0
    await page.screenshot(path=str(artifact("web-device-check.png")), full_page=True)
    await page.get_by_role("button", name="Stop").click()
    await expect(page.locator("#echo-state")).to_have_text("stopped")
    assert page.errors == []


@needs_isolation
async def test_video_call_between_two_pages(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    alice, bob = await alice_chats_with_bob(chromium, base)
    await expect(alice.locator("#conv-title")).to_have_text("Bob")

    await alice.get_by_role("button", name="Video call").click()
    await expect(alice.locator("#call-state")).to_have_text("ringing…")
    await expect(bob.locator("#incoming-text")).to_have_text("Alice is calling (video)")
    await bob.get_by_role("button", name="Accept").click()
    await expect(alice.locator("#call-state")).to_have_text("in call")
    await expect(bob.locator("#call-state")).to_have_text("in call")
    assert await wait_frames(alice, "call") >= MIN_FRAMES
    assert await wait_frames(bob, "call") >= MIN_FRAMES
    await alice.screenshot(path=str(artifact("web-call-alice.png")), full_page=True)
    await bob.screenshot(path=str(artifact("web-call-bob.png")), full_page=True)

    await bob.get_by_role("button", name="Hang up").click()
    await expect(alice.locator("#call-state")).to_have_text("Call ended")

    # A second call, declined this time.
    await alice.goto(base + "#/conversations")
    await alice.locator("li.conv button").first.click()
    await alice.get_by_role("button", name="Video call").click()
    await expect(bob.locator("#incoming")).to_be_visible()
    await bob.get_by_role("button", name="Decline").click()
    await expect(alice.locator("#call-state")).to_have_text("Call declined")
    assert alice.errors == [] and bob.errors == []


@needs_isolation
async def test_networking_lobby_match_video_and_connect(
    server: TestServer, app: Any, http: Any, chromium: Any
) -> None:
    from playwright.async_api import expect

    admin = await (
        await http.post(
            "/api/v1/auth/register",
            json={
                "email": "admin@example.com",
                "password": "correct horse",
                "display_name": "Admin",
                "role": "client",
            },
        )
    ).json()
    await app[HUB].accounts.set_role(admin["user"]["id"], "admin")
    created = await http.post(
        "/api/v1/networking/lobbies",
        json={"title": "Designers meet devs", "topic": "design", "duration_minutes": 2},
        headers={"Authorization": f"Bearer {admin['access_token']}"},
    )
    assert created.status == 201, await created.text()

    base = str(server.make_url("/"))
    pages = [await (await chromium.new_context(viewport=PHONE)).new_page() for _ in range(2)]
    for page, name in zip(pages, ("Ann", "Ben"), strict=False):
        await sign_up(page, base, name)
        await page.get_by_role("link", name="Networking").click()
        await page.locator("li.lobby button").first.click()
        await expect(page.locator("#lobby-waiting")).to_contain_text("waiting")
    ann, ben = pages
    await expect(ann.locator("#session-peer")).to_have_text("Ben")
    await expect(ben.locator("#session-peer")).to_have_text("Ann")
    await expect(ann.locator("#session-countdown")).to_contain_text("left")
    for page in pages:
        assert await wait_frames(page, "session") >= MIN_FRAMES
    await ann.screenshot(path=str(artifact("web-lobby-ann.png")), full_page=True)
    await ben.screenshot(path=str(artifact("web-lobby-ben.png")), full_page=True)
    # time_up, then both rate and choose connect: a chat appears for both.
    for page in pages:
        await expect(page.locator("#session-state")).to_have_text("Time is up")
        form = page.locator("#rate-form")
        await form.get_by_label("Connect").check()
        await form.get_by_role("button", name="Send rating").click()
    for page, peer in ((ann, "Ben"), (ben, "Ann")):
        await expect(page.locator("#session-result")).to_contain_text(
            f"You are connected with {peer}"
        )
        await page.get_by_role("link", name="Chats").click()
        await expect(page.locator("li.conv .name")).to_have_text(peer)
    assert ann.errors == [] and ben.errors == []
