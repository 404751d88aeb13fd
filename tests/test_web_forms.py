"""The web client's forms in headless Chromium (issue 21): their limits come from
the hub's OpenAPI document (handlers/web/limits.js reads it, unauthenticated, and
applies each ``data-schema`` field's maxLength/minLength/minimum/maximum), a value
the browser lets through but the hub refuses is shown next to its field, and an
unknown route shows "Page not found" signed in and signed out."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from browser import PHONE, sign_up

DIGITS = {"JPY": 0}  # a currency's minor digits, when not 2 (ISO 4217)

# What each [data-schema] control of the page says about itself.
CONTROLS = """els => els.map((e) => ({
  schema: e.dataset.schema, money: 'money' in e.dataset,
  currency: e.dataset.currency || (e.form && e.form.elements.currency
    && e.form.elements.currency.value) || null,
  maxlength: e.getAttribute('maxlength'), minlength: e.getAttribute('minlength'),
  min: e.getAttribute('min'), max: e.getAttribute('max'),
}))"""


async def new_page(browser: Any, viewport: dict[str, int] = PHONE) -> Any:
    page = await (await browser.new_context(viewport=viewport)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


def resolve(schemas: dict[str, Any], node: Any) -> Any:
    """``node`` with $ref and anyOf [X, null] followed (as limits.js does)."""
    while isinstance(node, dict):
        if "$ref" in node:
            rest = {k: v for k, v in node.items() if k != "$ref"}
            node = {**schemas[node["$ref"].split("/")[-1]], **rest}
            continue
        options = [o for o in node.get("anyOf", []) if o.get("type") != "null"]
        if len(options) != 1:
            return node
        node = {**{k: v for k, v in node.items() if k != "anyOf"}, **options[0]}
    return node


def field(schemas: dict[str, Any], name: str) -> dict[str, Any]:
    schema_name, *path = name.split(".")
    node = resolve(schemas, schemas.get(schema_name))
    assert path and node is not None, f"data-schema={name!r}: no schema {schema_name}"
    for part in path:
        item = part.endswith("[]")
        props = node.get("properties", {})
        key = part[:-2] if item else part
        assert key in props, f"data-schema={name!r}: {schema_name} has no field {key}"
        node = resolve(schemas, props[key])
        if item:
            node = resolve(schemas, node["items"])
    result: dict[str, Any] = node
    return result


def attribute(value: Any) -> str | None:
    return None if value is None else str(value)


async def test_form_limits_come_from_the_openapi_document(
    server: TestServer, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await new_page(chromium)
    await page.goto(base)
    # The page's own fetch sends no token: the document must be public.
    response = await page.request.get(base + "api/v1/openapi.json")
    assert response.ok, response.status
    schemas = (await response.json())["components"]["schemas"]

    name_limit = schemas["RegisterRequest"]["properties"]["display_name"]["maxLength"]
    assert name_limit == 80  # the example: the form allowed 100
    await expect(page.locator("html")).to_have_attribute("data-limits", "applied")
    display_name = page.locator("#signup-form").get_by_label("Display name")
    await expect(display_name).to_have_attribute("maxlength", str(name_limit))

    # Every control that names a schema field carries that field's limits (money in
    # the currency's decimals, when its form has a currency; USD by default here).
    controls = await page.eval_on_selector_all("[data-schema]", CONTROLS)
    named = {c["schema"] for c in controls}
    for expected in ["RegisterRequest.password", "ChangePasswordRequest.new_password",
                     "CreateJob.budget_min", "CreateBid.proposal", "Rating.note",
                     "RestSendMessage.text"]:  # fmt: skip
        assert expected in named, expected
    job_budget = next(c for c in controls if c["schema"] == "CreateJob.budget_min")
    assert (job_budget["currency"], job_budget["min"]) == ("USD", "0.01"), job_budget
    for control in controls:
        prop = field(schemas, control["schema"])
        want_max = prop.get("x-hub-trimmed-max-length", prop.get("maxLength"))
        assert control["maxlength"] == attribute(want_max), control
        assert control["minlength"] == attribute(prop.get("minLength")), control
        if control["money"] and control["currency"]:
            scale = 10 ** DIGITS.get(control["currency"], 2)
            assert float(control["min"]) == prop["minimum"] / scale, control
            assert float(control["max"]) == prop["maximum"] / scale, control
        elif not control["money"]:
            for attr, keyword in [("min", "minimum"), ("max", "maximum")]:
                if keyword in prop:
                    assert control[attr] == attribute(prop[keyword]), control
    composer = next(c for c in controls if c["schema"] == "RestSendMessage.text")
    assert composer["maxlength"] == "4000"  # HUB_MAX_TEXT_LENGTH, not the raw 100 000

    # A currency with other decimals changes the money limits (JPY has none).
    job_form = page.locator("#job-form")
    await job_form.evaluate(
        "f => f.elements.currency.append(new Option('JPY'))"  # setup: a hub with yen
    )
    await job_form.get_by_label("Currency").select_option("JPY", force=True)
    await expect(job_form.locator("[name=budget_min]")).to_have_attribute("min", "1")
    await expect(job_form.locator("[name=budget_min]")).to_have_attribute("step", "1")

    # A form another module builds later gets its limits too.
    await page.evaluate(
        """() => { const input = document.createElement('input'); input.id = 'later';
        input.dataset.schema = 'RegisterRequest.display_name'; document.body.append(input); }"""
    )
    await expect(page.locator("#later")).to_have_attribute("maxlength", str(name_limit))
    assert page.errors == []


async def test_a_value_the_hub_refuses_shows_next_to_its_field(
    server: TestServer, chromium: Any
) -> None:
    """The browser accepts "ann@localhost" as an email and "   " as a name; the hub
    does not, and each 422 detail lands at its own field, not in the banner."""
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await new_page(chromium)
    await page.goto(base)
    form = page.locator("#signup-form")
    await expect(page.locator("html")).to_have_attribute("data-limits", "applied")
    await form.get_by_label("Display name").fill("   ")
    await form.get_by_label("Email").fill("ann@localhost")
    await form.get_by_label("Password").fill("correct horse")
    await form.get_by_role("button", name="Create account").click()

    email_error = page.locator("#signup-form-email-error")
    await expect(email_error).to_have_text("not a valid email address", ignore_case=True)
    email = form.locator("input[name=email]")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(email).to_have_attribute("aria-describedby", "signup-form-email-error")
    name = form.locator("input[name=display_name]")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#signup-form-display_name-error")).to_be_visible()
    await expect(page.locator("#error")).to_be_hidden()
    await expect(page.locator("#view-auth")).to_be_visible()  # not signed in

    # Fixed and sent again: the notes go, the account is made.
    await form.get_by_label("Display name").fill("Ann")
    await form.get_by_label("Email").fill("ann@example.com")
    await form.get_by_role("button", name="Create account").click()
    await expect(page.locator("#status.online")).to_be_visible()
    await expect(form.locator(".field-error")).to_have_count(0)
    assert page.errors == []


async def test_unknown_routes_show_page_not_found(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    page = await new_page(chromium)
    not_found = page.get_by_role("heading", name="Page not found")

    # Signed out: a page of the app asks to sign in first; a route of none is not found.
    await page.goto(base + "#/jobs")
    await expect(page.locator("#view-auth")).to_be_visible()
    await page.goto(base + "#/nope")
    await expect(not_found).to_be_visible()
    await expect(page.locator("#view-auth")).to_be_hidden()
    await page.get_by_role("link", name="Go to the log-in page").click()
    await expect(page.locator("#view-auth")).to_be_visible()
    await expect(not_found).to_be_hidden()

    # Signed in: the same, and every page of the nav still opens.
    signed_out_errors = page.errors
    await sign_up(page, base, "Nora")  # page.errors: a fresh list from here on
    await page.goto(base + "#/nope/deeper")
    await expect(not_found).to_be_visible()
    await expect(page.locator("#view-list")).to_be_hidden()
    await page.get_by_role("link", name="Go to your chats").click()
    await expect(page.locator("#view-list")).to_be_visible()
    await expect(not_found).to_be_hidden()
    for link, view in [("Jobs", "#view-jobs"), ("Account", "#view-account"),
                       ("Networking", "#view-lobby"), ("Chats", "#view-list")]:  # fmt: skip
        await page.get_by_role("link", name=link, exact=True).click()
        await expect(page.locator(view)).to_be_visible()
        await expect(not_found).to_be_hidden()
    assert signed_out_errors == [] and page.errors == []
