"""The web client's wallet page in headless Chromium, on a 375 px wide phone:
a deposit with the sandbox's test card, a declined card, a payout, and a double
click on Deposit, all through the page."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from browser import artifact, assert_accessible, assert_fits_width, sign_up

NARROW = {"width": 375, "height": 800}


async def test_deposit_decline_payout_and_a_double_click(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await (await chromium.new_context(viewport=NARROW)).new_page()
    deposits: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            deposits.append(r.headers)
            if r.method == "POST" and r.url.endswith("/api/v1/wallet/deposits")
            else None
        ),
    )
    await sign_up(page, base, "Wendy", role="client")

    await page.get_by_role("link", name="Wallet").click()
    usd = page.locator("#balances tr[data-currency=USD]")
    await expect(usd.locator(".available")).to_have_text("0.00 USD")
    await expect(usd.locator(".held")).to_have_text("0.00 USD")
    await expect(page.locator("#no-ledger")).to_be_visible()
    await assert_fits_width(page, "empty wallet (375 px)")

    # 250.00 with the sandbox's test card: pending, then succeeded by its webhook.
    deposit = page.locator("#deposit-form")
    await deposit.get_by_label("Amount").fill("250.00")
    await deposit.get_by_label("Card").select_option(label="Test card (sandbox)")
    await deposit.get_by_role("button", name="Deposit").click()
    await expect(page.locator("#deposit-result")).to_have_text("Deposit of 250.00 USD succeeded.")
    await expect(usd.locator(".available")).to_have_text("250.00 USD")
    entries = page.locator("#ledger li.entry")
    await expect(entries).to_have_count(1)
    await expect(entries.first).to_contain_text("Deposit")
    await expect(entries.first.locator(".amount")).to_have_text("+250.00 USD")
    await expect(page.locator("#no-ledger")).to_be_hidden()

    # The declined test card: a clear error, nothing credited.
    await deposit.get_by_label("Amount").fill("40")
    await deposit.get_by_label("Card").select_option(label="Declined test card (sandbox)")
    await deposit.get_by_role("button", name="Deposit").click()
    await expect(page.locator("#deposit-result")).to_have_text(
        "Deposit of 40.00 USD failed: the card was declined. No money was taken."
    )
    await expect(page.locator("#deposit-result")).to_have_class("result bad")
    await expect(usd.locator(".available")).to_have_text("250.00 USD")
    await expect(entries).to_have_count(1)

    # A payout of part of it to the sandbox's test bank account.
    payout = page.locator("#payout-form")
    await payout.get_by_label("Amount").fill("100")
    await payout.get_by_label("To").select_option(label="Test bank account (sandbox)")
    await payout.get_by_role("button", name="Pay out").click()
    await expect(page.locator("#payout-result")).to_have_text("Payout of 100.00 USD: paid.")
    await expect(usd.locator(".available")).to_have_text("150.00 USD")
    await expect(entries).to_have_count(2)
    newest = entries.first
    await expect(newest.locator(".kind")).to_have_text("Payout")
    await expect(newest.locator(".amount")).to_have_text("\u2212100.00 USD")
    await expect(newest.locator(".entry-state")).to_have_text("Paid")

    # More than available: said next to the form, nothing moves.
    await payout.get_by_label("Amount").fill("1000")
    await payout.get_by_role("button", name="Pay out").click()
    await expect(page.locator("#payout-result")).to_have_text(
        "Not enough available for a payout of 1000.00 USD."
    )
    await expect(usd.locator(".available")).to_have_text("150.00 USD")

    # A double click on Deposit sends one request and deposits once.
    await deposit.get_by_label("Card").select_option(label="Test card (sandbox)")
    await deposit.get_by_label("Amount").fill("10")
    before = len(deposits)
    await deposit.get_by_role("button", name="Deposit").dblclick()
    await expect(page.locator("#deposit-result")).to_have_text("Deposit of 10.00 USD succeeded.")
    await expect(usd.locator(".available")).to_have_text("160.00 USD")
    assert len(deposits) - before == 1
    keys = [headers.get("idempotency-key") for headers in deposits]
    assert all(keys) and len(set(keys)) == len(keys)  # a fresh key per user action
    await expect(entries).to_have_count(3)
    await expect(page.locator("#ledger .amount", has_text="+10.00 USD")).to_have_count(1)
    await assert_fits_width(page, "wallet with its ledger (375 px)")
    await assert_accessible(page, "wallet with its ledger (375 px)")
    await page.screenshot(path=str(artifact("web-wallet-phone.png")), full_page=True)
    assert page.errors == []
