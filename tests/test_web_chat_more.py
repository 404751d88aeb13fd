"""The chat screens of issue 21 in headless Chromium, through the UI: the people
search that starts a chat, files dropped on the conversation (previews, progress,
remove, several at once), a download, reactions, @-mention autocomplete by
keyboard, mark unread, mute / pin / archive, a marketplace card's link to its job,
the masked-contact notice, the contact-details block and the reconnect banner.

Setup that is not what a test claims (a job, a bid and its acceptance) goes through
REST as the page's own user."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from browser import (
    alice_chats_with_bob,
    artifact,
    assert_accessible,
    assert_fits_width,
    sign_up,
    start_chat,
)
from market_client import MARKET, bid_body, job_body

pytestmark = pytest.mark.hub_settings(presence_grace_s=0.3)

NARROW = {"width": 375, "height": 740}

# fetch() in the page, with the page's own token: REST calls as that user.
CALL_API = """async ([method, path, body]) => {
  const r = await fetch('/api/v1' + path, { method, body: body && JSON.stringify(body),
    headers: { Authorization: 'Bearer ' + hubState.auth.access_token,
               'Content-Type': 'application/json' } });
  return { status: r.status, body: await r.json() };
}"""

# A DataTransfer holding files made in the page, as a drop from the desktop has.
FILES = """(files) => {
  const data = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    data.items.add(new File([bytes], f.name, { type: f.mime }));
  }
  return data;
}"""


async def call_api(page: Any, method: str, path: str, body: Any = None) -> Any:
    answer = await page.evaluate(CALL_API, [method, path, body])
    assert answer["status"] in (200, 201), answer
    return answer["body"]


def picture() -> bytes:
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (640, 320), (20, 120, 200)).save(data, "PNG")
    return data.getvalue()


async def drop_files(page: Any, files: list[tuple[str, str, bytes]]) -> None:
    """Drags files over the open conversation and drops them."""
    import base64

    from playwright.async_api import expect

    data = await page.evaluate_handle(
        FILES,
        [{"name": n, "mime": m, "b64": base64.b64encode(b).decode()} for n, m, b in files],
    )
    target = page.locator("#messages")
    await target.dispatch_event("dragover", {"dataTransfer": data})
    await expect(page.locator("#view-conv")).to_have_class(re.compile(r"\bdrop-active\b"))
    await target.dispatch_event("drop", {"dataTransfer": data})
    await expect(page.locator("#view-conv")).not_to_have_class(re.compile(r"\bdrop-active\b"))


async def test_find_drop_send_download_react_and_mention(server: TestServer, chromium: Any) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    alice = await (await chromium.new_context(viewport=NARROW)).new_page()
    bob = await (await chromium.new_context(viewport=NARROW)).new_page()
    await sign_up(alice, base, "Alice")
    bob_id = await sign_up(bob, base, "Bob")

    # Alice finds Bob by part of his name (any case): name and role, a Message button.
    await alice.get_by_label("Find people to message").fill("bo")
    person = alice.locator("#people .person")
    await expect(person).to_have_count(1)
    await expect(person.locator(".person-name")).to_have_text("Bob")
    await expect(person.locator(".tag")).to_have_text("Freelancer")
    await assert_fits_width(alice, "people search (375 px)")
    await person.get_by_role("button", name="Message Bob").click()
    await expect(alice.locator("#conv-title")).to_have_text("Bob")

    # She drops a picture, a text file and one too many on the conversation:
    # each uploads at once with its progress bar; the picture has a preview.
    notes = b"Scope: two screens\nDeadline: Friday\n"
    await drop_files(
        alice,
        [
            ("wireframe.png", "image/png", picture()),
            ("notes.txt", "text/plain", notes),
            ("draft.txt", "text/plain", b"not this one\n"),
        ],
    )
    pending = alice.locator("#composer-files .pending-file")
    await expect(pending).to_have_count(3)
    await expect(pending.locator(".file-name")).to_have_text(
        [re.compile(r"^wireframe\.png "), re.compile(r"^notes\.txt "), re.compile(r"^draft\.txt ")]
    )
    preview = alice.get_by_role("img", name="Preview of wireframe.png")
    await expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    for name in ("wireframe.png", "notes.txt", "draft.txt"):
        await expect(alice.get_by_label(f"Upload of {name}")).to_have_attribute("value", "100")
    await expect(pending.locator(".file-state")).to_have_text(["Uploaded"] * 3)
    await assert_fits_width(alice, "files to send (375 px)")
    await alice.screenshot(path=str(artifact("web-chat-files-pending-phone.png")), full_page=True)
    await assert_accessible(alice, "files to send (375 px)")
    await alice.get_by_role("button", name="Remove draft.txt").click()
    await expect(pending).to_have_count(2)
    await expect(alice.locator("#composer-input")).to_be_focused()

    await alice.locator("#composer-input").fill("Files for the brief")
    await alice.locator("#composer-input").press("Enter")
    mine = alice.locator('.msg.mine[data-seq="1"]')
    await expect(mine.locator(".text")).to_have_text("Files for the brief")
    await expect(mine.locator(".file")).to_have_count(2)
    await expect(alice.locator("#composer-files")).to_be_hidden()

    # Bob sees the thumbnail and downloads the text file under its name.
    await bob.locator("li.conv button").first.click()
    message = bob.locator('.msg[data-seq="1"]')
    await expect(message.locator("img.thumb")).to_have_attribute("src", re.compile(r"^blob:"))
    async with bob.expect_download() as download_info:
        await message.get_by_role("button", name=re.compile(r"notes\.txt")).click()
    download = await download_info.value
    assert download.suggested_filename == "notes.txt"
    with open(await download.path(), "rb") as saved:
        assert saved.read() == notes

    # Bob reacts; Alice sees it.
    await message.get_by_role("button", name="Add a reaction").click()
    await message.get_by_role("button", name="React with 👍").click()
    await expect(mine.locator(".reaction")).to_have_text("👍 1")

    # Alice mentions Bob with the keyboard: "@B" suggests him, Escape closes the
    # list, another letter opens it again, Enter picks (and does not send).
    composer = alice.locator("#composer-input")
    suggestions = alice.get_by_role("listbox", name="People to mention")
    await composer.press_sequentially("Thanks @B")
    await expect(suggestions.get_by_role("option")).to_have_text(["Bob"])
    await expect(composer).to_have_attribute("aria-expanded", "true")
    await expect(composer).to_have_attribute("aria-activedescendant", "mention-list-0")
    await expect(suggestions.get_by_role("option", name="Bob")).to_have_attribute(
        "aria-selected", "true"
    )
    await composer.press("Escape")
    await expect(suggestions).to_be_hidden()
    await composer.press_sequentially("o")
    await expect(suggestions.get_by_role("option")).to_have_text(["Bob"])
    await composer.press("ArrowDown")
    await composer.press("Enter")
    await expect(composer).to_have_value("Thanks @Bob ")
    await expect(suggestions).to_be_hidden()
    await expect(alice.locator(".msg.mine")).to_have_count(1)
    await composer.press_sequentially("see you Friday")
    await composer.press("Enter")
    mention = bob.locator('.msg[data-seq="2"]')
    await expect(mention.locator(".text")).to_have_text("Thanks @Bob see you Friday")
    await expect(mention).to_have_class(re.compile(r"\bmentions-me\b"))
    await expect(alice.locator('.msg.mine[data-seq="2"] .text')).to_have_text(
        "Thanks @Bob see you Friday"
    )
    stored = await alice.evaluate("() => [...hubState.messages.values()][0].get(2).mentions")
    assert stored == [bob_id]

    # Bob marks the mention unread: back on his list, 1 unread, mentioning him.
    await mention.get_by_role("button", name="Mark unread").click()
    item = bob.locator("li.conv").first
    await expect(bob.locator("#view-list")).to_be_visible()
    await expect(item.locator(".badge")).to_have_text("@1")
    await expect(item.locator(".conv-item")).to_be_focused()
    await bob.screenshot(path=str(artifact("web-chat-marked-unread-phone.png")), full_page=True)
    # Opening it reads it again.
    await item.locator(".conv-item").click()
    await expect(mention.locator(".text")).to_have_text("Thanks @Bob see you Friday")
    await bob.get_by_role("link", name="Back to conversations").click()
    await expect(item.locator(".badge")).to_have_count(0)
    assert alice.errors == [] and bob.errors == []


@MARKET
async def test_masked_notice_card_link_and_the_lists_flags(
    server: TestServer, chromium: Any
) -> None:
    from playwright.async_api import expect

    base = str(server.make_url("/"))
    carol = await (await chromium.new_context(viewport=NARROW)).new_page()
    fred = await (await chromium.new_context(viewport=NARROW)).new_page()
    await sign_up(carol, base, "Carol", role="client")
    await sign_up(fred, base, "Fred", role="freelancer")
    await start_chat(carol, "Fred")

    # A client and a freelancer with no accepted bid: the hub hides the email,
    # and the sender is told why next to the composer.
    await carol.locator("#composer-input").fill("Mail me at carol.smith@example.com")
    await carol.locator("#composer-input").press("Enter")
    await expect(carol.locator(".msg.mine .text")).to_have_text("Mail me at [contact hidden]")
    notice = carol.locator("#composer-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("until a bid between you is accepted")
    await carol.screenshot(path=str(artifact("web-chat-masked-notice-phone.png")), full_page=True)
    await notice.get_by_role("button", name="Dismiss this notice").click()
    await expect(notice).to_be_hidden()

    # Setup: Carol posts a job, Fred bids, Carol awards, Fred accepts; the bid's
    # conversation gets a "Bid accepted" card.
    job = await call_api(carol, "POST", "/jobs", job_body(title="Port the billing service"))
    bid = await call_api(fred, "POST", f"/jobs/{job['id']}/bids", bid_body(50_000))
    await call_api(carol, "POST", f"/bids/{bid['id']}/award")
    await call_api(fred, "POST", f"/bids/{bid['id']}/accept")

    # Fred: the bid's conversation on top of his list; its card opens the job page.
    items = fred.locator("li.conv")
    await expect(items).to_have_count(2)
    await expect(items.first.locator(".last")).to_have_text(
        "Bid accepted: Port the billing service"
    )
    await items.first.locator(".conv-item").click()
    card = fred.locator(".card-msg")
    await expect(card.locator(".card-head")).to_have_text("Bid accepted")
    await card.get_by_role("link", name="Bid accepted: view the job").click()
    await expect(fred.locator("#view-job")).to_be_visible()
    await expect(fred.locator("#job-title")).to_have_text("Port the billing service")
    assert fred.url.endswith("#/jobs/" + job["id"])

    # The chat with Carol: the masked text, no notice (that was Carol's).
    await fred.get_by_role("link", name="Chats").click()
    with_carol = items.filter(has=fred.locator(".name", has_text=re.compile(r"^Carol$")))
    await expect(items.locator(".name")).to_have_text(["Port the billing service", "Carol"])
    await with_carol.locator(".conv-item").click()
    await expect(fred.locator(".msg .text")).to_have_text("Mail me at [contact hidden]")
    await expect(fred.locator("#composer-notice")).to_be_hidden()

    # Pin: the chat with Carol goes first. Mute: an icon and a word.
    await fred.get_by_role("button", name="Pin chat").click()
    await expect(fred.get_by_role("button", name="Unpin chat")).to_be_visible()
    await fred.get_by_role("button", name="Mute", exact=True).click()
    await expect(fred.get_by_role("button", name="Unmute")).to_be_visible()
    await expect(fred.locator("#conv-muted")).to_have_text("🔕 Muted")
    await fred.get_by_role("link", name="Back to conversations").click()
    await expect(items.locator(".name")).to_have_text(["Carol", "Port the billing service"])
    await expect(with_carol.locator(".flag")).to_have_text(["📌 Pinned", "🔕 Muted"])
    await assert_fits_width(fred, "pinned and muted chat list (375 px)")
    await fred.screenshot(path=str(artifact("web-chat-list-flags-phone.png")), full_page=True)

    # Archive: out of the chats, into the Archived section; unarchive brings it back.
    await with_carol.locator(".conv-item").click()
    await fred.get_by_role("button", name="Archive", exact=True).click()
    await expect(fred.get_by_role("button", name="Unarchive")).to_be_visible()
    await fred.get_by_role("link", name="Back to conversations").click()
    await expect(items.locator(".name")).to_have_text(["Port the billing service"])
    archived = fred.get_by_role("button", name="Archived (1)")
    await archived.click()
    await expect(archived).to_have_attribute("aria-pressed", "true")
    await expect(items.locator(".name")).to_have_text(["Carol"])
    await items.first.locator(".conv-item").click()
    await fred.get_by_role("button", name="Unarchive").click()
    await expect(fred.get_by_role("button", name="Archive", exact=True)).to_be_visible()
    await fred.get_by_role("link", name="Back to conversations").click()
    await expect(items).to_have_count(0)
    await expect(fred.locator("#no-conversations")).to_have_text("No archived conversations.")
    await fred.get_by_role("button", name="Chats", exact=True).click()
    await expect(items.locator(".name")).to_have_text(["Carol", "Port the billing service"])

    # The flags are Fred's own, and the hub has them (a reload lists them so).
    await fred.reload()
    await expect(fred.locator("#status")).to_have_text("online")
    await expect(items.locator(".name")).to_have_text(["Carol", "Port the billing service"])
    await expect(with_carol.locator(".flag")).to_have_text(["📌 Pinned", "🔕 Muted"])
    await expect(carol.locator("li.conv .flag")).to_have_count(0)
    assert carol.errors == [] and fred.errors == []


@pytest.mark.hub_settings(contact_masking="block", upload_max_bytes=4096)
async def test_refusals_next_to_the_composer_and_the_reconnect_banner(
    server: TestServer, chromium: Any
) -> None:
    from playwright.async_api import expect

    alice, bob = await alice_chats_with_bob(
        chromium, str(server.make_url("/")), roles=("client", "freelancer")
    )
    await expect(alice.locator("#conv-title")).to_have_text("Bob")

    # The policy refuses contact details: the hub's reason next to the composer,
    # the text still there to change, nothing sent.
    composer = alice.locator("#composer-input")
    await composer.fill("Call me on +1 415 555 0100")
    await composer.press("Enter")
    error = alice.locator("#composer-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("Not sent")
    await expect(composer).to_have_value("Call me on +1 415 555 0100")
    await expect(alice.locator(".msg")).to_have_count(0)
    await expect(alice.locator("#error")).to_be_hidden()
    await alice.screenshot(path=str(artifact("web-chat-contact-blocked-phone.png")), full_page=True)
    await composer.fill("Let us talk here")
    await composer.press("Enter")
    await expect(alice.locator(".msg.mine .text")).to_have_text("Let us talk here")
    await expect(error).to_be_hidden()

    # Files the hub refuses: too big (413), not what its name says (422). Each
    # keeps its row with the hub's reason; sending waits until they are removed.
    await drop_files(
        alice,
        [("big.txt", "text/plain", b"x" * 5000), ("photo.png", "image/png", b"not a picture")],
    )
    states = alice.locator("#composer-files .file-state")
    await expect(states).to_have_text(
        [re.compile(r"^Not uploaded: .*4096 bytes"), re.compile(r"^Not uploaded: ")]
    )
    await expect(error).to_have_text(
        re.compile(r"^big\.txt: .*4096 bytes · photo\.png: The file is text/plain, not image/png")
    )
    await composer.fill("Here they are")
    await composer.press("Enter")
    await expect(error).to_have_text(
        re.compile(r"^big\.txt, photo\.png could not be uploaded: remove them to send\.")
    )
    await expect(composer).to_have_value("Here they are")
    await alice.get_by_role("button", name="Remove big.txt").click()
    await expect(error).to_have_text(re.compile(r"^photo\.png: "))
    await alice.get_by_role("button", name="Remove photo.png").click()
    await expect(error).to_be_hidden()
    await composer.press("Enter")
    await expect(alice.locator(".msg.mine .text")).to_have_text(
        ["Let us talk here", "Here they are"]
    )

    # The connection drops: a banner says so, then that it is back.
    banner = alice.locator("#conn-banner")
    await alice.evaluate(
        "() => { const m = hubState.sockets.manager; m.reconnection(false); m.engine.close(); }"
    )
    await expect(banner).to_have_text("Reconnecting…")
    await expect(banner).to_be_visible()
    await alice.evaluate(
        "() => { const m = hubState.sockets.manager; m.reconnection(true); m.open(); }"
    )
    await expect(banner).to_have_text("Back online")
    await expect(alice.locator("#status")).to_have_text("online")
    await expect(banner).to_be_hidden()
    assert alice.errors == [] and bob.errors == []
