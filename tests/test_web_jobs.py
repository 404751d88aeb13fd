"""The web client's job pages in headless Chromium: a client posts a job, a
freelancer bids on it, and the bid's conversation opens from the job page."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from browser import PHONE, artifact, sign_up

PROPOSAL = "Three sketches by Friday, then two rounds of changes."


def hash_id(page: Any, prefix: str) -> str:
    url = page.url
    assert prefix in url, url
    return url.split(prefix, 1)[1]


async def test_post_bid_and_talk_from_the_job_page(
    server: TestServer, app: Any, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    cara = await (await chromium.new_context(viewport=PHONE)).new_page()
    fred = await (await chromium.new_context(viewport=PHONE)).new_page()
    await sign_up(cara, base, "Cara", role="client")
    await sign_up(fred, base, "Fred", role="freelancer")

    # Cara (a client) posts a job and lands on its page.
    await cara.get_by_role("link", name="Jobs").click()
    await expect(cara.locator("#no-my-jobs")).to_be_visible()
    form = cara.locator("#job-form")
    await form.get_by_label("Title").fill("Logo for a bakery")
    await form.get_by_label("Description").fill("A round logo in two colours.")
    await form.get_by_label("Skills").fill("design, branding")
    await form.get_by_label("Budget from").fill("200")
    await form.get_by_label("to", exact=True).fill("450.50")
    await form.get_by_label("Currency").select_option("EUR")
    await form.get_by_role("button", name="Post job").click()
    await expect(cara.locator("#job-title")).to_have_text("Logo for a bakery")
    await expect(cara.locator("#job-meta")).to_have_text(
        "Open · Fixed price · 200.00 EUR – 450.50 EUR · posted by You"
    )
    await expect(cara.locator("#job-skills")).to_have_text("Skills: design, branding")
    await expect(cara.locator("#no-bids")).to_have_text("No bids yet.")
    await expect(cara.locator("#bid-form")).to_be_hidden()
    job_id = hash_id(cara, "#/jobs/")

    # Fred (a freelancer) finds it among the open jobs; he cannot post jobs.
    await fred.get_by_role("link", name="Jobs").click()
    listed = fred.locator("#jobs li.job")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("Logo for a bakery")
    await expect(listed).to_contain_text("200.00 EUR – 450.50 EUR")
    await expect(fred.locator("#job-form")).to_be_hidden()
    await expect(fred.locator("#my-jobs-box")).to_be_hidden()
    await listed.get_by_role("button").click()
    await expect(fred.locator("#job-title")).to_have_text("Logo for a bakery")
    assert hash_id(fred, "#/jobs/") == job_id
    await expect(fred.locator("#job-meta")).to_contain_text("posted by Cara")
    await expect(fred.locator("#no-bids")).to_have_text("You have not bid on this job.")

    # Fred bids; one active bid per job, so the form goes away.
    bid_form = fred.locator("#bid-form")
    await expect(bid_form.get_by_label("Amount")).to_be_visible()
    await expect(fred.locator("#bid-currency")).to_have_text("EUR")
    await bid_form.get_by_label("Amount").fill("380")
    await bid_form.get_by_label("Delivery in days").fill("7")
    await bid_form.get_by_label("Proposal").fill(PROPOSAL)
    await bid_form.get_by_role("button", name="Place bid").click()
    fred_bid = fred.locator("#bids li.bid")
    await expect(fred_bid).to_have_count(1)
    await expect(fred_bid).to_contain_text("You · 380.00 EUR in 7 days · Pending")
    await expect(bid_form).to_be_hidden()
    await expect(fred.locator("#bids-heading")).to_have_text("Your bid")

    # Cara's job page shows the bid without a reload (bid.created notification).
    cara_bid = cara.locator("#bids li.bid")
    await expect(cara_bid).to_have_count(1)
    await expect(cara_bid).to_contain_text("Fred · 380.00 EUR in 7 days · Pending")
    await expect(cara_bid.locator(".proposal")).to_have_text(PROPOSAL)
    bid_id = await cara_bid.get_attribute("data-id")
    assert bid_id and bid_id == await fred_bid.get_attribute("data-id")
    await cara.screenshot(path=str(artifact("web-jobs-cara-job.png")), full_page=True)
    await fred.screenshot(path=str(artifact("web-jobs-fred-job.png")), full_page=True)

    # Cara starts the bid's conversation beside the bid, opens it in full and writes.
    await cara_bid.get_by_role("button", name="Start the conversation").click()
    await cara_bid.get_by_role("link", name="Open the full conversation").click()
    await expect(cara.locator("#conv-title")).to_have_text("Fred")
    await expect(cara.locator("#conv-context")).to_have_text("About a bid: view the job")
    conversation_id = hash_id(cara, "#/c/")
    context = await cara.evaluate("(id) => hubState.convs.get(id).context", conversation_id)
    assert context == {"type": "bid", "id": bid_id}
    await cara.locator("#composer-input").fill("Hi Fred, when could you start?")
    await cara.locator("#composer-input").press("Enter")
    await expect(cara.locator(".msg.mine .text")).to_have_text("Hi Fred, when could you start?")

    # Fred opens it from his bid: the same conversation, with Cara's message.
    await fred_bid.get_by_role("link", name="Open the full conversation").click()
    await expect(fred.locator("#conv-title")).to_have_text("Cara")
    assert hash_id(fred, "#/c/") == conversation_id
    await expect(fred.locator(".msg:not(.mine) .text")).to_have_text(
        "Hi Fred, when could you start?"
    )
    await fred.locator("#composer-input").fill("Tomorrow morning.")
    await fred.locator("#composer-input").press("Enter")
    await expect(cara.locator(".msg:not(.mine) .text")).to_have_text("Tomorrow morning.")
    await expect(cara.locator(".msg.mine .receipt")).to_have_text("✓✓ Read")
    await cara.screenshot(path=str(artifact("web-jobs-cara-chat.png")), full_page=True)
    await fred.screenshot(path=str(artifact("web-jobs-fred-chat.png")), full_page=True)

    # Opening it again from the job page does not start another conversation.
    await cara.locator("#conv-context").click()
    await expect(cara.locator("#job-title")).to_have_text("Logo for a bakery")
    assert hash_id(cara, "#/jobs/") == job_id
    full = cara.locator("#bids li.bid").get_by_role("link", name="Open the full conversation")
    await full.click()
    await expect(cara.locator("#conv-title")).to_have_text("Fred")
    assert hash_id(cara, "#/c/") == conversation_id
    await cara.get_by_role("link", name="Chats").click()
    await expect(cara.locator("li.conv")).to_have_count(1)

    # The client's own jobs are listed too.
    await cara.get_by_role("link", name="Jobs").click()
    await expect(cara.locator("#my-jobs li.job")).to_contain_text("Logo for a bakery")
    await expect(cara.locator("#no-my-jobs")).to_be_hidden()
    assert cara.errors == [] and fred.errors == []
