"""The bid's conversation beside the bid on the job page (issue 21), in headless
Chromium: the client at desktop width and the freelancer on a 375 px phone, each
on the job page. The client starts the conversation there and writes; the
freelancer's panel shows it live and answers from there; a reply being typed
survives the page redrawing for a notification; the latest five messages stay
live; "Open the full conversation" opens it with everything. Beside the bid on a
desktop, below it on a phone; the admin, who sees the bid but is no party to it,
sees no panel.

Set-up that is not what the test claims (the accounts, the job and the bid, the
freelancer's messages from another device) goes through REST."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from browser import (
    DESKTOP,
    NARROW_PHONE,
    artifact,
    assert_accessible,
    assert_fits_width,
    log_in,
)
from market_client import post_bid, post_job
from users import PASSWORD, Users

ADMIN_EMAIL = "judge@example.com"


async def open_job(page: Any, listed: str) -> None:
    """From the nav's Jobs page, the job in the list ``listed`` (a CSS selector)."""
    from playwright.async_api import expect

    await page.get_by_role("link", name="Jobs", exact=True).click()
    await page.locator(f"{listed} li.job").get_by_role("button").click()
    await expect(page.locator("#job-title")).to_have_text("Logo for a bakery")


async def box(locator: Any) -> dict[str, float]:
    found = await locator.bounding_box()
    assert found is not None
    return dict(found)


async def test_the_bid_conversation_beside_the_bid(
    server: TestServer, chromium: Any, users: Users
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    cara, fred = (*await users("cara"), *await users("fred", role="freelancer"))
    job = await post_job(cara, title="Logo for a bakery", description="A round logo.")
    bid = await post_bid(fred, job, proposal="Three sketches by Friday.")

    client = await (await chromium.new_context(viewport=DESKTOP)).new_page()
    phone = await (await chromium.new_context(viewport=NARROW_PHONE)).new_page()
    await log_in(client, base, "cara@example.com", PASSWORD)
    await log_in(phone, base, "fred@example.com", PASSWORD)
    await open_job(client, "#my-jobs")
    await open_job(phone, "#my-work")
    job_url = client.url
    await phone.evaluate("() => { window.notReloaded = true; }")

    # Each side's panel beside the bid: no conversation yet.
    client_bid = client.locator("#bids li.bid")
    phone_bid = phone.locator("#bids li.bid")
    client_panel = client_bid.get_by_role("region", name="Conversation with fred")
    phone_panel = phone_bid.get_by_role("region", name="Conversation with cara")
    await expect(client_panel).to_contain_text("You have not talked about this bid yet.")
    await expect(phone_panel).to_contain_text("You have not talked about this bid yet.")
    await expect(phone_panel.get_by_label("Reply to cara")).to_be_hidden()

    # Cara starts it without leaving the page, and writes there.
    await client_panel.get_by_role("button", name="Start the conversation").click()
    client_reply = client_panel.get_by_label("Reply to fred")
    await expect(client_reply).to_be_focused()
    await expect(client_panel).to_contain_text("No messages yet: write the first one.")
    assert client.url == job_url
    await client_reply.fill("Hi Fred, when could you start?")
    await client_reply.press("Enter")
    await expect(client_panel.locator(".msg.mine .text")).to_have_text(
        "Hi Fred, when could you start?"
    )
    await expect(client_reply).to_have_value("")

    # Fred's panel shows it without a reload, and it is read: Cara's tick says so.
    await expect(phone_panel.get_by_role("button", name="Start the conversation")).to_be_hidden()
    await expect(phone_panel.locator(".msg:not(.mine) .text")).to_have_text(
        "Hi Fred, when could you start?"
    )
    await expect(client_panel.locator(".msg.mine .receipt")).to_have_text("✓✓ Read")

    # Fred answers from his panel; a notification redrawing his page (Cara
    # shortlists the bid) keeps what he is typing, and the focus.
    phone_reply = phone_panel.get_by_label("Reply to cara")
    await phone_reply.fill("Tomorrow morning.")
    await client_bid.get_by_role("button", name="Shortlist").click()
    await expect(phone_bid.locator(".bid-status")).to_have_text("Shortlisted")
    await expect(phone_reply).to_have_value("Tomorrow morning.")
    await expect(phone_reply).to_be_focused()
    await phone_reply.press("Enter")
    await expect(phone_panel.locator(".msg.mine .text")).to_have_text("Tomorrow morning.")
    await expect(client_panel.locator(".msg:not(.mine) .text")).to_have_text("Tomorrow morning.")
    assert await phone.evaluate("() => window.notReloaded === true")

    # Beside the bid on a desktop, below it on a phone; both fit and pass axe.
    card, panel = await box(client_bid.locator(".bid-card")), await box(client_panel)
    assert panel["x"] >= card["x"] + card["width"], (card, panel)
    card, panel = await box(phone_bid.locator(".bid-card")), await box(phone_panel)
    assert panel["y"] >= card["y"] + card["height"], (card, panel)
    assert panel["x"] + panel["width"] <= NARROW_PHONE["width"]
    await client.screenshot(path=str(artifact("web-bid-conversation-desktop.png")), full_page=True)
    await phone.screenshot(path=str(artifact("web-bid-conversation-phone.png")), full_page=True)
    for page, who in ((client, "client, desktop"), (phone, "freelancer, 375 px")):
        await assert_fits_width(page, f"job page with the bid's conversation ({who})")
        await assert_accessible(page, f"job page with the bid's conversation ({who})")

    # The latest five stay live: messages Fred sends from another device.
    conversation_id = await client.evaluate(
        "(bid) => [...hubState.convs.values()].find((c) => c.context && c.context.id === bid).id",
        bid["id"],
    )
    for n in range(1, 6):
        await fred.send(conversation_id, f"Sketch {n} is ready.")
    shown = client_panel.locator(".msg .text")
    await expect(shown).to_have_text([f"Sketch {n} is ready." for n in range(1, 6)])

    # The full conversation opens with everything.
    await client_panel.get_by_role("link", name="Open the full conversation").click()
    await expect(client.locator("#conv-title")).to_have_text("fred")
    assert client.url.endswith("#/c/" + conversation_id)
    await expect(client.locator("#messages .msg .text")).to_have_text(
        [
            "Hi Fred, when could you start?",
            "Tomorrow morning.",
            *[f"Sketch {n} is ready." for n in range(1, 6)],
        ]
    )
    await expect(client.locator(".bid-conv")).to_have_count(0)  # gone with the job page

    # The admin sees the bid, but is no party to it: no panel.
    await users.admin(ADMIN_EMAIL)
    judge = await (await chromium.new_context(viewport=DESKTOP)).new_page()
    await log_in(judge, base, ADMIN_EMAIL, PASSWORD)
    await open_job(judge, "#jobs")
    await expect(judge.locator("#bids li.bid")).to_contain_text("fred · 50.00 USD")
    await expect(judge.locator("#bids li.bid .bid-status")).to_have_text("Shortlisted")
    await expect(judge.locator(".bid-conv")).to_have_count(0)
    await expect(judge.get_by_role("region", name="Conversation with fred")).to_have_count(0)

    for page in (client, phone, judge):
        await expect(page.locator("#error")).to_be_hidden()
    assert client.errors == [] and phone.errors == [] and judge.errors == []
