"""The marketplace in headless Chromium (issue 21), a client at desktop width and a
freelancer at phone width, through the page only: a job saved as a draft and
published, found with the search filters, bid on, shortlisted, awarded and
accepted (and still in the freelancer's list, in progress), a milestone funded
(after the page said the wallet was short), its release asked for and released in
two parts, the job completed and both sides reviewing each other; and a dispute
opened from the page, shown as disputed to both, with both sides' notes."""

from __future__ import annotations

from typing import Any

from aiohttp import web
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
from hub.marketplace.models import CreateDeposit, CreateJob
from market_client import MARKET, hire, post_bid, post_job
from users import PASSWORD, Users
from waits import eventually

pytestmark = MARKET  # the sandbox payment provider's webhooks reach the hub under test

PROPOSAL = "Three sketches by Friday, then two rounds of changes."


def hash_id(page: Any, prefix: str) -> str:
    assert prefix in page.url, page.url
    return page.url.split(prefix, 1)[1]


async def credit(app: web.Application, user_id: str, amount: int) -> None:
    """Test set-up, not what the test claims: money in the client's wallet through
    the hub's own wallet service and the sandbox provider's webhook (the wallet
    page is tested on its own)."""
    wallet = app[HUB].wallet
    await wallet.create_deposit(
        user_id, CreateDeposit(amount=amount, currency="USD", payment_method="pm_card_ok")
    )

    async def available() -> int:
        balances = (await wallet.balances(user_id)).balances
        return next(b.available for b in balances if b.currency == "USD")

    await eventually(available, done=lambda cents: cents >= amount)


async def test_job_from_draft_to_reviews(server: TestServer, app: Any, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    cara = await (await chromium.new_context(viewport=DESKTOP)).new_page()
    fred = await (await chromium.new_context(viewport=PHONE)).new_page()
    cara_id = await sign_up(cara, base, "Cara", role="client")
    fred_id = await sign_up(fred, base, "Fred", role="freelancer")
    # Another open job of Cara's, which Fred's search must leave out (set-up).
    await app[HUB].jobs.create(
        cara_id,
        CreateJob(
            title="Website for a gym",
            description="Five pages and a booking form.",
            skills=["web"],
            budget_min=100_000,
            budget_max=200_000,
            currency="USD",
            type="hourly",
            publish=True,
        ),
    )

    # Cara saves a job as a draft, then publishes it.
    await cara.get_by_role("link", name="Jobs", exact=True).click()
    form = cara.locator("#job-form")
    await form.get_by_label("Title").fill("Logo for a bakery")
    await form.get_by_label("Description").fill("A round logo in two colours.")
    await form.get_by_label("Skills").fill("design, branding")
    await form.get_by_label("Budget from").fill("200")
    await form.get_by_label("to", exact=True).fill("450.50")
    await form.get_by_role("button", name="Save as draft").click()
    await expect(cara.locator("#job-title")).to_have_text("Logo for a bakery")
    meta = cara.locator("#job-meta")
    await expect(meta).to_have_text("Draft · Fixed price · 200.00 USD – 450.50 USD · posted by You")
    job_id = hash_id(cara, "#/jobs/")
    await expect(cara.get_by_role("button", name="Mark job completed")).to_be_hidden()
    await cara.get_by_role("button", name="Publish job").click()
    await expect(meta).to_have_text("Open · Fixed price · 200.00 USD – 450.50 USD · posted by You")
    await expect(cara.get_by_role("button", name="Publish job")).to_be_hidden()

    # Fred sees both open jobs, and finds Cara's with the filters.
    await fred.get_by_role("link", name="Jobs", exact=True).click()
    listed = fred.locator("#jobs li.job")
    await expect(listed).to_have_count(2)
    search = fred.locator("#job-search")
    await search.get_by_label("Budget at least").fill("600")
    await search.get_by_label("Budget at most").fill("500")
    await search.get_by_role("button", name="Search").click()
    # The hub's 422 shows next to the field it is about.
    await expect(search.locator(".field-error")).to_have_count(1)
    await expect(search.get_by_label("Budget at most")).to_have_attribute("aria-invalid", "true")
    await search.get_by_label("Budget at least").fill("")
    await search.get_by_label("Words in the title or description").fill("bakery")
    await search.get_by_label("Skills").fill("branding")
    await search.get_by_role("button", name="Search").click()
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("Logo for a bakery")
    await expect(listed).to_contain_text("200.00 USD – 450.50 USD · Fixed price")
    await expect(search.locator(".field-error")).to_have_count(0)
    await search.get_by_label("Words in the title or description").fill("plumbing")
    await search.get_by_role("button", name="Search").click()
    await expect(listed).to_have_count(0)
    await expect(fred.locator("#no-jobs")).to_have_text("No open jobs match your search.")
    await search.get_by_role("button", name="Clear filters").click()
    await expect(listed).to_have_count(2)
    await listed.filter(has_text="Logo for a bakery").get_by_role("button").click()
    await expect(fred.locator("#job-title")).to_have_text("Logo for a bakery")
    assert hash_id(fred, "#/jobs/") == job_id

    # Fred bids.
    bid_form = fred.locator("#bid-form")
    await bid_form.get_by_label("Amount").fill("380")
    await bid_form.get_by_label("Delivery in days").fill("7")
    await bid_form.get_by_label("Proposal").fill(PROPOSAL)
    await bid_form.get_by_role("button", name="Place bid").click()
    fred_bid = fred.locator("#bids li.bid")
    await expect(fred_bid).to_contain_text("You · 380.00 USD in 7 days · Pending")

    # Cara shortlists the bid, then awards it the job.
    cara_bid = cara.locator("#bids li.bid")
    await expect(cara_bid).to_contain_text("Fred · 380.00 USD in 7 days · Pending")
    await cara_bid.get_by_role("button", name="Shortlist").click()
    await expect(cara_bid.locator(".bid-status")).to_have_text("Shortlisted")
    await expect(cara_bid.get_by_role("button", name="Shortlist")).to_be_hidden()
    await cara_bid.get_by_role("button", name="Award the job").click()
    await expect(cara_bid.locator(".bid-status")).to_have_text("Awarded")
    await expect(meta).to_contain_text("Awarded ·")
    await expect(cara_bid.get_by_role("button", name="Start the conversation")).to_be_visible()

    # Fred's page shows the award at once; he accepts.
    await expect(fred_bid.locator(".bid-status")).to_have_text("Awarded")
    await fred_bid.get_by_role("button", name="Accept the job").click()
    await expect(fred_bid.locator(".bid-status")).to_have_text("Accepted")
    await expect(fred.locator("#job-meta")).to_contain_text("In progress ·")
    await expect(meta).to_contain_text("In progress · Fixed price")
    await expect(meta).to_contain_text("freelancer: Fred")

    # The job stays in Fred's list, in progress, with his bid accepted.
    await fred.get_by_role("link", name="Jobs", exact=True).click()
    work = fred.locator("#my-work li.job")
    await expect(work).to_have_count(1)
    await expect(work).to_contain_text("Logo for a bakery")
    await expect(work).to_contain_text("In progress · your bid 380.00 USD: Accepted")
    await expect(fred.locator("#jobs li.job")).to_have_count(1)  # no longer open
    await fred.screenshot(path=str(artifact("web-market-fred-jobs.png")), full_page=True)
    await assert_accessible(fred, "freelancer's job list (phone)")
    await work.get_by_role("button").click()
    await expect(fred.locator("#job-title")).to_have_text("Logo for a bakery")

    # Cara funds a milestone: her wallet is empty, and the page says so.
    fund = cara.locator("#milestone-form")
    await fund.get_by_label("What it pays for").fill("Logo sketches")
    await fund.get_by_label("Amount").fill("300")
    await fund.get_by_role("button", name="Fund milestone").click()
    await expect(cara.locator("#milestone-funds")).to_contain_text(
        "Not enough money in your wallet to fund 300.00 USD"
    )
    await expect(cara.locator("#milestone-funds").get_by_role("link")).to_have_attribute(
        "href", "#/wallet"
    )
    await expect(cara.locator("#milestones li.milestone")).to_have_count(0)
    await credit(app, cara_id, 50_000)
    await fund.get_by_role("button", name="Fund milestone").click()
    milestone = cara.locator("#milestones li.milestone")
    await expect(milestone).to_have_count(1)
    await expect(milestone.locator(".ms-status")).to_have_text("Funded")
    await expect(milestone).to_contain_text("Logo sketches · 300.00 USD")
    await expect(cara.locator("#milestone-funds")).to_be_hidden()

    # Fred sees it at once and asks for its release.
    fred_ms = fred.locator("#milestones li.milestone")
    await expect(fred_ms.locator(".ms-status")).to_have_text("Funded")
    await fred_ms.get_by_role("button", name="Request release").click()
    await expect(fred_ms.locator(".ms-status")).to_have_text("Release requested")

    # Cara releases 100.00, then the rest.
    await expect(milestone.locator(".ms-status")).to_have_text("Release requested")
    amount = milestone.get_by_label("Amount to release")
    await expect(amount).to_have_value("300.00")
    await amount.fill("100")
    await milestone.get_by_role("button", name="Release").click()
    await expect(milestone.locator(".ms-money")).to_contain_text("held 200.00 USD")
    await expect(milestone.locator(".ms-money")).to_contain_text("released 100.00 USD")
    await expect(milestone.locator(".ms-status")).to_have_text("Release requested")
    await expect(amount).to_have_value("200.00")
    await cara.screenshot(path=str(artifact("web-market-cara-milestone.png")), full_page=True)
    await assert_accessible(cara, "milestone partly released (desktop)")
    await milestone.get_by_role("button", name="Release").click()
    await expect(milestone.locator(".ms-status")).to_have_text("Released")
    await expect(milestone.locator(".ms-money")).to_contain_text("held 0.00 USD")
    await expect(milestone.locator(".ms-money")).to_contain_text("released 300.00 USD")
    await expect(fred_ms.locator(".ms-status")).to_have_text("Released")

    # Cara completes the job, and both review each other.
    await cara.get_by_role("button", name="Mark job completed").click()
    await expect(meta).to_contain_text("Completed ·")
    review = cara.locator("#review-form")
    await expect(review.get_by_role("heading")).to_have_text("Review Fred")
    await review.get_by_label("4 stars").check()
    await review.get_by_label("Comment").fill("Good sketches, a day late.")
    await review.get_by_role("button", name="Post review").click()
    await expect(review).to_be_hidden()
    of_fred = cara.locator(f'.review-summary[data-user="{fred_id}"]')
    await expect(of_fred.locator(".review-average")).to_have_text("4.0 out of 5 from 1 review")
    await expect(of_fred.locator(".review")).to_contain_text("4 stars · by You for this job")
    await expect(of_fred.locator(".review-comment")).to_have_text("Good sketches, a day late.")

    await expect(fred.locator("#job-meta")).to_contain_text("Completed ·")
    fred_review = fred.locator("#review-form")
    await expect(fred_review.get_by_role("heading")).to_have_text("Review Cara")
    await fred_review.get_by_label("5 stars").check()
    await fred_review.get_by_label("Comment").fill("Clear brief, paid at once.")
    await fred_review.get_by_role("button", name="Post review").click()
    await expect(fred_review).to_be_hidden()
    of_cara = fred.locator(f'.review-summary[data-user="{cara_id}"]')
    await expect(of_cara.locator(".review-average")).to_have_text("5.0 out of 5 from 1 review")
    await expect(
        fred.locator(f'.review-summary[data-user="{fred_id}"] .review-average')
    ).to_have_text("4.0 out of 5 from 1 review")
    # Cara's page shows Fred's review of her without a reload (review.created).
    await expect(
        cara.locator(f'.review-summary[data-user="{cara_id}"] .review-average')
    ).to_have_text("5.0 out of 5 from 1 review")
    await cara.screenshot(path=str(artifact("web-market-cara-completed.png")), full_page=True)
    await fred.screenshot(path=str(artifact("web-market-fred-completed.png")), full_page=True)

    for page, screen in ((cara, "completed job (desktop)"), (fred, "completed job (phone)")):
        await assert_accessible(page, screen)
    await assert_fits_width(fred, "completed job (phone)")
    await fred.set_viewport_size(NARROW_PHONE)
    await assert_fits_width(fred, "completed job (375 px)")
    for page in (cara, fred):
        await expect(page.locator("#error")).to_be_hidden()
    assert cara.errors == [] and fred.errors == []


async def test_dispute_from_the_job_page(
    server: TestServer, app: Any, users: Users, chromium: Any
) -> None:
    """Set-up over REST (not what the test claims): Fred works on Cara's job, which
    has a funded milestone. Fred opens a dispute from the page with a reason; both
    pages show the milestone Disputed and his reason as his dispute note; Cara adds
    her side and Fred changes his, each shown on the other's page at once. The
    note is not written into the job's conversation."""
    from playwright.async_api import expect

    (client,) = await users("cara")
    (freelancer,) = await users("fred", role="freelancer")
    await client.deposit(50_000)
    job = await post_job(client, title="Menu design", budget_min=10_000, budget_max=40_000)
    await hire(client, freelancer, await post_bid(freelancer, job, 20_000))
    await client.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 15_000, "description": "First draft"},
        status=201,
        headers={"Idempotency-Key": "menu-first-draft"},
    )
    await client.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 5_000, "description": "Extra icons"},
        status=201,
        headers={"Idempotency-Key": "menu-extra-icons"},
    )

    base = str(server.make_url("/"))
    cara = await (await chromium.new_context(viewport=DESKTOP)).new_page()
    fred = await (await chromium.new_context(viewport=PHONE)).new_page()
    await log_in(cara, base, "cara@example.com", PASSWORD)
    await log_in(fred, base, "fred@example.com", PASSWORD)
    await cara.get_by_role("link", name="Jobs", exact=True).click()
    await (
        cara.locator("#my-jobs li.job").filter(has_text="Menu design").get_by_role("button").click()
    )
    await fred.get_by_role("link", name="Jobs", exact=True).click()
    await (
        fred.locator("#my-work li.job").filter(has_text="Menu design").get_by_role("button").click()
    )
    cara_ms = cara.locator("#milestones li.milestone").filter(has_text="First draft")
    fred_ms = fred.locator("#milestones li.milestone").filter(has_text="First draft")
    await expect(cara_ms.locator(".ms-status")).to_have_text("Funded")
    await expect(fred_ms.locator(".ms-status")).to_have_text("Funded")

    # Cara takes back the money of the other one (funded, no release asked for).
    icons = cara.locator("#milestones li.milestone").filter(has_text="Extra icons")
    await expect(fred.locator("#milestones li.milestone")).to_have_count(2)
    await icons.get_by_role("button", name="Cancel milestone").click()
    await expect(icons.locator(".ms-status")).to_have_text("Cancelled")
    await expect(icons.locator(".ms-money")).to_contain_text("returned 50.00 USD")
    await expect(
        fred.locator("#milestones li.milestone")
        .filter(has_text="Extra icons")
        .locator(".ms-status")
    ).to_have_text("Cancelled")

    # Fred opens the dispute form; "Keep it as it is" closes it, nothing happens.
    await fred_ms.get_by_role("button", name="Open a dispute").click()
    reason = fred_ms.get_by_label("What went wrong?")
    await expect(reason).to_be_focused()
    await expect(reason).to_have_attribute("maxlength", "2000")  # DisputeMilestone.note
    await fred_ms.get_by_role("button", name="Keep it as it is").click()
    await expect(reason).to_be_hidden()
    await expect(fred_ms.get_by_role("button", name="Open a dispute")).to_be_focused()
    await fred_ms.get_by_role("button", name="Open a dispute").click()
    await assert_accessible(fred, "dispute form (phone)")
    await reason.fill("The brief changed twice after the draft was delivered.")
    await fred_ms.get_by_role("button", name="Open dispute").click()

    await expect(fred_ms.locator(".ms-status")).to_have_text("Disputed")
    await expect(cara_ms.locator(".ms-status")).to_have_text("Disputed")  # live, no reload
    for page in (cara, fred):
        ms = page.locator("#milestones li.milestone").filter(has_text="First draft")
        await expect(ms.get_by_role("button", name="Open a dispute")).to_be_hidden()
        await expect(ms.get_by_role("button", name="Request release")).to_be_hidden()
        await expect(ms.locator(".ms-hint")).to_contain_text("a moderator")
    await expect(cara.get_by_role("button", name="Mark job completed")).to_be_visible()

    # Fred's reason is his dispute note, shown to both; Cara has not written hers.
    fred_notes = fred_ms.get_by_role("list", name="Dispute notes").locator("li")
    cara_notes = cara_ms.get_by_role("list", name="Dispute notes").locator("li")
    await expect(fred_notes.first).to_contain_text("You (freelancer)")  # his own side first
    await expect(fred_notes.first.locator(".ms-note-text")).to_have_text(
        "The brief changed twice after the draft was delivered."
    )
    await expect(fred_ms.get_by_role("button", name="Change your note")).to_be_focused()
    freds_in_caras = cara_notes.filter(has_text="fred (freelancer)").locator(".ms-note-text")
    await expect(freds_in_caras).to_have_text(
        "The brief changed twice after the draft was delivered."
    )
    caras_own = cara_notes.filter(has_text="You (client)").locator(".ms-note-text")
    await expect(caras_own).to_have_text("You have not written your side yet.")

    # Cara adds her side; Fred's page shows it at once (the notification reloads it).
    await cara_ms.get_by_role("button", name="Add your side").click()
    side = cara_ms.get_by_label("Your side of the dispute")
    await expect(side).to_be_focused()
    await expect(side).to_have_attribute("maxlength", "2000")  # WriteDisputeNote.note
    await side.fill("The draft missed two of the three agreed pages.")
    await side.press("Tab")
    await expect(cara_ms.get_by_role("button", name="Save note")).to_be_focused()
    await cara.keyboard.press("Enter")
    await expect(caras_own).to_have_text("The draft missed two of the three agreed pages.")
    await expect(cara_ms.get_by_role("button", name="Change your note")).to_be_focused()
    await expect(fred_notes.filter(has_text="cara (client)").locator(".ms-note-text")).to_have_text(
        "The draft missed two of the three agreed pages."
    )

    # Fred changes his: the form starts with it, the latest wins on both pages.
    await fred_ms.get_by_role("button", name="Change your note").click()
    mine = fred_ms.get_by_label("Your side of the dispute")
    await expect(mine).to_have_value("The brief changed twice after the draft was delivered.")
    await mine.fill("The brief changed twice; the third page was never in it.")
    await fred_ms.get_by_role("button", name="Save note").click()
    await expect(fred_notes.first.locator(".ms-note-text")).to_have_text(
        "The brief changed twice; the third page was never in it."
    )
    await expect(freds_in_caras).to_have_text(
        "The brief changed twice; the third page was never in it."
    )
    await assert_fits_width(fred, "dispute notes (phone)")
    await fred.screenshot(path=str(artifact("web-market-fred-disputed.png")), full_page=True)
    await assert_accessible(fred, "disputed milestone with notes (phone)")

    # The note is not written into the bid's conversation any more: it shows the
    # hub's card of the dispute, and no message of Fred's.
    conversation = cara.locator("#bids li.bid .bid-conv")
    await expect(conversation).to_contain_text("Milestone disputed")
    await expect(conversation).not_to_contain_text("The brief changed twice")
    for page in (cara, fred):
        await expect(page.locator("#error")).to_be_hidden()
    assert cara.errors == [] and fred.errors == []


async def test_edit_withdraw_decline_reject_and_cancel(server: TestServer, chromium: Any) -> None:
    """The other steps of a job and its bids, through the page: the owner edits the
    job; the freelancer edits and withdraws a bid, bids again and declines the
    award; the owner rejects the third bid and cancels the job (after a confirm),
    which stays in the freelancer's list as cancelled, his bid not chosen."""
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    cara = await (await chromium.new_context(viewport=DESKTOP)).new_page()
    fred = await (await chromium.new_context(viewport=PHONE)).new_page()
    await sign_up(cara, base, "Cara", role="client")
    await sign_up(fred, base, "Fred", role="freelancer")

    await cara.get_by_role("link", name="Jobs", exact=True).click()
    form = cara.locator("#job-form")
    await form.get_by_label("Title").fill("Poster for a concert")
    await form.get_by_label("Description").fill("A2, two colours.")
    await form.get_by_label("Budget from").fill("100")
    await form.get_by_label("to", exact=True).fill("300")
    await form.get_by_label("Title").press("Enter")  # Enter in a field posts (publishes) it
    meta = cara.locator("#job-meta")
    await expect(meta).to_have_text("Open · Fixed price · 100.00 USD – 300.00 USD · posted by You")

    # Cara edits the job.
    await cara.get_by_role("button", name="Edit job").click()
    edit = cara.locator("#job-edit-form")
    await expect(edit.get_by_label("Title")).to_be_focused()
    await expect(edit.get_by_label("Title")).to_have_value("Poster for a concert")
    await expect(edit.get_by_label("Currency")).to_be_disabled()  # published: the currency stays
    await edit.get_by_label("Title").fill("Poster for a jazz concert")
    await edit.get_by_label("to", exact=True).fill("350")
    await edit.get_by_label("Type").select_option("hourly")
    await edit.get_by_role("button", name="Save changes").click()
    await expect(cara.locator("#job-title")).to_have_text("Poster for a jazz concert")
    await expect(meta).to_have_text("Open · Hourly · 100.00 USD – 350.00 USD · posted by You")
    await expect(edit).to_be_hidden()

    # Fred bids, edits his bid, withdraws it, and bids again.
    await fred.get_by_role("link", name="Jobs", exact=True).click()
    await fred.locator("#jobs li.job").get_by_role("button").click()
    await expect(fred.locator("#job-title")).to_have_text("Poster for a jazz concert")

    async def bid(amount: str) -> None:
        bid_form = fred.locator("#bid-form")
        await bid_form.get_by_label("Amount").fill(amount)
        await bid_form.get_by_label("Delivery in days").fill("5")
        await bid_form.get_by_label("Proposal").fill("Jazz posters are my thing.")
        await bid_form.get_by_role("button", name="Place bid").click()
        await expect(bid_form).to_be_hidden()

    await bid("250")
    mine = fred.locator('#bids li.bid[data-status="pending"]')
    await mine.get_by_role("button", name="Edit bid").click()
    await expect(mine.get_by_label("Amount")).to_be_focused()
    await expect(mine.get_by_label("Amount")).to_have_value("250.00")
    await mine.get_by_label("Amount").fill("220")
    await mine.get_by_role("button", name="Save bid").click()
    await expect(mine).to_contain_text("You · 220.00 USD in 5 days · Pending")
    await expect(mine.get_by_role("button", name="Save bid")).to_be_hidden()
    await mine.get_by_role("button", name="Withdraw bid").click()
    await expect(fred.locator('#bids li.bid[data-status="withdrawn"]')).to_contain_text(
        "220.00 USD in 5 days · Withdrawn"
    )
    await bid("240")

    # Cara awards the new bid; Fred declines, and the job is open again.
    pending = cara.locator('#bids li.bid[data-status="pending"]')
    await expect(pending).to_contain_text("Fred · 240.00 USD in 5 days · Pending")
    await expect(cara.locator("#bids li.bid")).to_have_count(2)  # the withdrawn one too
    await pending.get_by_role("button", name="Award the job").click()
    await expect(meta).to_contain_text("Awarded ·")
    awarded = fred.locator('#bids li.bid[data-status="awarded"]')
    await awarded.get_by_role("button", name="Decline").click()
    await expect(fred.locator('#bids li.bid[data-status="declined"]')).to_contain_text("Declined")
    await expect(fred.locator("#job-meta")).to_contain_text("Open ·")
    await expect(meta).to_contain_text("Open ·")

    # Fred bids a third time; Cara rejects it and cancels the job.
    await bid("230")
    pending = cara.locator('#bids li.bid[data-status="pending"]')
    await pending.get_by_role("button", name="Reject").click()
    await expect(cara.locator('#bids li.bid[data-status="rejected"]')).to_contain_text(
        "230.00 USD in 5 days · Not chosen"
    )
    await cara.get_by_role("button", name="Cancel job").click()
    confirm = cara.locator("#job-cancel-confirm")
    await expect(confirm).to_be_visible()
    await expect(confirm.get_by_role("button", name="Keep the job")).to_be_focused()
    await confirm.get_by_role("button", name="Keep the job").click()
    await expect(confirm).to_be_hidden()
    await expect(meta).to_contain_text("Open ·")
    await cara.get_by_role("button", name="Cancel job").click()
    await confirm.get_by_role("button", name="Yes, cancel the job").click()
    await expect(meta).to_contain_text("Cancelled ·")
    await expect(cara.locator("#job-actions")).to_be_hidden()

    await fred.get_by_role("link", name="Jobs", exact=True).click()
    work = fred.locator("#my-work li.job")
    await expect(work).to_have_count(1)
    await expect(work).to_contain_text("Cancelled · your bid 230.00 USD: Not chosen")
    await expect(fred.locator("#jobs li.job")).to_have_count(0)
    await cara.get_by_role("link", name="Jobs", exact=True).click()
    await expect(cara.locator("#my-jobs li.job")).to_contain_text("Cancelled")
    for page in (cara, fred):
        await expect(page.locator("#error")).to_be_hidden()
    assert cara.errors == [] and fred.errors == []
