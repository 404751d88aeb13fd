"""Opaque list cursors: base64url of the sort key of the last item of a page
(one sortable id, or several parts such as a time and an id)."""

from __future__ import annotations

import base64
import binascii

from .errors import ValidationFailed

SEPARATOR = "|"
MAX_CURSOR_TEXT = 200


def encode_cursor(*parts: str) -> str:
    text = SEPARATOR.join(parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The one id a cursor holds (None for no cursor); 422 for anything else."""
    return None if cursor is None else decode_cursor_parts(cursor, 1)[0]


def decode_cursor_parts(cursor: str, count: int) -> tuple[str, ...]:
    """The ``count`` parts a cursor holds; 422 ``cursor`` for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed.field("cursor", "Invalid cursor") from exc
    parts = tuple(text.split(SEPARATOR))
    if (
        len(parts) != count
        or not all(parts)
        or len(text) > MAX_CURSOR_TEXT
        or not text.isprintable()
    ):
        raise ValidationFailed.field("cursor", "Invalid cursor")
    return parts
