"""Access tokens (JWT via pyjwt) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import jwt

from .config import Settings
from .errors import Unauthorized


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    role: str
    expires_at: float


class TokenIssuer:
    """Signs and verifies access tokens: HS256 with a secret, or RS256 key files."""

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.ttl_s = settings.access_token_ttl_s
        if self.algorithm == "RS256":
            assert settings.jwt_private_key_file and settings.jwt_public_key_file
            self._signing_key: str = settings.jwt_private_key_file.read_text()
            self._verifying_key: str = settings.jwt_public_key_file.read_text()
        else:
            assert settings.jwt_secret is not None, "call Settings.ensure_jwt_secret() first"
            self._signing_key = self._verifying_key = settings.jwt_secret.get_secret_value()

    def issue(self, user_id: str, role: str, ttl_s: int | None = None) -> str:
        now = int(time.time())
        claims = {
            "sub": user_id,
            "role": role,
            "typ": "access",
            "iat": now,
            "exp": now + (self.ttl_s if ttl_s is None else ttl_s),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._signing_key, algorithm=self.algorithm)

    def verify(self, token: object) -> AccessClaims:
        """The claims of a valid, unexpired access token; Unauthorized otherwise."""
        if not isinstance(token, str) or not token:
            raise Unauthorized("Missing access token")
        try:
            claims = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm],
                options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Access token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("Invalid access token") from exc
        if claims.get("typ") != "access":
            raise Unauthorized("Not an access token")
        return AccessClaims(claims["sub"], claims.get("role", ""), float(claims["exp"]))


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """Only a hash is stored, so a leaked database does not leak live tokens."""
    return hashlib.sha256(token.encode()).hexdigest()
