"""``X-Hub-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.

The timestamp is signed with the body, so an old delivery cannot be replayed
with a fresh ``t``; deliveries more than ``TOLERANCE_S`` away from our clock
(either way) are refused. Several ``v1`` values may be sent (one per secret
while a secret is rotated): one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from ..errors import MalformedRequest

SIGNATURE_HEADER = "X-Hub-Signature"
TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body``, signed now (or at ``timestamp``)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """Raise MalformedRequest (400) unless ``header`` signs ``body`` with ``secret``
    at a time within ``tolerance_s`` of ``now``."""
    if not header:
        raise MalformedRequest(f"Missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise MalformedRequest(f"{SIGNATURE_HEADER} must be t=<unix time>,v1=<hex signature>")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise MalformedRequest("Webhook signature timestamp is outside the tolerance")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise MalformedRequest("Webhook signature does not match")
