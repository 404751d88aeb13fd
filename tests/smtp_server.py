"""A real SMTP server for the tests: aiosmtpd on a free loopback port, in its
own thread, keeping every mail it accepts (``Inbox``)."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from conftest import hub_settings_of, make_settings
from hub.config import Settings
from processes import free_port


class Inbox:
    """The aiosmtpd handler: collects each mail, parsed, with its envelope recipients."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.mails: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.recipients.append(list(envelope.rcpt_tos))
        self.mails.append(message)
        return "250 Message accepted for delivery"


@asynccontextmanager
async def smtp_server() -> AsyncIterator[Inbox]:
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    await asyncio.to_thread(controller.start)
    try:
        yield inbox
    finally:
        await asyncio.to_thread(controller.stop)


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML body of a multipart/alternative mail."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None, message
    return text.get_content(), html.get_content()


# Fixtures for a test module whose hub sends mail: import both
# (``from smtp_server import inbox, mailing_settings``) and the module's hub
# mails through a real SMTP server it can read.


@pytest_asyncio.fixture
async def inbox() -> AsyncIterator[Inbox]:
    async with smtp_server() as server:
        yield server


@pytest.fixture(name="settings")
def mailing_settings(request: pytest.FixtureRequest, tmp_path: Path, inbox: Inbox) -> Settings:
    """The hub mails through ``inbox`` (``hub_settings`` marks still apply, last)."""
    fields: dict[str, Any] = {"smtp_url": f"smtp://127.0.0.1:{inbox.port}", "smtp_timeout_s": 2}
    return make_settings(tmp_path, **{**fields, **hub_settings_of(request.node)})
