"""Forgot/reset password by email (issue 19), through a real SMTP server
(aiosmtpd on loopback): the mailed single-use token resets the password and
revokes every session (tokens refused, sockets dropped); nothing tells an
unknown address from a known one; reused, expired and unknown tokens are
refused; the per-address and per-IP limits. Real hub, real Socket.IO clients,
on each storage engine."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from engines import ON_BOTH_ENGINES
from hub.config import Settings
from hub.context import HUB
from smtp_server import Inbox, parts
from smtp_server import inbox as inbox  # the fixture
from smtp_server import mailing_settings as mailing_settings  # the fixture: settings
from test_sessions import Watch, login, me_status
from test_sessions import watch as watch  # the fixture
from users import PASSWORD, Api
from waits import eventually

API = "/api/v1"
NEW_PASSWORD = "a much better horse"
PUBLIC_URL = "https://hub.example.com"
RESET_LINK = re.compile(re.escape(PUBLIC_URL) + r"/#/reset\?token=([A-Za-z0-9_-]+)")

pytestmark = [
    pytest.mark.hub_settings(
        smtp_timeout_s=2,
        email_from="Freelance Hub <hub@example.com>",
        public_url=PUBLIC_URL,
    ),
]


async def forgot(http: TestClient, email: str) -> tuple[int, Any]:
    response = await http.post(f"{API}/auth/password/forgot", json={"email": email})
    body = await response.json() if response.status != 202 else None
    return response.status, body


async def reset(http: TestClient, token: str, password: str = NEW_PASSWORD) -> tuple[int, Any]:
    response = await http.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": password}
    )
    body = await response.json() if response.status != 204 else None
    return response.status, body


async def login_status(http: TestClient, name: str, password: str) -> int:
    response = await http.post(
        f"{API}/auth/login", json={"email": f"{name}@example.com", "password": password}
    )
    return response.status


async def settled(http: TestClient) -> None:
    """Every mail the hub queued so far has been handed to the SMTP server."""
    await http.app[HUB].accounts.mails.drain()


async def reset_token(http: TestClient, inbox: Inbox, name: str) -> str:
    """Ask for a reset of ``name``'s password; the token of the link mailed to them."""
    before = len(inbox.mails)
    assert (await forgot(http, f"{name}@example.com"))[0] == 202
    mails = await eventually(lambda: inbox.mails, lambda m: len(m) > before)
    mail = mails[-1]
    assert mail["To"] == f"{name}@example.com"
    text, html = parts(mail)
    match = RESET_LINK.search(text)
    assert match is not None, text
    assert match[0] in html  # the same link in both bodies
    return match[1]


def named_fields(problem: dict[str, Any]) -> set[str]:
    return {f["field"] for f in problem["details"]["fields"]}


@ON_BOTH_ENGINES
async def test_forgot_mail_reset_drops_every_session_and_the_new_password_works(
    http: TestClient, api: Api, inbox: Inbox, watch: Watch
) -> None:
    first = await api.register("ann")
    phone = await login(http, "ann", agent="phone")
    first_socket = await watch(first)
    phone_socket = await watch(phone)

    token = await reset_token(http, inbox, "ann")
    [mail] = inbox.mails
    assert mail["From"] == "Freelance Hub <hub@example.com>"
    assert mail["Subject"] == "Reset your Freelance Hub password"
    assert inbox.recipients == [["ann@example.com"]]

    assert await reset(http, token) == (204, None)

    await first_socket.dropped()
    await phone_socket.dropped()
    for gone in (first, phone):
        assert await me_status(http, gone) == 401
        refresh = await http.post(
            f"{API}/auth/refresh", json={"refresh_token": gone["refresh_token"]}
        )
        assert refresh.status == 401
    assert await login_status(http, "ann", PASSWORD) == 401
    assert await login_status(http, "ann", NEW_PASSWORD) == 200
    account = await (
        await http.post(
            f"{API}/auth/login", json={"email": "ann@example.com", "password": NEW_PASSWORD}
        )
    ).json()
    assert account["user"]["email_verified"] is True  # the link reached the mailbox


@ON_BOTH_ENGINES
async def test_a_used_token_is_refused_and_a_later_one_voids_nothing_else(
    http: TestClient, api: Api, inbox: Inbox
) -> None:
    await api.register("bo")
    older = await reset_token(http, inbox, "bo")
    token = await reset_token(http, inbox, "bo")
    assert older != token

    assert (await reset(http, token))[0] == 204
    status, problem = await reset(http, token, "yet another horse")

    assert status == 422 and problem["code"] == "validation_failed", problem
    assert named_fields(problem) == {"token"}
    # A reset voids the links mailed before it too.
    status, problem = await reset(http, older, "yet another horse")
    assert status == 422 and named_fields(problem) == {"token"}
    assert await login_status(http, "bo", NEW_PASSWORD) == 200


async def test_an_unknown_email_is_202_and_mails_nothing(
    http: TestClient, api: Api, inbox: Inbox
) -> None:
    await api.register("cy")

    assert await forgot(http, "nobody@example.com") == (202, None)
    assert await forgot(http, "NoBody@Example.com ") == (202, None)
    await settled(http)

    assert inbox.mails == []
    await reset_token(http, inbox, "cy")
    assert inbox.recipients == [["cy@example.com"]]


async def test_unknown_and_malformed_tokens_are_refused(http: TestClient, api: Api) -> None:
    await api.register("dee")

    for token in ["not-a-token", "x" * 43]:
        status, problem = await reset(http, token)
        assert status == 422 and named_fields(problem) == {"token"}, problem
    response = await http.post(f"{API}/auth/password/reset", json={"new_password": NEW_PASSWORD})
    assert response.status == 422
    assert await login_status(http, "dee", PASSWORD) == 200


async def test_a_weak_new_password_is_refused_and_keeps_the_token(
    http: TestClient, api: Api, inbox: Inbox
) -> None:
    await api.register("eve")
    token = await reset_token(http, inbox, "eve")

    for weak in ["short", "", "x" * 7]:
        status, problem = await reset(http, token, weak)
        assert status == 422 and named_fields(problem) == {"new_password"}, problem

    assert (await reset(http, token))[0] == 204
    assert await login_status(http, "eve", NEW_PASSWORD) == 200


@pytest.mark.hub_settings(password_reset_ttl_s=0)  # every token expired as it is made
async def test_an_expired_token_is_refused(http: TestClient, api: Api, inbox: Inbox) -> None:
    await api.register("fay")
    token = await reset_token(http, inbox, "fay")

    status, problem = await reset(http, token)

    assert status == 422 and named_fields(problem) == {"token"}, problem
    assert await login_status(http, "fay", PASSWORD) == 200


@ON_BOTH_ENGINES
async def test_two_concurrent_resets_with_one_token_one_wins(
    http: TestClient, api: Api, inbox: Inbox
) -> None:
    await api.register("gus")
    token = await reset_token(http, inbox, "gus")

    results = await asyncio.gather(
        reset(http, token, "first horse wins"), reset(http, token, "second horse wins")
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [204, 422], results
    won = "first horse wins" if results[0][0] == 204 else "second horse wins"
    lost = "second horse wins" if won == "first horse wins" else "first horse wins"
    assert await login_status(http, "gus", won) == 200
    assert await login_status(http, "gus", lost) == 401


@pytest.mark.hub_settings(rate_limits="on", rate_limit_account_email="2/1h")
async def test_forgot_is_limited_per_address_known_or_not(
    http: TestClient, api: Api, inbox: Inbox
) -> None:
    await api.register("hal")

    for email in ["hal@example.com", "ghost@example.com"]:
        assert (await forgot(http, email))[0] == 202
        assert (await forgot(http, email.upper()))[0] == 202  # the same address
        status, problem = await forgot(http, email)
        assert status == 429 and problem["code"] == "rate_limited", problem
        assert problem["details"]["retry_after_ms"] > 0

    assert (await forgot(http, "other@example.com"))[0] == 202
    await settled(http)
    assert inbox.recipients == [["hal@example.com"]] * 2


@pytest.mark.hub_settings(rate_limits="on", rate_limit_auth="3/1m")
async def test_forgot_and_reset_are_limited_per_ip(http: TestClient) -> None:
    for n in range(3):
        assert (await forgot(http, f"user{n}@example.com"))[0] == 202

    response = await http.post(f"{API}/auth/password/forgot", json={"email": "user9@example.com"})
    assert response.status == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert (await reset(http, "whatever"))[0] == 429  # the same per-IP bucket


async def test_the_mail_is_plain_text_and_html_with_the_name_escaped(
    http: TestClient, inbox: Inbox
) -> None:
    body = {
        "email": "ivy@example.com",
        "password": PASSWORD,
        "display_name": "Ivy <b>&</b>",
        "role": "client",
    }
    assert (await http.post(f"{API}/auth/register", json=body)).status == 201
    await reset_token(http, inbox, "ivy")

    text, html = parts(inbox.mails[0])
    assert "Hi Ivy <b>&</b>," in text
    assert "Ivy &lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&</b>" not in html
    assert "1 hour" in text and "1 hour" in html


async def test_the_store_keeps_only_a_hash_of_the_token(
    http: TestClient, api: Api, inbox: Inbox, settings: Settings
) -> None:
    await api.register("jo")
    token = await reset_token(http, inbox, "jo")

    files = settings.data_dir.parent.glob("hub.db*")  # the database and its WAL
    assert all(token.encode() not in path.read_bytes() for path in files)
