"""Email digests (issue 18): one mail per absence naming the conversations
with unread messages, through a real SMTP server (aiosmtpd on loopback), with
real clients over real sockets, on each storage engine."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from engines import ON_BOTH_ENGINES
from hub.context import HUB, Hub
from hub.offline.digests import EmailDigests
from processes import free_port, sample
from recorder import Recorder
from smtp_server import Inbox, parts
from smtp_server import inbox as inbox  # the fixture
from smtp_server import mailing_settings as mailing_settings  # the fixture: settings
from users import API, User, Users
from waits import eventually

pytestmark = [
    ON_BOTH_ENGINES,
    pytest.mark.hub_settings(
        presence_grace_s=0.05,
        presence_sweep_interval_s=0.05,
        email_digest_delay_s=1,
        email_digest_poll_s=0.05,
        smtp_timeout_s=2,
        email_from="Freelance Hub <hub@example.com>",
        public_url="https://hub.example.com",
    ),
]
WAIT_S = 10  # a digest is due a second after the grace; then one poll


def digests_of(hub: Hub) -> EmailDigests:
    assert hub.digests is not None
    return hub.digests


class Away:
    """Notes who the hub saw leave (after the digests' own listener ran)."""

    def __init__(self, hub: Hub) -> None:
        self.gone: list[str] = []
        hub.reach.on_disconnected(self._note)

    async def _note(self, user_id: str, since: str) -> None:
        self.gone.append(user_id)

    async def left(self, user: User, socket: Recorder) -> None:
        before = self.gone.count(user.id)
        await socket.client.disconnect()
        await eventually(lambda: self.gone.count(user.id) > before)


async def direct(user: User, other: User) -> str:
    conversation = await user.ok("POST", "/conversations", {"participant_ids": [other.id]}, 201)
    return str(conversation["id"])


async def mails(inbox: Inbox, count: int) -> list[Any]:
    return await eventually(lambda: inbox.mails, lambda m: len(m) >= count, timeout=WAIT_S)


async def digest_state(hub: Hub, user: User) -> str | None:
    record = await hub.store.email_digests.get(user.id)
    return record.state if record else None


async def sent(hub: Hub, user: User) -> None:
    await eventually(lambda: digest_state(hub, user), lambda state: state == "sent")


def unsubscribe_path(mail: Any) -> str:
    """The path of the mail's List-Unsubscribe URL (on the hub's public URL)."""
    header = str(mail["List-Unsubscribe"])
    match = re.fullmatch(
        r"<https://hub\.example\.com(/api/v1/email/unsubscribe\?token=\S+)>", header
    )
    assert match, header
    return match[1]


async def test_one_digest_per_absence_naming_the_conversations_and_counts(
    users: Users, inbox: Inbox
) -> None:
    hub = users.app[HUB]
    away = Away(hub)
    ann, bob = await users("ann", "bob")
    cid = await direct(bob, ann)
    ann1 = await ann.socket()

    await away.left(ann, ann1)
    await bob.send(cid, "are you there?")
    await bob.send(cid, "the <b>spec</b> is ready")

    [mail] = await mails(inbox, 1)
    assert inbox.recipients == [["ann@example.com"]]
    assert mail["To"] == "ann@example.com"
    assert mail["From"] == "Freelance Hub <hub@example.com>"
    assert mail["Subject"] == "2 unread messages in 1 conversation on Freelance Hub"
    assert mail.get_content_type() == "multipart/alternative"
    text, html = parts(mail)
    assert f"- bob: 2 unread  https://hub.example.com/#/c/{cid}" in text
    assert ">bob</a>" in html and f'href="https://hub.example.com/#/c/{cid}"' in html
    assert "spec" not in text + html  # names and counts, never the messages
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = unsubscribe_path(mail)
    assert path in text and path in html
    await sent(hub, ann)  # the mail arrives before the worker records it
    assert sample(hub.metrics.render().decode(), "hub_emails_sent_total", kind="digest") == 1

    # More messages in the same absence: no second mail, whatever the worker does.
    await bob.send(cid, "hello?")
    assert await digests_of(hub).run_due() == 0
    assert len(inbox.mails) == 1

    # Back, and away again: a new absence, a new digest (nothing was read).
    ann2 = await ann.socket()
    await away.left(ann, ann2)
    second = (await mails(inbox, 2))[1]
    assert second["Subject"] == "3 unread messages in 1 conversation on Freelance Hub"
    assert len(inbox.mails) == 2


async def test_no_digest_while_a_socket_is_open_or_without_unread_messages(
    users: Users, inbox: Inbox
) -> None:
    hub = users.app[HUB]
    away = Away(hub)
    ann, bob = await users("ann", "bob")
    cid = await direct(bob, ann)
    ann1, ann2 = await ann.socket(), await ann.socket()
    await bob.send(cid, "read this")
    await ann1.ok("message:read", {"conversation_id": cid, "seq": 1})

    # One of two tabs closed: still reachable, no absence at all.
    await ann1.client.disconnect()
    # The last one: away, but nothing unread when the digest is due.
    await away.left(ann, ann2)
    assert away.gone == [ann.id]
    await eventually(lambda: digest_state(hub, ann), lambda state: state == "idle", timeout=WAIT_S)
    assert inbox.mails == []

    # A new message for someone still away re-arms it: the message itself
    # does it (the push worker tells the digests who had no socket open).
    await bob.send(cid, "and this")
    [mail] = await mails(inbox, 1)
    assert mail["Subject"] == "1 unread message in 1 conversation on Freelance Hub"


async def test_muted_conversations_are_not_counted_and_alone_send_nothing(
    users: Users, inbox: Inbox
) -> None:
    hub = users.app[HUB]
    away = Away(hub)
    ann, bob, cat, dan = await users("ann", "bob", "cat", "dan")
    muted, group = await direct(bob, ann), await direct(cat, ann)
    ann1 = await ann.socket()
    await ann1.ok("conversation:update", {"conversation_id": muted, "muted": True})

    await away.left(ann, ann1)
    await bob.send(muted, "muted 1")
    await bob.send(muted, "muted 2")
    await eventually(lambda: digest_state(hub, ann), lambda state: state == "idle", timeout=WAIT_S)
    assert inbox.mails == []

    # Unread in a muted and an unmuted conversation: only the unmuted one.
    titled = await dan.ok(
        "POST",
        "/conversations",
        {"participant_ids": [ann.id, cat.id], "type": "group", "title": "Logo & brand"},
        201,
    )
    ann2 = await ann.socket()
    await away.left(ann, ann2)
    await cat.send(group, "from cat")
    await dan.send(titled["id"], "from dan")
    await dan.send(titled["id"], "again")
    [mail] = await mails(inbox, 1)
    text, html = parts(mail)
    assert mail["Subject"] == "3 unread messages in 2 conversations on Freelance Hub"
    assert "- Logo & brand: 2 unread" in text and "- cat: 1 unread" in text
    assert "bob" not in text and "Logo &amp; brand" in html


async def test_one_click_unsubscribe_turns_email_off(
    users: Users, inbox: Inbox, http: TestClient
) -> None:
    hub = users.app[HUB]
    away = Away(hub)
    ann, bob = await users("ann", "bob")
    cid = await direct(bob, ann)
    ann1 = await ann.socket()
    await away.left(ann, ann1)
    await bob.send(cid, "hi")
    [mail] = await mails(inbox, 1)
    await sent(hub, ann)
    path = unsubscribe_path(mail)

    # The link opened: a page with a button, nothing changed yet.
    page = await http.get(path)
    assert page.status == 200 and page.content_type == "text/html"
    body = await page.text()
    assert '<form method="post"' in body and "Unsubscribe" in body
    assert (await ann.ok("GET", "/users/me/notification-settings"))["email"] is True

    # The mail client's one-click POST (RFC 8058): no auth header, the token is it.
    clicked = await http.post(
        path,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (clicked.status, await clicked.json()) == (200, {"email": False})
    assert (await ann.ok("GET", "/users/me/notification-settings"))["email"] is False
    again = await http.post(path, headers={"Accept": "text/html"})  # the page's button
    assert again.status == 200 and "You are unsubscribed" in await again.text()

    # Away again with unread messages: nothing scheduled, nothing sent.
    ann2 = await ann.socket()
    await away.left(ann, ann2)
    await bob.send(cid, "still there?")
    assert await digest_state(hub, ann) == "sent"  # the earlier absence's record
    assert await digests_of(hub).run_due() == 0
    assert len(inbox.mails) == 1


async def test_a_bad_or_expired_unsubscribe_token_is_refused(
    users: Users, http: TestClient
) -> None:
    hub = users.app[HUB]
    (ann,) = await users("ann")
    tokens = hub.email_unsubscribe.tokens
    good = tokens.issue(ann.id, time.time())
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    expired = tokens.issue(ann.id, time.time() - tokens.ttl_s - 1)
    url = f"{API}/email/unsubscribe"

    for token, reason in ((forged, "invalid"), ("nonsense", "invalid"), (expired, "expired")):
        response = await http.post(url, params={"token": token})
        problem = await response.json(content_type=None)
        assert response.status == 403 and response.content_type == "application/problem+json"
        assert problem["code"] == "forbidden" and problem["details"] == {"reason": reason}
        page = await http.get(url, params={"token": token})
        assert page.status == 403 and page.content_type == "text/html"
        assert "This link does not work" in await page.text()
    missing = await http.post(url)
    assert missing.status == 422
    assert (await ann.ok("GET", "/users/me/notification-settings"))["email"] is True


# Nothing listens on that port (free when the module is imported).
@pytest.mark.hub_settings(smtp_url=f"smtp://127.0.0.1:{free_port()}", email_digest_retry_s=30)
async def test_an_unreachable_smtp_server_is_counted_and_logged_not_raised(
    users: Users, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    hub = users.app[HUB]
    assert hub.settings.smtp_url is not None
    assert f":{inbox.port}" not in hub.settings.smtp_url.get_secret_value()
    away = Away(hub)
    ann, bob = await users("ann", "bob")
    cid = await direct(bob, ann)
    ann1 = await ann.socket()
    await away.left(ann, ann1)
    sent = await bob.send(cid, "hi")  # the request is not affected
    assert sent["seq"] == 1

    def failed() -> float:
        return sample(hub.metrics.render().decode(), "hub_emails_failed_total", kind="digest")

    await eventually(failed, lambda count: count == 1, timeout=WAIT_S)
    # The failure is counted before the record is put back with its attempt.
    record = await eventually(
        lambda: hub.store.email_digests.get(ann.id),
        lambda r: r is not None and r.attempts == 1,
        timeout=WAIT_S,
    )
    assert record is not None and record.state == "pending" and record.attempts == 1
    assert record.due_at > record.absence_since  # retried later, with backoff
    assert any("email not sent" in r.getMessage() for r in caplog.records)
    assert inbox.mails == []
