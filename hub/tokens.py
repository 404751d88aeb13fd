"""Access tokens (JWT via pyjwt) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import Algorithm

from .config import Settings
from .errors import Unauthorized

# The second login step's token (two-factor): a type and audience of its own.
MFA_TOKEN_TYPE = "mfa"
MFA_AUDIENCE = "hub:login-mfa"


def password_stamp(password_hash: str) -> str:
    """A short digest of a password hash, for the mfa token: it changes with
    the password, and says nothing about it (the hash is salted and slow)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says; whether its session is still active
    is for ``hub.accounts.sessions`` to check."""

    user_id: str
    role: str
    session_id: str  # the ``sid`` claim: the login that issued the token
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
        self._jwt = _jwt_with_prepared_keys(self.algorithm, self._signing_key, self._verifying_key)

    def issue(self, user_id: str, role: str, session_id: str, ttl_s: int | None = None) -> str:
        """A signed access token of ``user_id`` for the session ``session_id``."""
        now = int(time.time())
        claims = {
            "sub": user_id,
            "role": role,
            "sid": session_id,
            "typ": "access",
            "iat": now,
            "exp": now + (self.ttl_s if ttl_s is None else ttl_s),
            "jti": secrets.token_hex(8),
        }
        return self._jwt.encode(claims, self._signing_key, algorithm=self.algorithm)

    def verify(self, token: object) -> AccessClaims:
        """The claims of a valid, unexpired access token; Unauthorized otherwise.

        Only the signature and the expiry are checked here: a token of a
        revoked session passes (``SessionService.authenticate`` refuses it).
        """
        if not isinstance(token, str) or not token:
            raise Unauthorized("Missing access token")
        try:
            claims = self._jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm],
                # A token without sid names no session, so it could never be revoked.
                options={"require": ["sub", "sid", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Access token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("Invalid access token") from exc
        if claims.get("typ") != "access":
            raise Unauthorized("Not an access token")
        if not isinstance(claims["sid"], str):  # pyjwt checks sub's type, not sid's
            raise Unauthorized("Invalid access token")
        return AccessClaims(
            claims["sub"], claims.get("role", ""), claims["sid"], float(claims["exp"])
        )

    def issue_mfa(self, user_id: str, ttl_s: int, password_stamp: str) -> str:
        """A signed token saying that ``user_id`` gave the right password and
        owes a second factor (``POST /auth/login/mfa``). Its own ``typ`` and
        audience, and no ``sid``: it is never accepted as an access token.
        ``password_stamp`` (``password_stamp()`` of the hash the password was
        checked against) makes a password change or reset void it."""
        now = int(time.time())
        claims = {
            "sub": user_id,
            "typ": MFA_TOKEN_TYPE,
            "aud": MFA_AUDIENCE,
            "iat": now,
            "exp": now + ttl_s,
            "jti": secrets.token_hex(8),
            "pwd": password_stamp,
        }
        return self._jwt.encode(claims, self._signing_key, algorithm=self.algorithm)

    def verify_mfa(self, token: object) -> tuple[str, str]:
        """The user of a valid, unexpired mfa token and its password stamp;
        Unauthorized otherwise."""
        if not isinstance(token, str) or not token:
            raise Unauthorized("Missing mfa_token")
        try:
            claims = self._jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm],
                audience=MFA_AUDIENCE,
                options={"require": ["sub", "aud", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("mfa_token expired: log in again") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("Invalid mfa_token") from exc
        if claims.get("typ") != MFA_TOKEN_TYPE:
            raise Unauthorized("Invalid mfa_token")
        return str(claims["sub"]), str(claims.get("pwd", ""))


class _PreparedKeys(Algorithm):
    """A pyjwt algorithm whose keys are parsed once, at startup.

    pyjwt prepares the key again on every encode and decode: for an HMAC secret
    that means sniffing it for PEM, SSH and DER headers and a ``json.loads``
    that fails (to refuse a JWK), for RS256 parsing the PEM file. That was a
    fifth of the CPU of a Socket.IO connect. Any key other than the hub's own is
    prepared as usual.
    """

    def __init__(self, inner: Algorithm, keys: tuple[str, ...]) -> None:
        self._inner = inner
        self._prepared = {key: inner.prepare_key(key) for key in keys}

    def prepare_key(self, key: Any) -> Any:
        if isinstance(key, str) and key in self._prepared:
            return self._prepared[key]
        return self._inner.prepare_key(key)

    def sign(self, msg: bytes, key: Any) -> bytes:
        return self._inner.sign(msg, key)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        return self._inner.verify(msg, key, sig)

    def check_key_length(self, key: Any) -> str | None:
        check = getattr(self._inner, "check_key_length", None)  # pyjwt >= 2.10
        return check(key) if check is not None else None

    def to_jwk(self, key_obj: Any, as_dict: bool = False) -> Any:  # type: ignore[override]  # pyjwt types it per overload; this only forwards
        return self._inner.to_jwk(key_obj, as_dict)  # type: ignore[call-overload]  # as above

    @staticmethod
    def from_jwk(jwk: Any) -> Any:
        raise NotImplementedError("the hub does not load JWKs")

    def __getattr__(self, name: str) -> Any:
        # Anything else pyjwt asks of an algorithm (check_key_length, ...).
        return getattr(self._inner, name)


def _jwt_with_prepared_keys(algorithm: str, *keys: str) -> jwt.PyJWT:
    """A pyjwt instance of its own that knows only ``algorithm``, with its keys
    prepared once (the module-level ``jwt.encode``/``decode`` stay untouched)."""
    jws = jwt.PyJWS(algorithms=[])
    jws.register_algorithm(
        algorithm, _PreparedKeys(jwt.get_algorithm_by_name(algorithm), tuple(dict.fromkeys(keys)))
    )
    instance = jwt.PyJWT()
    # PyJWT signs and verifies through its PyJWS (pyjwt >= 2.10; older
    # versions use the module's, which still works, only slower).
    instance._jws = jws
    return instance


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """Only a hash is stored, so a leaked database does not leak live tokens."""
    return hashlib.sha256(token.encode()).hexdigest()
