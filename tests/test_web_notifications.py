"""The notifications drawer and the notification settings, in headless Chromium.

Cara (a client) uses the page on a phone-sized touch screen; Fred (a freelancer)
is a REST user. The job and the bids are set up through the hub's services and
REST (the job pages are tests/test_web_jobs.py's claim); everything the tests
claim about the drawer and the settings is done through the page: mouse,
keyboard and touch.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestServer

from browser import artifact, sign_up
from hub.context import HUB
from hub.marketplace.models import CreateJob
from users import Users

PHONE_TOUCH = {"viewport": {"width": 375, "height": 740}, "has_touch": True}


async def post_job(app: Any, owner_id: str, title: str) -> str:
    body = CreateJob(
        title=title,
        description="A round logo in two colours.",
        budget_min=20_000,
        budget_max=45_050,
        currency="EUR",
        type="fixed",
        publish=True,
    )
    return (await app[HUB].jobs.create(owner_id, body)).id


def bid(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR", "period_days": 7, "proposal": "Sketches first."}


async def no_horizontal_scroll(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways: {width} px wide"


async def test_the_drawer_by_mouse_keyboard_and_touch(
    server: TestServer, app: Any, users: Users, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    cara = await (await chromium.new_context(**PHONE_TOUCH)).new_page()
    cara_id = await sign_up(cara, base, "Cara", role="client")
    (fred,) = await users("Fred", role="freelancer")
    job_id = await post_job(app, cara_id, "Logo for a bakery")

    toggle = cara.get_by_role("button", name="Alerts")
    drawer = cara.locator("#notifications")
    badge = cara.locator("#notif-badge")
    await expect(badge).to_be_hidden()

    # A bid on Cara's job arrives live: the badge counts it.
    await fred.ok("POST", f"/jobs/{job_id}/bids", bid(38_000), status=201)
    await expect(badge).to_have_text("1 unread")
    await expect(toggle).to_have_attribute("aria-expanded", "false")

    # The mouse opens the drawer; the focus moves into it; the item is words,
    # marked unread for screen readers too.
    await toggle.click()
    await expect(drawer).to_be_visible()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await expect(cara.locator("#notif-title")).to_be_focused()
    text = "New bid from Fred on “Logo for a bakery”: 380.00 EUR"
    item = drawer.get_by_role("button", name=f"Unread: {text}")
    await expect(item).to_be_visible()
    await expect(drawer.locator("li.notif.unread")).to_have_count(1)
    assert "bid.created" not in (await drawer.inner_text())
    await expect(drawer.get_by_role("button", name="Close notifications")).to_be_visible()
    await no_horizontal_scroll(cara)
    await cara.screenshot(path=str(artifact("web-notifications-drawer-phone.png")))

    # Clicking it opens the job page, closes the drawer and marks it read.
    await item.click()
    await expect(cara.locator("#job-title")).to_have_text("Logo for a bakery")
    assert cara.url.endswith(f"#/jobs/{job_id}")
    await expect(drawer).to_be_hidden()
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await expect(badge).to_be_hidden()
    assert (await unread_of(app, cara_id)) == 0

    # The keyboard: Enter opens, the item now reads without the marker,
    # Escape closes and gives the focus back to the button; Space opens too.
    await toggle.focus()
    await cara.keyboard.press("Enter")
    await expect(drawer).to_be_visible()
    await expect(cara.locator("#notif-title")).to_be_focused()
    read_item = drawer.get_by_role("button", name=re.compile("^" + re.escape(text)))
    await expect(read_item).to_be_visible()  # no "Unread:" before the words
    await expect(drawer.locator("li.notif.unread")).to_have_count(0)
    await cara.keyboard.press("Escape")
    await expect(drawer).to_be_hidden()
    await expect(toggle).to_be_focused()
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await cara.keyboard.press(" ")
    await expect(drawer).to_be_visible()
    # Tab reaches the drawer's controls ("Mark all read" is off: nothing is
    # unread); Enter on the close button closes it.
    await expect(drawer.get_by_role("button", name="Mark all read")).to_be_disabled()
    await cara.keyboard.press("Tab")
    await expect(drawer.get_by_role("button", name="Close notifications")).to_be_focused()
    await cara.keyboard.press("Enter")
    await expect(drawer).to_be_hidden()
    await expect(toggle).to_be_focused()

    # The mouse: a click outside the drawer closes it (the strip of page left of it).
    await toggle.click()
    await expect(drawer).to_be_visible()
    await cara.mouse.click(10, 400)
    await expect(drawer).to_be_hidden()

    # Touch: a tap on Alerts opens it, a tap on the close button closes it,
    # a tap outside closes it too.
    await toggle.tap()
    await expect(drawer).to_be_visible()
    await drawer.get_by_role("button", name="Close notifications").tap()
    await expect(drawer).to_be_hidden()
    await toggle.tap()
    await expect(drawer).to_be_visible()
    await cara.touchscreen.tap(10, 400)
    await expect(drawer).to_be_hidden()

    # Two more bids; "Mark all read" clears both.
    other_job = await post_job(app, cara_id, "Menu design")
    third_job = await post_job(app, cara_id, "Shop sign")
    await fred.ok("POST", f"/jobs/{other_job}/bids", bid(12_000), status=201)
    await fred.ok("POST", f"/jobs/{third_job}/bids", bid(9_950), status=201)
    await expect(badge).to_have_text("2 unread")
    await toggle.click()
    await expect(drawer.locator("li.notif.unread")).to_have_count(2)
    await expect(
        drawer.get_by_role("button", name="Unread: New bid from Fred on “Shop sign”: 99.50 EUR")
    ).to_be_visible()
    await drawer.get_by_role("button", name="Mark all read").click()
    await expect(drawer.locator("li.notif.unread")).to_have_count(0)
    await expect(badge).to_be_hidden()
    assert (await unread_of(app, cara_id)) == 0
    assert cara.errors == []


async def unread_of(app: Any, user_id: str) -> int:
    count: int = (await app[HUB].notifications.unread_count(user_id))["count"]
    return count


async def test_every_notification_type_reads_as_words(
    server: TestServer, users: Users, chromium: Any
) -> None:
    """The drawer's sentences for each type the hub sends (docs/marketplace.md),
    from the data each one carries; names come from the users' profiles."""
    base = str(server.make_url("/"))
    page = await (await chromium.new_context()).new_page()
    cara_id = await sign_up(page, base, "Cara", role="freelancer")
    (dana,) = await users("Dana")
    job = {"id": "j1", "owner_id": dana.id, "title": "Logo for a bakery"}
    milestone = {
        "owner_id": dana.id,
        "freelancer_id": cara_id,
        "amount": 12_000,
        "held": 12_000,
        "currency": "EUR",
        "description": "Sketches",
    }
    cases = [
        (
            "job.completed",
            {"job_id": "j1", "job": job},
            "Dana marked the job “Logo for a bakery” completed",
        ),
        (
            "milestone.created",
            {"job_id": "j1", "milestone": milestone},
            "Milestone funded: 120.00 EUR for “Sketches”",
        ),
        (
            "milestone.released",
            {"job_id": "j1", "milestone": milestone, "amount": 5_000},
            "Payment released: 50.00 EUR for “Sketches”",
        ),
        (
            "milestone.resolved",
            {"job_id": "j1", "milestone": milestone, "freelancer_amount": 7_000},
            "Dispute resolved for “Sketches”: 70.00 EUR to you",
        ),
        (
            "deposit.succeeded",
            {"deposit": {"amount": 10_000, "currency": "USD"}},
            "Deposit received: 100.00 USD",
        ),
        (
            "payout.failed",
            {"payout": {"amount": 2_500, "currency": "JPY"}},
            "Payout failed: 2500 JPY is back in your wallet",
        ),
        (
            "review.created",
            {"job_id": "j1", "review": {"author_id": dana.id, "rating": 5}},
            "Dana reviewed you: 5 of 5 stars",
        ),
        (
            "mention",
            {"conversation_id": "c1", "message": {"sender_id": dana.id, "text": "@Cara look"}},
            "Dana mentioned you: “@Cara look”",
        ),
        (
            "moderation.warning",
            {"report_id": "r1", "note": "Keep it civil"},
            "A moderator warned you: Keep it civil",
        ),
        ("something.new", {}, "Notification"),
    ]
    await page.evaluate(
        "(id) => import('/static/users.js').then((u) => u.loadProfiles([id]))", dana.id
    )
    script = """([cases]) => import('/static/notifications.js').then((m) => cases.map(
        ([type, data]) => [m.notificationText({type, data}), m.notificationTarget({type, data})]),
    )"""
    got = await page.evaluate(script, [[[t, d] for t, d, _ in cases]])
    assert [text for text, _ in got] == [want for _, _, want in cases]
    targets = [target for _, target in got]
    assert targets[:4] == ["#/jobs/j1"] * 4
    assert targets[4:6] == ["#/wallet", "#/wallet"]
    assert targets[7] == "#/c/c1" and targets[8] is None
    assert page.errors == []


async def test_notification_settings_are_saved_and_errors_show_next_to_the_field(
    server: TestServer, app: Any, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await (await chromium.new_context(**PHONE_TOUCH)).new_page()
    user_id = await sign_up(page, base, "Cara")
    await page.get_by_role("link", name="Account").click()
    form = page.locator("#notif-settings-form")
    push = form.get_by_label("Browser notifications while I am away")
    email = form.get_by_label("An email about unread messages while I am away")
    delay = form.get_by_label("Send that email after")
    quiet = form.get_by_label("Nothing is pushed in these hours")
    start, end = form.get_by_label("From", exact=True), form.get_by_label("Until", exact=True)
    zone = form.get_by_label("Time zone")
    save = form.get_by_role("button", name="Save notification settings")

    # The defaults: everything on, the digest after 15 minutes, no quiet hours.
    await expect(push).to_be_checked()
    await expect(email).to_be_checked()
    await expect(delay).to_have_value("900")
    await expect(quiet).not_to_be_checked()
    await expect(start).to_be_disabled()
    await expect(zone).to_have_attribute("maxlength", "64")

    # A time zone the hub does not know: its 422 shows next to the field.
    await quiet.check()
    await start.fill("22:30")
    await end.fill("07:00")
    await zone.fill("Mars/Olympus_Mons")
    await save.click()
    await expect(zone).to_have_attribute("aria-invalid", "true")
    note = form.locator("#notif-settings-form-tz-error")
    await expect(note).to_be_visible()
    await expect(zone).to_have_attribute("aria-describedby", "notif-settings-form-tz-error")
    await expect(page.locator("#error")).to_be_hidden()
    assert (await app[HUB].preferences.get(user_id)).quiet_hours is None
    await no_horizontal_scroll(page)

    # Put right and saved, with push off and a later digest.
    await zone.fill("Europe/Paris")
    await delay.select_option(label="1 hour")
    await push.uncheck()
    await save.click()
    await expect(page.locator("#notif-settings-result")).to_have_text(
        "Notification settings saved."
    )
    await expect(note).to_have_count(0)
    saved = await app[HUB].preferences.get(user_id)
    assert (saved.push, saved.email, saved.email_digest_delay_s) == (False, True, 3600)
    assert saved.quiet_hours == {"start": "22:30", "end": "07:00", "tz": "Europe/Paris"}

    # The page shows what the hub has; quiet hours off clears them.
    await page.reload()
    await expect(zone).to_have_value("Europe/Paris")
    await expect(start).to_have_value("22:30")
    await expect(push).not_to_be_checked()
    await expect(delay).to_have_value("3600")
    await quiet.uncheck()
    await expect(zone).to_be_disabled()
    await save.click()
    await expect(page.locator("#notif-settings-result")).to_have_text(
        "Notification settings saved."
    )
    assert (await app[HUB].preferences.get(user_id)).quiet_hours is None
    assert page.errors == []
