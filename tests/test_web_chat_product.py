"""The web client's chat-product features (issue 17) in headless Chromium:
reactions, threads, pins, system lines and marketplace cards, live between two
browsers and after a reconnect (sync's change feed)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from browser import PHONE, alice_chats_with_bob, artifact, sign_up
from market_client import MARKET, bid_body, job_body

pytestmark = pytest.mark.hub_settings(presence_grace_s=0.3)

# fetch() in the page, with the page's own token: REST calls as that user.
CALL_API = """async ([method, path, body]) => {
  const r = await fetch('/api/v1' + path, { method, body: body && JSON.stringify(body),
    headers: { Authorization: 'Bearer ' + hubState.auth.access_token,
               'Content-Type': 'application/json' } });
  return { status: r.status, body: await r.json() };
}"""


async def call_api(page: Any, method: str, path: str, body: Any = None) -> Any:
    answer = await page.evaluate(CALL_API, [method, path, body])
    assert answer["status"] in (200, 201), answer
    return answer["body"]


async def say(page: Any, text: str) -> None:
    await page.locator("#composer-input").fill(text)
    await page.locator("#composer-input").press("Enter")


async def open_first_chat(page: Any) -> None:
    await page.locator("li.conv button").first.click()
    await page.locator("#view-conv").wait_for()


async def drop_connection(page: Any) -> None:
    from playwright.async_api import expect

    await page.evaluate(
        "() => { const m = hubState.sockets.manager; m.reconnection(false); m.engine.close(); }"
    )
    await expect(page.locator("#status")).to_have_text("connection lost, reconnecting…")


async def reconnect(page: Any) -> None:
    from playwright.async_api import expect

    await page.evaluate(
        "() => { const m = hubState.sockets.manager; m.reconnection(true); m.open(); }"
    )
    await expect(page.locator("#status")).to_have_text("online")


async def test_reactions_and_pins_live_and_after_a_reconnect(
    server: TestServer, chromium: Any
) -> None:
    from playwright.async_api import expect

    alice, bob = await alice_chats_with_bob(chromium, str(server.make_url("/")))
    await say(alice, "Shall we ship on Friday?")
    await expect(alice.locator(".msg.mine .text")).to_have_text("Shall we ship on Friday?")
    await open_first_chat(bob)
    bob_msg = bob.locator('.msg[data-seq="1"]')
    alice_msg = alice.locator('.msg[data-seq="1"]')

    # Bob reacts from the quick picker; Alice sees the chip appear live.
    await bob_msg.get_by_role("button", name="Add a reaction").click()
    await bob_msg.get_by_role("button", name="React with 👍").click()
    await expect(bob_msg.locator(".reaction")).to_have_text("👍 1")
    await expect(bob_msg.locator(".reaction")).to_have_class("reaction me")
    await expect(alice_msg.locator(".reaction")).to_have_text("👍 1")
    await expect(alice_msg.locator(".reaction")).to_have_attribute("aria-pressed", "false")

    # Alice joins in by clicking the chip: both see 2, each with their own `me`.
    await alice_msg.locator(".reaction").click()
    await expect(alice_msg.locator(".reaction")).to_have_text("👍 2")
    await expect(alice_msg.locator(".reaction")).to_have_attribute("aria-pressed", "true")
    await expect(bob_msg.locator(".reaction")).to_have_text("👍 2")
    await expect(bob_msg.locator(".reaction")).to_have_attribute("aria-pressed", "true")

    # Bob takes his back; a second emoji gets its own chip.
    await bob_msg.locator(".reaction").click()
    await expect(alice_msg.locator(".reaction")).to_have_text("👍 1")
    await expect(bob_msg.locator(".reaction")).to_have_attribute("aria-pressed", "false")
    await bob_msg.get_by_role("button", name="Add a reaction").click()
    await bob_msg.get_by_role("button", name="React with 🎉").click()
    await expect(alice_msg.locator(".reaction")).to_have_text(["👍 1", "🎉 1"])

    # Pins: Alice pins, Bob sees the marker; Bob unpins, Alice's goes away.
    await alice_msg.get_by_role("button", name="Pin", exact=True).click()
    await expect(alice_msg.locator(".pin-mark")).to_have_text("📌 Pinned")
    await expect(bob_msg.locator(".pin-mark")).to_have_text("📌 Pinned")
    # ... and the pins list under the title (conversation:pins).
    await expect(bob.locator("#pins-toggle")).to_have_text("📌 1 pinned")
    await bob.locator("#pins-toggle").click()
    await expect(bob.locator("#pins-list button")).to_have_text(["Alice: Shall we ship on Friday?"])
    await bob.locator("#pins-list button").click()
    await expect(bob.locator("#pins-list")).to_be_hidden()
    await bob_msg.get_by_role("button", name="Unpin").click()
    await expect(alice_msg.locator(".pin-mark")).to_have_count(0)
    await expect(alice.locator("#conv-pins")).to_be_hidden()
    await expect(alice_msg.get_by_role("button", name="Pin", exact=True)).to_be_visible()

    # Alice is away while Bob reacts, pins and sends: the reconnect's sync
    # brings the changes of the message she holds (its rev), not only new ones.
    await drop_connection(alice)
    await bob_msg.get_by_role("button", name="Add a reaction").click()
    await bob_msg.get_by_role("button", name="React with 👀").click()
    await bob_msg.get_by_role("button", name="Pin", exact=True).click()
    await say(bob, "Friday works")
    await expect(bob.locator(".msg.mine .text")).to_have_text("Friday works")
    await reconnect(alice)
    await expect(alice.locator(".msg:not(.mine) .text")).to_have_text("Friday works")
    await expect(alice_msg.locator(".reaction")).to_have_text(["👍 1", "🎉 1", "👀 1"])
    await expect(alice_msg.locator(".pin-mark")).to_have_text("📌 Pinned")
    await expect(alice.locator("#pins-toggle")).to_have_text("📌 1 pinned")

    await alice.screenshot(path=str(artifact("web-chat-reactions-alice.png")), full_page=True)
    assert alice.errors == [] and bob.errors == []


async def test_a_thread_reply_shows_in_its_thread_only(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    alice, bob = await alice_chats_with_bob(chromium, str(server.make_url("/")))
    await say(alice, "Which database for the MVP?")
    await expect(alice.locator(".msg.mine .text")).to_have_text("Which database for the MVP?")
    await open_first_chat(bob)

    # Bob answers in a thread: the reply shows in the thread pane.
    await bob.locator('.msg[data-seq="1"]').get_by_role("button", name="Reply in thread").click()
    await expect(bob.locator("#thread-root .text")).to_have_text("Which database for the MVP?")
    await bob.get_by_label("Reply in thread").fill("SQLite first, Mongo later")
    await bob.get_by_label("Reply in thread").press("Enter")
    await expect(bob.locator("#thread-messages .text")).to_have_text("SQLite first, Mongo later")
    await expect(bob.locator("#thread-count")).to_have_text("1 reply")

    # Alice's main list: the root says "1 reply", the reply itself is not there.
    root = alice.locator('#messages .msg[data-seq="1"]')
    await expect(root.locator("button.replies")).to_have_text("1 reply")
    await expect(alice.locator("#messages .msg .text")).to_have_text(
        ["Which database for the MVP?"]
    )

    # She opens the thread and answers; Bob, still in the thread, sees it live.
    await root.locator("button.replies").click()
    await expect(alice.locator("#thread-messages .text")).to_have_text(
        ["SQLite first, Mongo later"]
    )
    await alice.get_by_label("Reply in thread").fill("Agreed")
    await alice.get_by_label("Reply in thread").press("Enter")
    await expect(bob.locator("#thread-messages .text")).to_have_text(
        ["SQLite first, Mongo later", "Agreed"]
    )
    await expect(bob.locator("#thread-count")).to_have_text("2 replies")
    await alice.screenshot(path=str(artifact("web-chat-thread-alice.png")), full_page=True)

    # Back in the conversation: the root counts both, the main list stays clean.
    await bob.get_by_role("button", name="Back to the conversation").click()
    bob_root = bob.locator('#messages .msg[data-seq="1"]')
    await expect(bob_root.locator("button.replies")).to_have_text("2 replies")
    await expect(bob.locator("#messages .msg .text")).to_have_text(["Which database for the MVP?"])
    await bob.screenshot(path=str(artifact("web-chat-thread-bob.png")), full_page=True)

    # After a reload the counts come from the hub (reply_count), not from events.
    await alice.reload()
    await expect(alice.locator("#status")).to_have_text("online")
    await expect(root.locator("button.replies")).to_have_text("2 replies")
    assert alice.errors == [] and bob.errors == []


async def test_a_title_change_renders_as_a_system_line(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    alice, bob = await alice_chats_with_bob(chromium, str(server.make_url("/")))
    await say(alice, "Hello")
    await expect(alice.locator(".msg.mine .text")).to_have_text("Hello")
    await open_first_chat(bob)
    await expect(bob.locator(".msg .text")).to_have_text("Hello")

    conversation_id = await alice.evaluate("() => hubState.current")
    await call_api(alice, "PATCH", f"/conversations/{conversation_id}", {"title": "Redesign"})

    # A centered system line, in each viewer's words; no chat bubble for it.
    await expect(bob.locator(".system-line .sys-text")).to_have_text(
        "Alice changed the title to “Redesign”"
    )
    await expect(alice.locator(".system-line .sys-text")).to_have_text(
        "You changed the title to “Redesign”"
    )
    await expect(bob.locator("#conv-title")).to_have_text("Redesign")
    await expect(bob.locator(".msg")).to_have_count(1)
    await bob.screenshot(path=str(artifact("web-chat-system-line-bob.png")), full_page=True)

    # Alice caused it: never unread for her, even in her list.
    await alice.goto(str(server.make_url("/")) + "#/conversations")
    item = alice.locator("li.conv").first
    await expect(item.locator(".last")).to_have_text("You changed the title to “Redesign”")
    await expect(item.locator(".badge")).to_have_count(0)
    assert await alice.evaluate("() => [...hubState.convs.values()][0].unread_count") == 0
    assert alice.errors == [] and bob.errors == []


@MARKET
async def test_a_bid_accepted_card_in_the_bids_conversation(
    server: TestServer, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    carol = await (await chromium.new_context(viewport=PHONE)).new_page()
    fred = await (await chromium.new_context(viewport=PHONE)).new_page()
    await sign_up(carol, base, "Carol", role="client")
    await sign_up(fred, base, "Fred", role="freelancer")

    job = await call_api(carol, "POST", "/jobs", job_body(title="Port the billing service"))
    bid = await call_api(fred, "POST", f"/jobs/{job['id']}/bids", bid_body(50_000))
    await call_api(carol, "POST", f"/bids/{bid['id']}/award")
    await call_api(fred, "POST", f"/bids/{bid['id']}/accept")

    # The bid's conversation appears with its card; Carol opens it.
    item = carol.locator("li.conv").first
    await expect(item.locator(".last")).to_have_text("Bid accepted: Port the billing service")
    await expect(item.locator(".badge")).to_have_text("1")
    await item.locator("button").click()
    card = carol.locator(".card-msg")
    await expect(card.locator(".card-head")).to_have_text("Bid accepted")
    await expect(card.locator(".card-title")).to_have_text("Port the billing service")
    await expect(card.locator(".card-amount")).to_have_text("500.00 USD")
    await expect(card.locator(".who")).to_have_text("by Fred")

    # A card takes reactions like a message.
    await card.get_by_role("button", name="Add a reaction").click()
    await card.get_by_role("button", name="React with 🎉").click()
    await expect(card.locator(".reaction")).to_have_text("🎉 1")
    await carol.screenshot(path=str(artifact("web-chat-card-carol.png")), full_page=True)
    assert carol.errors == [] and fred.errors == []


async def test_delivered_then_read_and_a_mention(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    alice, bob = await alice_chats_with_bob(chromium, str(server.make_url("/")))
    # Bob's page holds the conversation list only: it receives, it does not read.
    await expect(bob.locator("li.conv")).to_have_count(1)
    await say(alice, "Are you there?")
    receipt = alice.locator('.msg[data-seq="1"] .receipt')
    await expect(receipt).to_have_text("✓✓ Delivered")

    await open_first_chat(bob)
    await expect(receipt).to_have_text("✓✓ Read")

    # "@Alice" names a participant: the message mentions her.
    await say(bob, "@Alice yes, here")
    mention = alice.locator('.msg[data-seq="2"]')
    await expect(mention).to_have_class("msg mentions-me")
    stored = await alice.evaluate("() => [...hubState.messages.values()][0].get(2).mentions")
    assert stored == [await alice.evaluate("() => hubState.me.id")]
