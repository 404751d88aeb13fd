"""The web client in headless Chromium: a call nobody answers ends as missed on both pages.

No media flows (nobody accepts, so no peer connection is made): unlike
``test_web_video.py`` this needs no network namespace. The caller still opens
Chromium's fake camera before inviting.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from browser import (
    TIMEOUT_MS,
    alice_chats_with_bob,
    artifact,
)
from hub.clock import parse_iso
from hub.context import HUB

RING_S = 4.0


# Long enough to see the call ring, short enough for a test.
pytestmark = pytest.mark.hub_settings(call_ring_timeout_s=RING_S)


async def test_unanswered_call_is_missed_on_both_pages(
    server: TestServer, app: Any, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    alice, bob = await alice_chats_with_bob(chromium, base)
    await expect(alice.locator("#conv-title")).to_have_text("Bob")

    # Alice calls; Bob's page rings and nobody answers.
    await alice.get_by_role("button", name="Video call").click()
    await expect(alice.locator("#call-state")).to_have_text("ringing…")
    call_id = await alice.evaluate("hubState.call.id")
    await expect(bob.locator("#incoming")).to_be_visible()
    await expect(bob.locator("#incoming-text")).to_have_text("Alice is calling (video)")
    await expect(alice.locator("#notice")).to_be_hidden()
    await expect(bob.locator("#notice")).to_be_hidden()
    await bob.screenshot(path=str(artifact("web-missed-call-ringing-bob.png")), full_page=True)

    # After the ring timeout the hub ends it as missed: both pages say so,
    # and the notice stays until it is dismissed.
    missed_ms = RING_S * 1000 + TIMEOUT_MS
    await expect(alice.locator("#call-state")).to_have_text("Missed call", timeout=missed_ms)
    await expect(alice.locator("#notice-text")).to_have_text("Bob did not answer: missed call")
    await expect(bob.locator("#notice-text")).to_have_text(
        "Missed call from Alice", timeout=missed_ms
    )
    await expect(bob.locator("#incoming")).to_be_hidden()
    assert await alice.evaluate("hubState.call") is None
    assert await bob.evaluate("hubState.call") is None

    call = await app[HUB].signaling.state.get(call_id)
    assert call is not None and (call["state"], call["end_reason"]) == ("missed", "missed")
    rang = (parse_iso(call["ended_at"]) - parse_iso(call["created_at"])).total_seconds()
    assert rang >= RING_S - 0.05, rang  # ended by the ring timeout, not before

    await alice.screenshot(path=str(artifact("web-missed-call-alice.png")), full_page=True)
    await bob.screenshot(path=str(artifact("web-missed-call-bob.png")), full_page=True)
    await bob.get_by_role("button", name="Dismiss notice").click()
    await expect(bob.locator("#notice")).to_be_hidden()
    assert alice.errors == [] and bob.errors == []
