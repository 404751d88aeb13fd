"""The web client's account screens (issue 19) in headless Chromium: sessions
(sign one out, sign out everywhere), the password change, two-factor set-up and
the code step at log-in, a forgotten password, and the pages of the mailed links
(reset the password, verify the email) through a real SMTP server."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from aiohttp.test_utils import TestServer

from browser import PHONE, alice_chats_with_bob, artifact, sign_up
from handlers.auth import ROUTES
from smtp_server import Inbox, parts
from smtp_server import inbox as inbox  # the fixture
from smtp_server import mailing_settings as mailing_settings  # the fixture: settings
from waits import eventually

PASSWORD = "correct horse"  # browser.sign_up's
SERVED = {route.path for route in ROUTES}


def needs_route(path: str) -> pytest.MarkDecorator:
    """The server side of forgot/reset/verify lands separately: run once it is there."""
    return pytest.mark.skipif(path not in SERVED, reason=f"the hub has no {path} route yet")


async def new_page(browser: Any) -> Any:
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


async def log_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    """Fills the log-in form (the page stays on the code step if two-factor is on)."""
    if not page.url.startswith(base):
        await page.goto(base)
    form = page.locator("#login-form")
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("Password").fill(password)
    await form.get_by_role("button", name="Log in").click()


async def signed_in(page: Any) -> None:
    await page.locator("#status.online").wait_for()


async def signed_out(page: Any) -> None:
    from playwright.async_api import expect

    await expect(page.locator("#view-auth")).to_be_visible()
    await expect(page.locator("#nav")).to_be_hidden()
    await expect(page.locator("#status")).to_have_text("signed out")


async def open_account(page: Any) -> None:
    from playwright.async_api import expect

    await page.get_by_role("link", name="Account").click()
    await expect(page.locator("#view-account")).to_be_visible()


async def enter_code(page: Any, code: str) -> None:
    from playwright.async_api import expect

    form = page.locator("#mfa-form")
    await expect(form).to_be_visible()
    await form.get_by_label("Code").fill(code)
    await form.get_by_role("button", name="Verify").click()


async def mails_with(inbox: Inbox, marker: str, count: int = 1) -> list[str]:
    """The plain-text bodies of the mails holding ``marker``, once there are ``count``."""

    def texts() -> list[str]:
        return [body for body in (parts(mail)[0] for mail in inbox.mails) if marker in body]

    return await eventually(texts, lambda found: len(found) >= count, timeout=10)


def link_token(text: str, route: str) -> str:
    match = re.search(rf"#/{route}\?token=([A-Za-z0-9_.~%-]+)", text)
    assert match, text
    return match.group(1)


async def test_sessions_list_and_signing_out_another_one(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    laptop, phone = await new_page(chromium), await new_page(chromium)
    await sign_up(laptop, base, "Alice")
    await log_in(phone, base, "alice@example.com")
    await signed_in(phone)

    await open_account(laptop)
    sessions = laptop.locator("#sessions li.session")
    await expect(sessions).to_have_count(2)
    await expect(laptop.locator("#sessions li.session.current")).to_have_count(1)
    await expect(laptop.locator("li.session.current .tag")).to_have_text("This device")
    await expect(sessions.first.locator(".device")).to_have_text(re.compile("Chrome"))
    await laptop.screenshot(path=str(artifact("account-sessions.png")), full_page=True)

    # Signing the phone out: its socket gets auth:revoked, the page is back at log-in.
    await laptop.locator("li.session:not(.current)").get_by_role("button").click()
    await signed_out(phone)
    await expect(phone.locator("#error")).to_contain_text("signed out")
    await expect(sessions).to_have_count(1)
    await expect(laptop.locator("#status")).to_have_class("status online")  # untouched

    # The phone logs in again; "Sign out everywhere" ends both, the laptop's too.
    await log_in(phone, base, "alice@example.com")
    await signed_in(phone)
    await laptop.get_by_role("link", name="Chats").click()
    await open_account(laptop)
    await expect(sessions).to_have_count(2)
    await laptop.get_by_role("button", name="Sign out everywhere").click()
    await signed_out(laptop)
    await expect(laptop.locator("#notice")).to_contain_text("Signed out on every device")
    await expect(laptop.locator("#error")).to_be_hidden()  # its own auth:revoked is expected
    await signed_out(phone)
    assert laptop.errors == [] and phone.errors == []


async def test_password_change(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    laptop, phone = await new_page(chromium), await new_page(chromium)
    await sign_up(laptop, base, "Alice")
    await log_in(phone, base, "alice@example.com")
    await signed_in(phone)
    await open_account(laptop)
    form = laptop.locator("#password-form")

    # A wrong current password: the error shows next to that field.
    await form.get_by_label("Current password").fill("not my password")
    await form.get_by_label("New password").fill("battery staple")
    await form.get_by_role("button", name="Change password").click()
    current = form.locator('input[name="current_password"]')
    await expect(current).to_have_attribute("aria-invalid", "true")
    await expect(form.locator(".field-error")).to_have_count(1)
    await expect(form.locator("#password-form-current_password-error")).not_to_be_empty()
    await laptop.screenshot(path=str(artifact("account-password-error.png")), full_page=True)

    # The right one: changed, the error gone, the phone's session signed out.
    await form.get_by_label("Current password").fill(PASSWORD)
    await form.get_by_label("New password").fill("battery staple")
    await form.get_by_role("button", name="Change password").click()
    await expect(laptop.locator("#password-result")).to_have_text(
        "Password changed. Your other sessions were signed out."
    )
    await expect(form.locator(".field-error")).to_have_count(0)
    await expect(current).not_to_have_attribute("aria-invalid", "true")
    await signed_out(phone)
    await expect(laptop.locator("#sessions li.session")).to_have_count(1)
    await expect(laptop.locator("#status")).to_have_class("status online")

    # The old password no longer works, the new one does.
    await log_in(phone, base, "alice@example.com")
    await expect(phone.locator("#error")).to_contain_text("unauthorized")
    await phone.locator("#error-close").click()
    await log_in(phone, base, "alice@example.com", "battery staple")
    await signed_in(phone)
    assert laptop.errors == [] and phone.errors == []


async def test_two_factor_set_up_log_in_and_recovery_codes(
    server: TestServer, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await new_page(chromium)
    await sign_up(page, base, "Alice")
    await open_account(page)
    await expect(page.locator("#twofa-state")).to_have_text("Two-factor is off.")

    await page.get_by_role("button", name="Set up two-factor").click()
    qr = page.locator("#twofa-qr")
    await expect(qr).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    # The QR code is drawn (the CSP allows data: images).
    await page.wait_for_function("() => document.querySelector('#twofa-qr').naturalWidth > 0")
    secret = (await page.locator("#twofa-secret").text_content() or "").strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}=*", secret), secret
    await expect(page.locator("#twofa-uri")).to_have_attribute(
        "href", re.compile(rf"^otpauth://totp/.*secret={secret}")
    )
    await page.screenshot(path=str(artifact("account-2fa-setup.png")), full_page=True)
    totp = pyotp.TOTP(secret)

    # A wrong code: shown next to the field; the set-up stays.
    setup = page.locator("#twofa-enable-form")
    wrong = "000000" if totp.now() != "000000" else "111111"
    await setup.get_by_label("Code from the app").fill(wrong)
    await setup.get_by_role("button", name="Turn on two-factor").click()
    await expect(setup.locator(".field-error")).to_have_count(1)

    enabled_at = time.time()
    await setup.get_by_label("Code from the app").fill(totp.at(enabled_at))
    await setup.get_by_role("button", name="Turn on two-factor").click()
    codes = page.locator("#recovery-codes li")
    await expect(codes).to_have_count(10)
    recovery = [(await code.text_content() or "").strip() for code in await codes.all()]
    await expect(page.locator("#twofa-codes")).to_contain_text("shown only now")
    await expect(page.locator("#twofa-state")).to_have_text(
        "Two-factor is on · 10 recovery codes left"
    )
    await expect(setup).to_be_hidden()
    await expect(page.locator("#twofa-secret")).to_be_empty()
    await page.screenshot(path=str(artifact("account-2fa-codes.png")), full_page=True)
    await page.get_by_role("button", name="I have saved them").click()
    await expect(page.locator("#twofa-codes")).to_be_hidden()

    # Log-in now asks for a code after the password. The code that enabled it is
    # used up, so the next step's (the hub takes one step either side).
    await page.get_by_role("button", name="Log out").click()
    await signed_out(page)
    await log_in(page, base, "alice@example.com")
    await expect(page.locator("#login-form")).to_be_hidden()
    await page.screenshot(path=str(artifact("login-2fa-code.png")), full_page=True)
    await enter_code(page, totp.at(enabled_at + 30))
    await signed_in(page)

    # A recovery code works once.
    for attempt in range(2):
        await page.get_by_role("button", name="Log out").click()
        await signed_out(page)
        await log_in(page, base, "alice@example.com")
        await enter_code(page, recovery[0])
        if attempt == 0:
            await signed_in(page)
    await expect(page.locator("#error")).to_contain_text("unauthorized")
    await expect(page.locator("#mfa-form")).to_be_visible()
    await expect(page.locator("#mfa-code")).to_be_empty()
    await page.locator("#error-close").click()
    await enter_code(page, recovery[1].upper())  # case does not matter
    await signed_in(page)

    # Turning it off takes a code; then a password is enough again.
    await open_account(page)
    await expect(page.locator("#twofa-state")).to_have_text(
        "Two-factor is on · 8 recovery codes left"
    )
    off = page.locator("#twofa-disable-form")
    await off.get_by_label("Code from the app, or a recovery code").fill(recovery[2])
    await off.get_by_role("button", name="Turn off two-factor").click()
    await expect(page.locator("#twofa-state")).to_have_text("Two-factor is off.")
    await expect(off).to_be_hidden()
    await page.get_by_role("button", name="Log out").click()
    await log_in(page, base, "alice@example.com")
    await signed_in(page)
    assert page.errors == []


@needs_route("/auth/password/forgot")
async def test_forgot_password_answers_the_same_for_anyone(
    server: TestServer, chromium: Any, inbox: Inbox
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await new_page(chromium)
    await page.goto(base)
    for email in ("nobody@example.com", "alice@example.com"):
        await page.get_by_role("button", name="Forgot password?").click()
        form = page.locator("#forgot-form")
        await form.get_by_label("Email").fill(email)
        await form.get_by_role("button", name="Send the link").click()
        await expect(page.locator("#forgot-result")).to_have_text(
            "If an account exists for that email, a mail is on its way."
        )
        await expect(page.locator("#error")).to_be_hidden()
        await form.get_by_role("button", name="Back to log in").click()
        await expect(page.locator("#login-form")).to_be_visible()
    assert page.errors == []


@needs_route("/auth/password/reset")
async def test_reset_from_the_mailed_link(server: TestServer, chromium: Any, inbox: Inbox) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    other_device = await new_page(chromium)
    await sign_up(other_device, base, "Alice")
    page = await new_page(chromium)
    await page.goto(base)
    await page.get_by_role("button", name="Forgot password?").click()
    form = page.locator("#forgot-form")
    await form.get_by_label("Email").fill("alice@example.com")
    await form.get_by_role("button", name="Send the link").click()
    await expect(page.locator("#forgot-result")).to_contain_text("a mail is on its way")

    [mail] = await mails_with(inbox, "#/reset?token=")
    token = link_token(mail, "reset")
    await page.goto(f"{base}#/reset?token={token}")
    reset = page.locator("#reset-form")
    await reset.get_by_label("New password").fill("battery staple")
    await page.screenshot(path=str(artifact("reset-password.png")), full_page=True)
    await reset.get_by_role("button", name="Set new password").click()
    await expect(page.locator("#notice")).to_contain_text("Password changed")
    await expect(page.locator("#view-auth")).to_be_visible()
    await signed_out(other_device)  # a reset ends every session

    # The link works once.
    await page.goto(f"{base}#/reset?token={token}")
    await reset.get_by_label("New password").fill("another one!")
    await reset.get_by_role("button", name="Set new password").click()
    await expect(page.locator("#error")).to_be_visible()
    await page.locator("#error-close").click()

    await page.goto(f"{base}#/login")
    await log_in(page, base, "alice@example.com", "battery staple")
    await signed_in(page)
    assert page.errors == [] and other_device.errors == []


@needs_route("/auth/email/verify")
@pytest.mark.hub_settings(require_verified_email="on")
async def test_verify_email_from_the_mailed_link(
    server: TestServer, chromium: Any, inbox: Inbox
) -> None:
    """With HUB_REQUIRE_VERIFIED_EMAIL on, Alice cannot send until she follows the link."""
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page, bob = await alice_chats_with_bob(chromium, base)
    await expect(page.locator("#conv-title")).to_have_text("Bob")
    chat = page.url
    await page.locator("#composer-input").fill("Hi Bob")
    await page.locator("#composer-input").press("Enter")
    await expect(page.locator("#error")).to_contain_text("[email_unverified]")
    await expect(page.locator("#error")).to_contain_text("Verify your email from the Account page.")
    await page.locator("#error-close").click()

    await open_account(page)
    await expect(page.locator("#email-box")).to_be_visible()
    await expect(page.locator("#email-address")).to_have_text("alice@example.com")
    await expect(page.locator("#email-state")).to_have_text("not verified")
    before = len(await mails_with(inbox, "#/verify?token=", 0))
    await page.get_by_role("button", name="Send a verification mail").click()
    await expect(page.locator("#email-result")).to_contain_text("Check your inbox")

    mails = await mails_with(inbox, "#/verify?token=", before + 1)
    token = link_token(mails[-1], "verify")
    await page.goto(f"{base}#/verify?token={token}")
    await expect(page.locator("#verify-result")).to_have_text("Email verified.")
    await page.get_by_role("link", name="Continue").click()
    await expect(page.locator("#email-state")).to_have_text("verified")
    await expect(page.get_by_role("button", name="Send a verification mail")).to_be_hidden()

    # Now her message goes through.
    await page.goto(chat)
    await page.locator("#composer-input").fill("Hi Bob")
    await page.locator("#composer-input").press("Enter")
    await expect(bob.locator("li.conv .last")).to_contain_text("Hi Bob")
    await expect(page.locator("#error")).to_be_hidden()
    assert page.errors == [] and bob.errors == []
