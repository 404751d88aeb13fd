"""One-click unsubscribe links (RFC 8058): a token bound to one user, signed
with HMAC-SHA256 under the hub's unsubscribe secret, valid ``TOKEN_TTL_S``.
The token is the only credential of ``/email/unsubscribe``: whoever holds the
mail may turn its digests off, and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Annotated

from pydantic import BaseModel, Field

from ..errors import Forbidden
from ..schema import Query
from .preferences import Preferences

TOKEN_TTL_S = 60 * 86_400
_PURPOSE = b"email-unsubscribe.v1:"
_SHAPE = re.compile(r"^([0-9A-Za-z]{1,64})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")


class BadToken(Exception):
    """``reason`` is ``invalid`` (malformed or not signed by us) or ``expired``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsubscribeTokens:
    def __init__(self, secret: bytes, ttl_s: int = TOKEN_TTL_S) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, user_id: str, now: float) -> str:
        expires = int(now) + self.ttl_s
        return f"{user_id}.{expires}.{self._sign(user_id, expires)}"

    def verify(self, token: str, now: float) -> str:
        """The user the token is for; BadToken when it is not good."""
        match = _SHAPE.fullmatch(token)
        if match is None:
            raise BadToken("invalid")
        user_id, expires = match[1], int(match[2])
        if not hmac.compare_digest(self._sign(user_id, expires), match[3]):
            raise BadToken("invalid")
        if now >= expires:
            raise BadToken("expired")
        return user_id

    def _sign(self, user_id: str, expires: int) -> str:
        mac = hmac.new(self._secret, _PURPOSE + f"{user_id}.{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


class Unsubscribes:
    """What ``/email/unsubscribe`` does: check a token, turn the user's email off."""

    def __init__(self, tokens: UnsubscribeTokens, preferences: Preferences) -> None:
        self.tokens = tokens
        self.preferences = preferences

    def check(self, token: str) -> str:
        """The token's user; Forbidden (``details.reason``: invalid, expired) if bad."""
        try:
            return self.tokens.verify(token, time.time())
        except BadToken as exc:
            message = (
                "This unsubscribe link has expired"
                if exc.reason == "expired"
                else "This unsubscribe link is not valid"
            )
            raise Forbidden(message, {"reason": exc.reason}) from None

    async def unsubscribe(self, token: str) -> None:
        """Turn email digests off for the token's user (again: no change)."""
        user_id = self.check(token)
        await self.preferences.update(user_id, {"email": False})


class UnsubscribeQuery(Query):
    token: Annotated[str, Field(min_length=1, max_length=200)]


class Unsubscribed(BaseModel):
    email: bool = Field(description="false: email digests are off for the link's user")
