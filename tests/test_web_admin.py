"""The web client's admin screens in headless Chromium: a report filed with the
Report button in chat reaches the queue, the admin reads its context, bans the
user, finds it in the audit log and lifts the ban; a lobby the admin creates is
in a normal user's Networking list; a dispute is split; a user is found,
suspended and given another role. A non-admin gets no admin page nor data.

Test set-up that is not what a test claims (the admin account, as ``hub
create-admin`` makes it; the other side's messages; a hired job with a disputed
milestone) goes through the app's services and REST."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestServer

from browser import artifact, assert_accessible, assert_fits_width, log_in, sign_up
from hub.context import HUB
from market_client import MARKET, hire, post_bid, post_job
from users import PASSWORD, Users

pytestmark = MARKET

ADMIN_EMAIL = "judge@example.com"
WRITTEN = "email me at mal.dealer@gmail.com and skip the fees"
NARROW = {"width": 375, "height": 800}


async def admin_page(chromium: Any, base: str, users: Users) -> Any:
    """The admin account (made as the CLI makes it), logged in through the page."""
    await users.app[HUB].accounts.create_admin(ADMIN_EMAIL, PASSWORD)
    page = await (await chromium.new_context(viewport=NARROW)).new_page()
    await log_in(page, base, ADMIN_EMAIL, PASSWORD)
    return page


async def login_status(users: Users, name: str) -> int:
    response = await users.api.http.post(
        "/api/v1/auth/login", json={"email": f"{name}@example.com", "password": PASSWORD}
    )
    return response.status


async def test_report_ban_audit_unban_and_a_lobby(
    server: TestServer, chromium: Any, users: Users
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    ann = await (await chromium.new_context(viewport=NARROW)).new_page()
    admin_calls: list[str] = []
    ann.on("request", lambda r: admin_calls.append(r.url) if "/api/v1/admin" in r.url else None)
    ann_id = await sign_up(ann, base, "Ann", role="client")
    (mal,) = await users("mal", role="freelancer")
    conversation = await mal.ok(
        "POST", "/conversations", {"participant_ids": [ann_id], "type": "direct"}, status=201
    )
    for text in ("Hi Ann", "I can do it cheaper", WRITTEN, "Waiting for your answer"):
        await mal.send(conversation["id"], text)

    # Ann reports the message from the conversation (the Report button).
    await ann.locator("li.conv").first.click()
    masked = ann.locator("#messages .msg", has_text="skip the fees")
    await expect(masked).to_have_count(1)
    await expect(masked.locator(".text")).not_to_contain_text("mal.dealer@gmail.com")
    await expect(ann.locator("#messages .msg.mine button.report")).to_have_count(0)
    report = masked.get_by_role("button", name="Report this message")
    await report.click()
    dialog = ann.get_by_role("dialog", name="Report this message")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_label("Reason")).to_be_focused()
    await ann.keyboard.press("Escape")  # closes, and the focus goes back to the button
    await expect(dialog).to_be_hidden()
    await expect(report).to_be_focused()
    await ann.keyboard.press("Enter")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Reason").select_option(label="Asks to pay or talk off the platform")
    await dialog.get_by_label("Note for the moderators").fill("Wants to be paid outside")
    await dialog.get_by_role("button", name="Send report").click()
    await expect(dialog).to_be_hidden()
    await expect(ann.locator("#notice-text")).to_have_text(
        "Thanks: the moderators will look at this message."
    )
    await expect(ann.get_by_role("link", name="Admin")).to_be_hidden()

    # The admin finds it in the queue and reads it as written, with its context.
    judge = await admin_page(chromium, base, users)
    await judge.get_by_role("link", name="Admin").click()
    queue = judge.locator("#reports li.report")
    await expect(queue).to_have_count(1)
    await expect(queue).to_contain_text("Asks to pay or talk off the platform")
    await expect(queue).to_contain_text(
        "Ann reported a message by mal · “Wants to be paid outside”"
    )
    await queue.get_by_role("button").click()
    await expect(judge.locator("#report-context .msg")).to_have_count(4)
    reported = judge.locator("#report-context .msg.reported")
    await expect(reported.locator(".text")).to_have_text(WRITTEN)
    await expect(reported).to_contain_text("Participants saw it with contact details hidden")
    await expect(judge.locator("#report-note")).to_have_text("Their note: Wants to be paid outside")
    await assert_fits_width(judge, "report with its context (375 px)")
    await assert_accessible(judge, "report with its context (375 px)")
    await judge.screenshot(path=str(artifact("web-admin-report-phone.png")), full_page=True)

    # Ban through the report.
    form = judge.locator("#resolve-report-form")
    await form.get_by_label("Action").select_option(label="Ban the user")
    await form.get_by_label("Note").fill("Scam attempt")
    await form.get_by_role("button", name="Resolve report").click()
    await expect(judge.locator("#report-result")).to_have_text("Resolved: User banned.")
    await expect(form).to_be_hidden()
    assert await login_status(users, "mal") == 403

    await judge.get_by_role("link", name="Manage mal").click()
    await expect(judge.locator("#admin-user-name")).to_have_text("mal")
    await expect(judge.locator("#admin-user-state")).to_contain_text("Banned since")

    # The Users tab lists who is banned, and finds a banned user by name (the
    # directory would not).
    await judge.get_by_role("link", name="Users").click()
    found = judge.locator("#user-results li.user")
    await expect(found).to_have_count(3)  # everyone: the judge, mal and Ann
    await assert_fits_width(judge, "users by moderation state (375 px)")
    await assert_accessible(judge, "users by moderation state (375 px)")
    await judge.screenshot(path=str(artifact("web-admin-users-phone.png")), full_page=True)
    search = judge.locator("#user-search-form")
    await search.get_by_label("Status").select_option(label="Banned")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text("mal" + "Banned" + "Freelancer · mal@example.com")
    await search.get_by_label("Status").select_option(label="Active")
    await expect(found).to_have_count(2)
    await expect(found.filter(has_text="mal")).to_have_count(0)
    await search.get_by_label("Status").select_option(label="All")
    await search.get_by_label("Find a user").fill("MAL")
    await search.get_by_label("Find a user").press("Enter")
    await expect(found).to_have_count(1)
    await expect(found.locator(".state")).to_have_text("Banned")

    # The audit log lists it, readable; the ban is lifted from there.
    await judge.get_by_role("link", name="Audit log").click()
    audit = judge.locator("#audit li.audit-entry")
    ban = audit.filter(has=judge.locator("a", has_text="mal")).filter(has_text="Banned a user ·")
    await expect(ban).to_have_count(1)
    await expect(ban).to_contain_text("You · Banned a user · mal · “Scam attempt”")
    await expect(audit.filter(has_text="Banned a user over a report")).to_have_count(1)
    await expect(audit.filter(has_text="Read a report's conversation")).to_have_count(1)
    await ban.get_by_role("link", name="mal").click()
    await expect(judge.locator("#admin-user-state")).to_contain_text("Banned since")
    await judge.get_by_role("button", name="Lift the ban or suspension").click()
    await expect(judge.locator("#admin-user-state")).to_have_text(
        "Active: not banned or suspended."
    )
    await expect(judge.get_by_role("button", name="Lift the ban or suspension")).to_be_hidden()
    assert await login_status(users, "mal") == 200
    await judge.get_by_role("link", name="Users").click()  # the search is kept
    await expect(found).to_have_count(1)
    await expect(found.locator(".state")).to_have_text("Active")
    await search.get_by_label("Status").select_option(label="Banned")
    await expect(judge.locator("#no-user-results")).to_be_visible()
    await expect(found).to_have_count(0)
    await judge.get_by_role("link", name="Audit log").click()
    await expect(audit.first).to_contain_text("Lifted a ban or suspension · mal")
    await assert_fits_width(judge, "audit log (375 px)")
    await judge.screenshot(path=str(artifact("web-admin-audit-phone.png")), full_page=True)

    # A lobby the admin creates is in a normal user's Networking list.
    await judge.get_by_role("link", name="Lobbies").click()
    lobby_form = judge.locator("#lobby-form")
    await lobby_form.get_by_label("Title").fill("Friday founders")
    await lobby_form.get_by_label("Topic").fill("startups")
    await lobby_form.get_by_label("Session length").select_option(label="2 minutes")
    await lobby_form.get_by_role("button", name="Create lobby").click()
    await expect(judge.locator("#admin-lobbies-list li")).to_contain_text(
        "Friday founders" + "startups · 2 min sessions · Open"
    )
    await expect(judge.locator("#usage tr", has_text="Friday founders")).to_have_count(1)
    await assert_fits_width(judge, "lobbies and usage (375 px)")
    table, box = await judge.evaluate(  # the usage table fits a phone: no scrolling inside either
        "[document.querySelector('.usage').offsetWidth,"
        " document.querySelector('.table-scroll').clientWidth]"
    )
    assert table <= box, (table, box)
    await assert_accessible(judge, "lobbies and usage (375 px)")
    await judge.screenshot(path=str(artifact("web-admin-lobbies-phone.png")), full_page=True)
    await ann.get_by_role("link", name="Networking").click()
    await expect(ann.locator("#lobbies")).to_contain_text("Friday founders")

    # Ann (no admin) gets no admin page and asks for no admin data.
    await ann.goto(base + "#/admin/reports")
    await expect(ann.locator("#view-forbidden")).to_be_visible()
    await expect(ann.locator("#view-admin")).to_be_hidden()
    await expect(ann.get_by_role("link", name="Admin")).to_be_hidden()
    assert admin_calls == []
    assert ann.errors == [] and judge.errors == []


async def test_dispute_split_and_user_moderation(
    server: TestServer, chromium: Any, users: Users
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    carol, fred = (*await users("carol"), *await users("fred", role="freelancer"))
    await carol.deposit(50_000)
    job = await post_job(carol)
    accepted = await hire(carol, fred, await post_bid(fred, job))
    await carol.send(accepted["conversation_id"], "The docs are missing")
    await fred.send(accepted["conversation_id"], "The docs were not in scope")
    milestone = await carol.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 20_000, "description": "Docs"},
        status=201,
    )
    # Both sides' dispute notes (set-up over REST; the parties' page writes them
    # in test_web_marketplace.py).
    await fred.ok(
        "POST",
        f"/milestones/{milestone['id']}/dispute",
        {"note": "Docs were never in the brief."},
    )
    noted = await carol.ok(
        "PUT",
        f"/milestones/{milestone['id']}/dispute/note",
        {"note": "The brief lists the docs on page 2."},
    )

    judge = await admin_page(chromium, base, users)
    await judge.get_by_role("link", name="Admin").click()
    await judge.get_by_role("link", name="Disputes").click()
    dispute = judge.locator("#disputes li.dispute")
    await expect(dispute).to_have_count(1)
    await expect(dispute.locator("h4")).to_have_text("Docs")
    await expect(dispute).to_contain_text(
        "Disputed · 200.00 USD held · client carol · freelancer fred"
    )
    client_side, freelancer_side = (
        dispute.locator(".notes").nth(0),
        dispute.locator(".notes").nth(1),
    )
    await expect(client_side.locator("h5")).to_have_text("carol, the client")
    await expect(client_side.locator(".note-text")).to_have_text(
        "The brief lists the docs on page 2."
    )
    written = client_side.locator(".note-time time")
    await expect(written).to_have_attribute("datetime", noted["owner_note"]["updated_at"])
    await expect(freelancer_side.locator("h5")).to_have_text("fred, the freelancer")
    await expect(freelancer_side.locator(".note-text")).to_have_text(
        "Docs were never in the brief."
    )
    await expect(freelancer_side.locator(".note-time")).to_contain_text("Note written")
    # What each said in the job's conversation stays beside the note.
    await expect(client_side.locator(".said")).to_contain_text("The docs are missing")
    await expect(freelancer_side.locator(".said")).to_contain_text("The docs were not in scope")

    # More than is held: said next to the field.
    amount = dispute.get_by_label("To fred, the freelancer (USD)")
    await amount.fill("300")
    await dispute.get_by_role("button", name="Resolve dispute").click()
    await expect(dispute.locator(".field-error")).to_have_text("At most the 200.00 USD held.")
    await expect(amount).to_have_attribute("aria-invalid", "true")

    await amount.fill("60")
    await expect(dispute.locator(".split")).to_contain_text("140.00 USD goes back to carol")
    await assert_fits_width(judge, "dispute split (375 px)")
    await assert_accessible(judge, "dispute split (375 px)")
    await judge.screenshot(path=str(artifact("web-admin-dispute-phone.png")), full_page=True)
    # Enter in the amount submits it. (A click on the button, which now sits at the very
    # bottom of the phone page, lands a few pixels off in emulated Chromium: focusing it
    # scrolls the page between mouse down and up, so the click goes to the form.)
    await amount.press("Enter")
    await expect(judge.locator("#dispute-result")).to_have_text(
        "Resolved “Docs”: 60.00 USD to fred, 140.00 USD back to carol."
    )
    await expect(judge.locator("#no-disputes")).to_be_visible()
    assert await fred.balance() == (6_000 - 600, 0)  # less the 10% platform fee
    assert await carol.balance() == (50_000 - 20_000 + 14_000, 0)

    # Find fred, suspend him (a past time is refused next to the field), change his role.
    await judge.get_by_role("link", name="Users").click()
    await judge.get_by_label("Find a user").fill("fred")
    await judge.get_by_role("button", name="Search").click()
    found = judge.locator("#user-results li.user")
    await expect(found).to_have_count(1)
    await expect(found.locator(".state")).to_have_text("Active")
    await found.get_by_role("button").click()
    await expect(judge.locator("#admin-user-name")).to_have_text("fred")
    await expect(judge.locator("#admin-user-state")).to_have_text(
        "Active: not banned or suspended."
    )
    suspend = judge.locator("#suspend-form")
    await suspend.get_by_label("Until").fill("2020-01-01T10:00")
    await suspend.get_by_label("Reason").fill("Cool down")
    await suspend.get_by_role("button", name="Suspend").click()
    await expect(suspend.locator(".field-error")).to_be_visible()
    await expect(suspend.get_by_label("Until")).to_have_attribute("aria-invalid", "true")
    await suspend.get_by_label("Until").fill("2099-01-01T10:00")
    await suspend.get_by_role("button", name="Suspend").click()
    await expect(judge.locator("#admin-user-state")).to_contain_text("Suspended until")
    assert await login_status(users, "fred") == 403
    await judge.get_by_role("link", name="Back to the user search").click()
    await judge.locator("#user-search-form").get_by_label("Status").select_option(label="Suspended")
    await expect(found).to_have_count(1)
    await expect(found.locator(".state")).to_have_text(re.compile(r"^Suspended until .*2099"))
    await found.get_by_role("button").click()
    await expect(judge.locator("#admin-user-name")).to_have_text("fred")
    await judge.locator("#role-form").get_by_label("Role").select_option(label="Client")
    await judge.locator("#role-form").get_by_role("button", name="Change role").click()
    await expect(judge.locator("#admin-user-meta")).to_contain_text("Client · joined")
    history = judge.locator("#admin-user-history li")
    await expect(history.first).to_contain_text("Changed a user's role · fred · to Client")
    await expect(history.filter(has_text="Suspended a user")).to_contain_text("“Cool down”")
    assert judge.errors == []
