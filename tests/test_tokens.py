"""Access tokens with RS256 key files, end to end through the REST API."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import make_settings
from hub.config import Settings
from hub.errors import Unauthorized
from hub.tokens import TokenIssuer


def write_key_pair(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = directory / "jwt.key"
    public = directory / "jwt.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    private, public = write_key_pair(tmp_path)
    return make_settings(
        tmp_path,
        jwt_algorithm="RS256",
        jwt_secret=None,
        jwt_private_key_file=private,
        jwt_public_key_file=public,
    )


async def test_rs256_tokens_are_signed_with_the_private_key(api, settings):
    account = await api.register("rsa")
    header = jwt.get_unverified_header(account["access_token"])
    assert header["alg"] == "RS256"
    public_key = settings.jwt_public_key_file.read_text()
    claims = jwt.decode(account["access_token"], public_key, algorithms=["RS256"])
    assert claims["sub"] == account["user"]["id"]
    me = await api.http.get("/api/v1/auth/me", headers=api.auth(account))
    assert me.status == 200


async def test_rs256_refuses_an_hs256_token_made_with_the_public_key(api, settings):
    account = await api.register("rsa2")
    forged = jwt.encode(
        {"sub": account["user"]["id"], "typ": "access", "iat": 0, "exp": 4_000_000_000},
        "some-other-secret-that-is-at-least-32-bytes",
        algorithm="HS256",
    )
    me = await api.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert me.status == 401


def test_rs256_needs_both_key_files(tmp_path):
    with pytest.raises(ValueError, match="RS256"):
        make_settings(tmp_path, jwt_algorithm="RS256")


def test_production_needs_a_secret(tmp_path):
    with pytest.raises(ValueError, match="HUB_JWT_SECRET"):
        make_settings(tmp_path, env="production", jwt_secret=None)


def test_issuer_round_trip(settings):
    issuer = TokenIssuer(settings)
    claims = issuer.verify(issuer.issue("u1", "client", "s1"))
    assert (claims.user_id, claims.session_id) == ("u1", "s1")


def test_a_token_without_a_session_is_refused(settings):
    issuer = TokenIssuer(settings)
    claims = jwt.decode(issuer.issue("u1", "client", "s1"), options={"verify_signature": False})
    del claims["sid"]
    sessionless = jwt.encode(claims, settings.jwt_private_key_file.read_text(), algorithm="RS256")
    with pytest.raises(Unauthorized, match="Invalid access token"):
        issuer.verify(sessionless)


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
def test_keys_are_prepared_once_not_per_token(tmp_path, monkeypatch, algorithm):
    from jwt.algorithms import HMACAlgorithm, RSAAlgorithm

    if algorithm == "RS256":
        private, public = write_key_pair(tmp_path)
        settings = make_settings(
            tmp_path,
            jwt_algorithm="RS256",
            jwt_secret=None,
            jwt_private_key_file=private,
            jwt_public_key_file=public,
        )
    else:
        settings = make_settings(tmp_path)
    issuer = TokenIssuer(settings)
    prepared: list[object] = []
    for cls in (HMACAlgorithm, RSAAlgorithm):
        original = cls.prepare_key
        monkeypatch.setattr(
            cls,
            "prepare_key",
            lambda self, key, original=original: prepared.append(key) or original(self, key),
        )
    for n in range(3):
        assert issuer.verify(issuer.issue(f"u{n}", "client", f"s{n}")).user_id == f"u{n}"
    assert prepared == []
    # Tokens signed with another key are still refused, and the module-level
    # pyjwt functions are untouched.
    forged = jwt.encode(
        {"sub": "u", "typ": "access", "iat": 0, "exp": 4_000_000_000},
        "some-other-secret-that-is-at-least-32-bytes",
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized):
        issuer.verify(forged)
    assert (
        jwt.decode(forged, "some-other-secret-that-is-at-least-32-bytes", algorithms=["HS256"])[
            "sub"
        ]
        == "u"
    )
