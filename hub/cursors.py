"""Opaque list cursors over sortable ids (base64url of the last id of a page)."""

from __future__ import annotations

import base64
import binascii

from .errors import ValidationFailed


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed.field("cursor", "Invalid cursor") from exc
    if not value or len(value) > 100 or not value.isprintable():
        raise ValidationFailed.field("cursor", "Invalid cursor")
    return value
