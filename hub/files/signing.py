"""HMAC-SHA256 signed URLs for the hub's own file routes.

A signature covers the path and every query parameter (the expiry and any
others, such as the type and disposition to serve with), so none can be
altered, added or removed without making the URL invalid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlencode


def sign(path: str, expires_at: int, secret: bytes, params: Mapping[str, str] | None = None) -> str:
    """The query string for ``path`` (``...&expires=...&sig=...``): ``params``,
    then the expiry (Unix seconds), then the signature over all of them."""
    params = params or {}
    if "sig" in params or "expires" in params:
        raise ValueError("'sig' and 'expires' are the signature's own parameters")
    query = {**params, "expires": str(expires_at)}
    return f"{urlencode(query)}&sig={_signature(path, query.items(), secret)}"


def verify(path: str, query: Mapping[str, str], secret: bytes, now: float) -> bool:
    """Whether ``query`` carries a valid signature of ``path`` and all its other
    parameters, and its ``expires`` is still ahead of ``now``."""
    given = query.get("sig")
    expires = query.get("expires", "")
    if given is None or not expires.isascii() or not expires.isdigit():
        return False
    # items(), not a dict of them: a repeated parameter is signed as repeated,
    # so one added beside a signed one breaks the signature.
    rest = [(key, value) for key, value in query.items() if key != "sig"]
    expected = _signature(path, rest, secret)
    # Bytes: compare_digest refuses non-ASCII str, which a client may send.
    valid = hmac.compare_digest(expected.encode(), given.encode())
    return valid and now < int(expires)


def _signature(path: str, items: Iterable[tuple[str, str]], secret: bytes) -> str:
    if not secret:
        raise ValueError("no signing secret")
    # Percent-encoded and sorted: one byte string for one path and set of
    # parameters, whatever their order or the characters in them.
    message = f"{quote(path, safe='/')}?{urlencode(sorted(items))}".encode()
    mac = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
