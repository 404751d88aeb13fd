"""Email verification (issue 19), through a real SMTP server (aiosmtpd on
loopback): the mailed single-use token verifies the address; with
HUB_REQUIRE_VERIFIED_EMAIL=on sending messages (REST and socket), bidding and
posting jobs answer 403 email_unverified until then. Real hub, real Socket.IO
clients, on each storage engine where it is cheap."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engines import ON_BOTH_ENGINES
from hub.context import HUB
from market_client import bid_body, job_body, post_job
from smtp_server import Inbox, parts
from smtp_server import inbox as inbox  # the fixture
from smtp_server import mailing_settings as mailing_settings  # the fixture: settings
from users import User, Users
from waits import eventually

PUBLIC_URL = "https://hub.example.com"
VERIFY_LINK = re.compile(re.escape(PUBLIC_URL) + r"/#/verify\?token=([A-Za-z0-9_-]+)")

pytestmark = [
    pytest.mark.hub_settings(
        smtp_timeout_s=2,
        email_from="Freelance Hub <hub@example.com>",
        public_url=PUBLIC_URL,
    ),
]


async def verification_token(user: User, inbox: Inbox) -> str:
    """Ask for a verification mail as ``user``; the token of its link."""
    before = len(inbox.mails)
    assert await user.ok("POST", "/auth/email/verify-request", status=202) is None
    mails = await eventually(lambda: inbox.mails, lambda m: len(m) > before)
    mail = mails[-1]
    assert mail["To"] == user.account["user"]["email"]
    text, html = parts(mail)
    match = VERIFY_LINK.search(text)
    assert match is not None, text
    assert match[0] in html
    return match[1]


async def verify(user: User, token: str) -> tuple[int, Any]:
    return await user.call("POST", "/auth/email/verify", {"token": token}, headers={})


async def settled(users: Users) -> None:
    await users.app[HUB].accounts.mails.drain()


@ON_BOTH_ENGINES
async def test_the_mailed_token_verifies_the_email_once(users: Users, inbox: Inbox) -> None:
    [ann] = await users("ann")
    assert ann.account["user"]["email_verified"] is False
    assert (await ann.ok("GET", "/auth/me"))["email_verified"] is False

    token = await verification_token(ann, inbox)
    assert inbox.mails[0]["Subject"] == "Verify your email for Freelance Hub"
    # The token is the credential: no bearer token needed (the link may open elsewhere).
    anonymous = users.of(ann.account)
    anonymous.headers = {}
    status, user = await verify(anonymous, token)

    assert status == 200, user
    assert user["id"] == ann.id and user["email_verified"] is True
    assert user["email"] == "ann@example.com"
    assert (await ann.ok("GET", "/auth/me"))["email_verified"] is True
    status, problem = await verify(anonymous, token)
    assert status == 422 and problem["details"]["fields"][0]["field"] == "token", problem
    # Verified already: 202 and no new mail.
    await ann.ok("POST", "/auth/email/verify-request", status=202)
    await settled(users)
    assert len(inbox.mails) == 1


async def test_the_public_profile_does_not_say(users: Users) -> None:
    ann, bob = await users("ann", "bob")

    profile = await bob.ok("GET", f"/users/{ann.id}")

    assert "email_verified" not in profile and "email" not in profile


@pytest.mark.hub_settings(email_verification_ttl_s=0)  # every token expired as it is made
async def test_an_expired_or_unknown_token_is_refused(users: Users, inbox: Inbox) -> None:
    [bo] = await users("bo")
    token = await verification_token(bo, inbox)

    for attempt in [token, "not-a-token"]:
        status, problem = await verify(bo, attempt)
        assert status == 422 and problem["code"] == "validation_failed", problem
        assert [f["field"] for f in problem["details"]["fields"]] == ["token"]
    assert (await bo.ok("GET", "/auth/me"))["email_verified"] is False


async def test_a_reset_token_does_not_verify_and_a_verification_token_does_not_reset(
    users: Users, inbox: Inbox
) -> None:
    [cy] = await users("cy")
    token = await verification_token(cy, inbox)

    status, problem = await cy.call(
        "POST", "/auth/password/reset", {"token": token, "new_password": "another horse"}
    )

    assert status == 422 and problem["details"]["fields"][0]["field"] == "token"
    assert (await verify(cy, token))[0] == 200  # still unused


@pytest.mark.hub_settings(rate_limits="on", rate_limit_account_email="2/1h")
async def test_verification_mails_are_limited_per_address(users: Users, inbox: Inbox) -> None:
    [dee] = await users("dee")
    await dee.ok("POST", "/auth/email/verify-request", status=202)
    await dee.ok("POST", "/auth/email/verify-request", status=202)

    problem = await dee.fails("POST", "/auth/email/verify-request", status=429, code="rate_limited")

    assert problem["details"]["retry_after_ms"] > 0
    await settled(users)
    assert len(inbox.mails) == 2


async def blocked_then_allowed(users: Users, inbox: Inbox) -> None:
    owner, dee = await users("owner", "dee")
    [freelancer] = await users("freelancer", role="freelancer")
    await verify(owner, await verification_token(owner, inbox))
    job = await post_job(owner)  # a verified client posts
    # Starting a conversation is not sending: Dee may, unverified.
    conversation = await dee.ok("POST", "/conversations", {"participant_ids": [owner.id]}, 201)
    cid = conversation["id"]
    socket = await dee.socket()

    await dee.fails("POST", "/jobs", job_body(), status=403, code="email_unverified")
    key = {"Idempotency-Key": "first-hi"}
    await dee.fails(
        "POST",
        f"/conversations/{cid}/messages",
        {"text": "hi"},
        status=403,
        code="email_unverified",
        headers=key,
    )
    ack = await socket.call(
        "message:send", {"conversation_id": cid, "client_msg_id": "m1", "text": "hi"}
    )
    assert ack["ok"] is False and ack["error"]["code"] == "email_unverified", ack
    await freelancer.fails(
        "POST", f"/jobs/{job['id']}/bids", bid_body(), status=403, code="email_unverified"
    )
    await owner.send(cid, "the verified owner sends")

    for user in (dee, freelancer):
        await verify(user, await verification_token(user, inbox))

    await post_job(dee)
    await dee.send(cid, "hi", headers=key)  # the refused request did not use the key up
    ack = await socket.call(
        "message:send", {"conversation_id": cid, "client_msg_id": "m1", "text": "hi again"}
    )
    assert ack["ok"] is True, ack
    await freelancer.ok("POST", f"/jobs/{job['id']}/bids", bid_body(), status=201)


@ON_BOTH_ENGINES
@pytest.mark.hub_settings(require_verified_email="on")
async def test_required_verification_blocks_sending_bidding_and_posting_until_verified(
    users: Users, inbox: Inbox
) -> None:
    await blocked_then_allowed(users, inbox)


async def test_by_default_unverified_users_send_bid_and_post(users: Users) -> None:
    client, bob = await users("client", "bob")
    [freelancer] = await users("freelancer", role="freelancer")

    job = await post_job(client)
    await freelancer.ok("POST", f"/jobs/{job['id']}/bids", bid_body(), status=201)
    conversation = await bob.ok("POST", "/conversations", {"participant_ids": [client.id]}, 201)
    await client.send(conversation["id"], "hi")
