"""JSON from clients: orjson, and a precise answer when text is not valid Unicode.

A browser's ``JSON.stringify`` of a string cut in the middle of an emoji
writes a lone surrogate escape (``"\\ud83d"``). That is well-formed JSON but
not valid Unicode, so orjson refuses the whole document, and a string holding
it could be neither stored as UTF-8 nor sent back. Instead of a generic
"not JSON" the client is told which field holds it. The slower standard
library parser runs only for documents orjson refused.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

Path = tuple[str | int, ...]


class InvalidJson(ValueError):
    """The document is not JSON at all."""


class LoneSurrogate(ValueError):
    """The document is JSON, but the string at ``path`` is not valid Unicode."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"lone surrogate at {path}")
        self.path = path


def loads(raw: str | bytes) -> Any:
    """Decode ``raw``; raises InvalidJson or LoneSurrogate."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        path = _lone_surrogate_path(raw)
        if path is not None:
            raise LoneSurrogate(path) from exc
        raise InvalidJson(str(exc)) from exc


def _lone_surrogate_path(raw: str | bytes) -> Path | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return find_lone_surrogate(data)


def find_lone_surrogate(data: Any, path: Path = ()) -> Path | None:
    """The path of the first string (value or key) that cannot be UTF-8 encoded."""
    if isinstance(data, str):
        return None if _encodable(data) else path
    if isinstance(data, list):
        for index, item in enumerate(data):
            found = find_lone_surrogate(item, (*path, index))
            if found is not None:
                return found
    elif isinstance(data, dict):
        for key, value in data.items():
            if not _encodable(key):
                return (*path, key)
            found = find_lone_surrogate(value, (*path, key))
            if found is not None:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def field_name(path: Path) -> str:
    """``("attachments", 0, "name")`` as ``"attachments.0.name"`` (a key that is
    itself invalid is shown with its bad characters escaped)."""
    parts = [str(part).encode("utf-8", "backslashreplace").decode() for part in path]
    return ".".join(parts) or "body"


UNICODE_MESSAGE = "Text must be valid Unicode: it holds a lone surrogate (half of an emoji?)"
