"""The hub's emails, written in one place: each template gives a subject, a
plain-text body and an HTML body (sent together as multipart/alternative by
``mailer.compose``). Values are escaped here, never by callers: the digest,
and the account mails (password reset, email verification), which share
``html_page`` and the button.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

PRODUCT = "Freelance Hub"


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One conversation in a digest: what to call it, how many unread, where it opens."""

    title: str
    unread: int
    url: str


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def html_page(title: str, body: str, footer: str = "") -> str:
    """A small self-contained HTML document (inline styles only: mail
    clients drop style sheets). ``body`` and ``footer`` are HTML already."""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>\n"
        '<body style="margin:0;padding:24px;background:#f4f5f7;'
        'font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2328">'
        '<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;'
        'padding:24px">'
        f"{body}</div>"
        + (
            f'<p style="max-width:560px;margin:16px auto 0;font-size:12px;color:#656d76">'
            f"{footer}</p>"
            if footer
            else ""
        )
        + "</body></html>\n"
    )


def digest(*, name: str, lines: list[DigestLine], open_url: str, unsubscribe_url: str) -> Rendered:
    """The email digest: the conversations with unread messages, and their counts."""
    total = sum(line.unread for line in lines)
    messages = plural(total, "unread message", "unread messages")
    conversations = plural(len(lines), "conversation", "conversations")
    subject = f"{messages} in {conversations} on {PRODUCT}"
    text_lines = [
        f"Hi {name},",
        "",
        f"While you were away you got {messages}:",
        "",
        *(f"- {line.title}: {line.unread} unread  {line.url}" for line in lines),
        "",
        f"Open {PRODUCT}: {open_url}",
        "",
        "--",
        "You get one email like this each time you are away with unread messages.",
        f"Stop these emails: {unsubscribe_url}",
        "",
    ]
    rows = "".join(
        '<tr><td style="padding:6px 0">'
        f'<a href="{escape(line.url)}" style="color:#0969da;text-decoration:none">'
        f"{escape(line.title)}</a></td>"
        f'<td style="padding:6px 0;text-align:right;font-weight:600">{line.unread}</td></tr>'
        for line in lines
    )
    body = (
        f'<p style="margin:0 0 12px">Hi {escape(name)},</p>'
        f'<p style="margin:0 0 12px">While you were away you got {escape(messages)}:</p>'
        f'<table style="width:100%;border-collapse:collapse">{rows}</table>'
        f'<p style="margin:20px 0 0"><a href="{escape(open_url)}" style="display:inline-block;'
        "background:#1f883d;color:#fff;padding:8px 16px;border-radius:6px;"
        f'text-decoration:none">Open {PRODUCT}</a></p>'
    )
    footer = (
        "You get one email like this each time you are away with unread messages. "
        f'<a href="{escape(unsubscribe_url)}" style="color:#656d76">Stop these emails</a>.'
    )
    return Rendered(subject, "\n".join(text_lines), html_page(subject, body, footer))


def _button(url: str, label: str) -> str:
    return (
        f'<p style="margin:20px 0 0"><a href="{escape(url)}" style="display:inline-block;'
        "background:#1f883d;color:#fff;padding:8px 16px;border-radius:6px;"
        f'text-decoration:none">{escape(label)}</a></p>'
    )


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return plural(seconds // 3600, "hour", "hours")
    if seconds % 60 == 0 and seconds >= 60:
        return plural(seconds // 60, "minute", "minutes")
    return plural(seconds, "second", "seconds")


def password_reset(*, name: str, reset_url: str, valid_s: int) -> Rendered:
    """The link of ``POST /auth/password/forgot``: single use, valid ``valid_s``."""
    subject = f"Reset your {PRODUCT} password"
    valid = _duration(valid_s)
    text = "\n".join(
        [
            f"Hi {name},",
            "",
            f"Someone (hopefully you) asked to reset the password of your {PRODUCT} account.",
            f"Choose a new password here (the link works once, for {valid}):",
            "",
            reset_url,
            "",
            "Resetting the password logs you out everywhere.",
            "",
            "--",
            "If you did not ask for this, ignore this email: your password stays as it is.",
            "",
        ]
    )
    body = (
        f'<p style="margin:0 0 12px">Hi {escape(name)},</p>'
        '<p style="margin:0 0 12px">Someone (hopefully you) asked to reset the password of '
        f"your {PRODUCT} account. The link works once, for {escape(valid)}.</p>"
        + _button(reset_url, "Choose a new password")
        + '<p style="margin:16px 0 0;font-size:13px;color:#656d76">Resetting the password '
        f'logs you out everywhere. Or open this link: <a href="{escape(reset_url)}" '
        f'style="color:#0969da">{escape(reset_url)}</a></p>'
    )
    footer = "If you did not ask for this, ignore this email: your password stays as it is."
    return Rendered(subject, text, html_page(subject, body, footer))


def email_verification(*, name: str, verify_url: str, valid_s: int) -> Rendered:
    """The link of ``POST /auth/email/verify-request``: single use, valid ``valid_s``."""
    subject = f"Verify your email for {PRODUCT}"
    valid = _duration(valid_s)
    text = "\n".join(
        [
            f"Hi {name},",
            "",
            f"Please confirm that this is your email address for {PRODUCT}",
            f"(the link works once, for {valid}):",
            "",
            verify_url,
            "",
            "--",
            "If you did not sign up, ignore this email.",
            "",
        ]
    )
    body = (
        f'<p style="margin:0 0 12px">Hi {escape(name)},</p>'
        f'<p style="margin:0 0 12px">Please confirm that this is your email address for '
        f"{PRODUCT}. The link works once, for {escape(valid)}.</p>"
        + _button(verify_url, "Verify my email")
        + '<p style="margin:16px 0 0;font-size:13px;color:#656d76">Or open this link: '
        f'<a href="{escape(verify_url)}" style="color:#0969da">{escape(verify_url)}</a></p>'
    )
    footer = "If you did not sign up, ignore this email."
    return Rendered(subject, text, html_page(subject, body, footer))


def unsubscribe_page(*, done: bool, problem: str | None = None, action: str = "") -> str:
    """The page at the unsubscribe link: a button that confirms (a GET must
    not unsubscribe: mail scanners follow links), what was done, or why the
    link does not work."""
    if problem is not None:
        title = "This link does not work"
        body = f"<h1 style='font-size:20px'>{title}</h1><p>{escape(problem)}</p>"
    elif done:
        title = "You are unsubscribed"
        body = (
            f"<h1 style='font-size:20px'>{title}</h1><p>You will get no more email digests "
            f"from {PRODUCT}. You can turn them back on in your notification settings.</p>"
        )
    else:
        title = "Stop email digests?"
        body = (
            f"<h1 style='font-size:20px'>{title}</h1><p>{PRODUCT} emails you a summary of "
            "unread messages when you are away.</p>"
            f'<form method="post" action="{escape(action)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit" style="background:#cf222e;color:#fff;border:0;'
            'padding:8px 16px;border-radius:6px">Unsubscribe</button></form>'
        )
    return html_page(title, body)
