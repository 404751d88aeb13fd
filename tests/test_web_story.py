"""The whole marketplace story in headless Chromium, through the page only (issue
21): a client at desktop width, a freelancer at phone width and an admin. The
client deposits with the sandbox's test card and posts a job; the freelancer bids;
the client awards and the freelancer accepts; they talk in the bid's conversation
with a picture dropped on it and a reaction; the client funds a milestone and
releases part of it; the freelancer disputes the rest with a note and the client
adds her side; the admin reads both notes and splits it; the
client completes the job and both review each other.

The only set-up outside the page is the admin account, made as ``hub
create-admin`` makes it. Every main screen is checked with axe-core and for
sideways scrolling, and photographed at desktop and phone width: into
test-artifacts/, and into docs/web-client/ when HUB_SCREENSHOTS=docs/web-client
(scripts/screenshots does that)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from browser import (
    DESKTOP,
    NARROW_PHONE,
    PHONE,
    artifact,
    assert_accessible,
    assert_fits_width,
    log_in,
    sign_up,
)
from hub.context import HUB
from market_client import MARKET
from test_web_chat_more import drop_files, picture
from users import PASSWORD

pytestmark = MARKET  # the sandbox payment provider's webhooks reach the hub under test

ADMIN_EMAIL = "ada@example.com"


async def screens(page: Any, name: str) -> None:
    """The screen as it is: accessible, no wider than a phone, photographed at
    desktop and phone width; the page's own viewport is put back after."""
    own = page.viewport_size
    out = os.environ.get("HUB_SCREENSHOTS")
    for width, viewport in (("desktop", DESKTOP), ("phone", NARROW_PHONE)):
        await page.set_viewport_size(viewport)
        await assert_fits_width(page, f"{name} at {width} width")
        path = artifact(f"story-{name}-{width}.png")
        await page.screenshot(path=str(path))
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / f"{name}-{width}.png").write_bytes(path.read_bytes())
    await page.set_viewport_size(own)
    await assert_accessible(page, name)


async def test_the_whole_marketplace_story(server: TestServer, app: Any, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    cara = await (await chromium.new_context(viewport=DESKTOP)).new_page()
    fred = await (await chromium.new_context(viewport=PHONE)).new_page()
    ada = await (await chromium.new_context(viewport=DESKTOP)).new_page()
    await cara.goto(base)
    await screens(cara, "sign-in")
    await sign_up(cara, base, "Cara", role="client")
    await sign_up(fred, base, "Fred", role="freelancer")
    await app[HUB].accounts.create_admin(ADMIN_EMAIL, PASSWORD)
    await log_in(ada, base, ADMIN_EMAIL, PASSWORD)

    # Cara deposits 500.00 with the sandbox's test card.
    await cara.get_by_role("link", name="Wallet").click()
    deposit = cara.locator("#deposit-form")
    await deposit.get_by_label("Amount").fill("500")
    await deposit.get_by_label("Card").select_option(label="Test card (sandbox)")
    await deposit.get_by_role("button", name="Deposit").click()
    await expect(cara.locator("#deposit-result")).to_have_text("Deposit of 500.00 USD succeeded.")
    usd = cara.locator("#balances tr[data-currency=USD]")
    await expect(usd.locator(".available")).to_have_text("500.00 USD")
    await screens(cara, "wallet")

    # Cara posts a job.
    await cara.get_by_role("link", name="Jobs", exact=True).click()
    form = cara.locator("#job-form")
    await form.get_by_label("Title").fill("Logo for a bakery")
    await form.get_by_label("Description").fill("A round logo in two colours.")
    await form.get_by_label("Skills").fill("design, branding")
    await form.get_by_label("Budget from").fill("200")
    await form.get_by_label("to", exact=True).fill("450")
    await form.get_by_role("button", name="Post job").click()
    meta = cara.locator("#job-meta")
    await expect(meta).to_have_text("Open · Fixed price · 200.00 USD – 450.00 USD · posted by You")

    # Fred finds it and bids.
    await fred.get_by_role("link", name="Jobs", exact=True).click()
    listed = fred.locator("#jobs li.job")
    await expect(listed).to_have_count(1)
    await screens(fred, "jobs")
    await listed.get_by_role("button").click()
    bid_form = fred.locator("#bid-form")
    await bid_form.get_by_label("Amount").fill("400")
    await bid_form.get_by_label("Delivery in days").fill("7")
    await bid_form.get_by_label("Proposal").fill("Three sketches by Friday.")
    await bid_form.get_by_role("button", name="Place bid").click()
    fred_bid = fred.locator("#bids li.bid")
    await expect(fred_bid.locator(".bid-status")).to_have_text("Pending")

    # Cara awards it; Fred accepts.
    cara_bid = cara.locator("#bids li.bid")
    await expect(cara_bid).to_contain_text("Fred · 400.00 USD in 7 days · Pending")
    await screens(cara, "job-with-a-bid")
    await cara_bid.get_by_role("button", name="Award the job").click()
    await expect(fred_bid.locator(".bid-status")).to_have_text("Awarded")
    await fred_bid.get_by_role("button", name="Accept the job").click()
    await expect(fred_bid.locator(".bid-status")).to_have_text("Accepted")
    await expect(meta).to_contain_text("In progress ·")

    # They talk in the bid's conversation: Fred drops a picture, Cara reacts.
    await fred_bid.get_by_role("link", name="Open the full conversation").click()
    await expect(fred.locator("#view-conv")).to_be_visible()
    await drop_files(fred, [("sketch.png", "image/png", picture())])
    await expect(fred.locator("#composer-files .file-state")).to_have_text(["Uploaded"])
    await fred.locator("#composer-input").fill("First sketch attached")
    await fred.locator("#composer-input").press("Enter")
    sent = fred.locator(".msg.mine", has_text="First sketch attached")
    await expect(sent.locator("img.thumb")).to_have_attribute("src", re.compile(r"^blob:"))
    await cara_bid.get_by_role("link", name="Open the full conversation").click()
    received = cara.locator(".msg", has_text="First sketch attached")
    await expect(received.locator("img.thumb")).to_have_attribute("src", re.compile(r"^blob:"))
    await received.get_by_role("button", name="Add a reaction").click()
    await received.get_by_role("button", name="React with 👍").click()
    await expect(sent.locator(".reaction")).to_have_text("👍 1")
    await screens(fred, "conversation")

    # Cara funds a 300.00 milestone and releases 100.00 of it when Fred asks.
    await cara.go_back()
    await expect(cara.locator("#job-title")).to_have_text("Logo for a bakery")
    fund = cara.locator("#milestone-form")
    await fund.get_by_label("What it pays for").fill("Logo sketches")
    await fund.get_by_label("Amount").fill("300")
    await fund.get_by_role("button", name="Fund milestone").click()
    milestone = cara.locator("#milestones li.milestone")
    await expect(milestone.locator(".ms-status")).to_have_text("Funded")
    await fred.go_back()
    fred_ms = fred.locator("#milestones li.milestone")
    await fred_ms.get_by_role("button", name="Request release").click()
    await expect(milestone.locator(".ms-status")).to_have_text("Release requested")
    await milestone.get_by_label("Amount to release").fill("100")
    await milestone.get_by_role("button", name="Release").click()
    await expect(milestone.locator(".ms-money")).to_contain_text("released 100.00 USD")
    await expect(milestone.locator(".ms-money")).to_contain_text("held 200.00 USD")
    await screens(cara, "milestones")

    # Fred disputes the 200.00 still held, with a note; Cara adds her side.
    await fred_ms.get_by_role("button", name="Open a dispute").click()
    await fred_ms.get_by_label("What went wrong?").fill("The logo was approved on Monday.")
    await fred_ms.get_by_role("button", name="Open dispute").click()
    await expect(fred_ms.locator(".ms-status")).to_have_text("Disputed")
    await expect(milestone.locator(".ms-status")).to_have_text("Disputed")
    notes = milestone.get_by_role("list", name="Dispute notes")
    await expect(notes).to_contain_text("The logo was approved on Monday.")
    await milestone.get_by_role("button", name="Add your side").click()
    await milestone.get_by_label("Your side of the dispute").fill(
        "Approved as a sketch; the colours were still open."
    )
    await milestone.get_by_role("button", name="Save note").click()
    await expect(notes).to_contain_text("Approved as a sketch; the colours were still open.")
    await screens(cara, "dispute-notes")

    # Ada reads both notes and splits it: 150.00 to Fred, 50.00 back to Cara.
    await ada.get_by_role("link", name="Admin").click()
    await ada.get_by_role("link", name="Disputes").click()
    dispute = ada.locator("#disputes li.dispute")
    await expect(dispute).to_contain_text("Logo sketches")
    freds_side = dispute.locator(".notes").filter(has_text="Fred, the freelancer")
    await expect(freds_side.locator(".note-text")).to_have_text("The logo was approved on Monday.")
    caras_side = dispute.locator(".notes").filter(has_text="Cara, the client")
    await expect(caras_side.locator(".note-text")).to_have_text(
        "Approved as a sketch; the colours were still open."
    )
    await dispute.get_by_label(re.compile(r"the freelancer")).fill("150")
    await expect(dispute.locator(".split")).to_contain_text("50.00 USD goes back to Cara")
    await screens(ada, "admin-disputes")
    await dispute.get_by_role("button", name="Resolve dispute").click()
    await expect(ada.locator("#dispute-result")).to_have_text(
        "Resolved “Logo sketches”: 150.00 USD to Fred, 50.00 USD back to Cara."
    )
    await expect(milestone.locator(".ms-status")).to_have_text("Resolved")

    # Cara completes the job; both review each other.
    await cara.get_by_role("button", name="Mark job completed").click()
    await expect(meta).to_contain_text("Completed ·")
    for page, stars, words in ((cara, "4 stars", "Good work."), (fred, "5 stars", "Fair client.")):
        review = page.locator("#review-form")
        await review.get_by_label(stars).check()
        await review.get_by_label("Comment").fill(words)
        await review.get_by_role("button", name="Post review").click()
        await expect(review).to_be_hidden()
    await expect(cara.locator(".review-comment", has_text="Fair client.")).to_be_visible()
    await expect(fred.locator(".review-comment", has_text="Good work.")).to_be_visible()
    await screens(cara, "job-completed")

    # Money where the story says: Cara 500 - 300 + 50; Fred's notifications drawer.
    await cara.get_by_role("link", name="Wallet").click()
    await expect(usd.locator(".available")).to_have_text("250.00 USD")
    await fred.get_by_role("button", name="Alerts").click()
    await expect(fred.locator("#notif-list li").first).to_be_visible()
    await screens(fred, "notifications")
    await cara.get_by_role("link", name="Account").click()
    await expect(cara.locator("#sessions li").first).to_be_visible()
    await screens(cara, "account")

    for page in (cara, fred, ada):
        await expect(page.locator("#error")).to_be_hidden()
    assert cara.errors == [] and fred.errors == [] and ada.errors == []
