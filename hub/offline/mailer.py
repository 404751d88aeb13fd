"""Sending email: the ``Mailer`` port, its SMTP adapter (aiosmtplib: every
step awaits the socket, nothing blocks the event loop, each step is bounded by
a timeout), and ``Postman``, which counts and logs what the mailer did and
never raises into its caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from ..ratelimit import Limit, MemoryRateLimiter
from .templates import Rendered

log = logging.getLogger(__name__)

# Failures logged: a few lines a minute, whatever the rate of failures.
FAILURE_LOG_LIMIT = Limit(5, 60.0)


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    content: Rendered
    headers: Mapping[str, str] = field(default_factory=dict)


class MailError(Exception):
    """The server could not be reached, refused the mail, or timed out."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the mail server; MailError when it is not accepted."""


def compose(mail: Mail, sender: str) -> EmailMessage:
    """``mail`` as a MIME message: plain text, and HTML as the alternative."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.content.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain_of(sender))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.content.text)
    message.add_alternative(mail.content.html, subtype="html")
    return message


def _domain_of(sender: str) -> str:
    try:
        message = EmailMessage()
        message["From"] = sender
        address: Address = message["From"].addresses[0]
        return address.domain or "localhost"
    except (IndexError, ValueError):
        return "localhost"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int | None = None
    implicit_tls: bool = False  # smtps://; else STARTTLS when the server offers it
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0

    @classmethod
    def from_url(cls, url: str, timeout_s: float) -> SmtpConfig:
        """``smtp[s]://user:password@host:port`` (HUB_SMTP_URL)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("HUB_SMTP_URL must be smtp[s]://user:password@host:port")
        return cls(
            host=parts.hostname,
            port=parts.port,
            implicit_tls=parts.scheme == "smtps",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout_s=timeout_s,
        )


class SmtpMailer:
    """Sends through an SMTP server, one connection per mail (digests are
    rare: at most one per user and absence)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: EmailMessage) -> None:
        config = self.config
        options: dict[str, Any] = {
            "hostname": config.host,
            "port": config.port,
            "timeout": config.timeout_s,
            "use_tls": config.implicit_tls,
            "start_tls": None if not config.implicit_tls else False,  # None: when offered
        }
        if config.username:
            options["username"] = config.username
            options["password"] = config.password or ""
        try:
            # aiosmtplib's timeout bounds each step; this bounds the whole exchange.
            async with asyncio.timeout(config.timeout_s * 3):
                await aiosmtplib.send(message, **options)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(f"{type(exc).__name__}: {exc}") from exc


class LogMailer:
    """Development without an SMTP server: each mail goes to the log instead,
    links included, so a developer can follow them."""

    async def send(self, message: EmailMessage) -> None:
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        log.info(
            "mail (HUB_SMTP_URL unset, not sent) to %s: %s\n%s",
            message["To"],
            message["Subject"],
            text,
        )


class Postman:
    """Sends mail through a ``Mailer``: counts each mail sent or failed by
    kind, logs failures within bounds, and answers whether it went out."""

    def __init__(self, mailer: Mailer, sender: str, sent: Any, failed: Any) -> None:
        self.mailer = mailer
        self.sender = sender
        self._sent = sent
        self._failed = failed
        self._limiter = MemoryRateLimiter(max_keys=16)
        self._suppressed = 0

    async def deliver(self, mail: Mail, kind: str) -> bool:
        try:
            await self.mailer.send(compose(mail, self.sender))
        except MailError as exc:
            self._failed.labels(kind).inc()
            self._log_failure(kind, str(exc))
            return False
        self._sent.labels(kind).inc()
        return True

    def _log_failure(self, kind: str, detail: str) -> None:
        if not self._limiter.hit_now("mail", FAILURE_LOG_LIMIT).allowed:
            self._suppressed += 1
            return
        if self._suppressed:
            log.warning("email: %d more failures not logged", self._suppressed)
            self._suppressed = 0
        log.warning("email not sent: %s", detail[:300], extra={"fields": {"kind": kind}})
