"""Two-factor authentication with TOTP (issue 19), through the REST API of a
real hub on a real port: set-up, enable, the mfa_required login step, replay,
recovery codes, lockout, expired mfa tokens, disable.

Codes are made with pyotp from the secret the set-up answered. The hub accepts
the step before and after its own; so that no test depends on where in a 30 s
step it runs, each test uses at most two TOTP steps (``step`` read at its
start, then ``step + 1``) and recovery codes beyond them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import jwt
import pyotp
import pytest
from aiohttp.test_utils import TestClient

from engines import ON_BOTH_ENGINES
from hub.config import Settings
from hub.tokens import TokenIssuer
from test_sessions import Watch, bearer, me_status
from test_sessions import watch as watch  # the fixture
from users import PASSWORD, Api

API = "/api/v1"
pytestmark = ON_BOTH_ENGINES  # the flows on SQLite and on MongoDB


class Totp:
    """An authenticator app: the codes of the secret the hub set up."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.step = self.totp.timecode(time.time())  # the test's first step

    def code(self, offset: int = 0) -> str:
        return self.totp.generate_otp(self.step + offset)

    def wrong(self) -> str:
        """A code of no step the hub could accept now."""
        near = {self.totp.generate_otp(self.step + d) for d in range(-2, 4)}
        return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in near)


async def post(
    http: TestClient, path: str, body: Any = None, account: dict[str, Any] | None = None
) -> tuple[int, Any, Any]:
    response = await http.post(
        API + path, json=body, headers=bearer(account) if account is not None else {}
    )
    data = await response.json(content_type=None) if response.status != 204 else None
    if response.status >= 400:
        assert response.content_type == "application/problem+json", data
    return response.status, data, response.headers


async def set_up(http: TestClient, account: dict[str, Any]) -> Totp:
    status, setup, _ = await post(http, "/auth/2fa/setup", account=account)
    assert status == 200, setup
    return Totp(setup["secret"])


async def enabled(http: TestClient, api: Api, name: str) -> tuple[dict[str, Any], Totp, list[str]]:
    """A new account with two-factor on (its step-0 code used): the account,
    its authenticator and its recovery codes."""
    account = await api.register(name)
    totp = await set_up(http, account)
    status, body, _ = await post(http, "/auth/2fa/enable", {"code": totp.code()}, account)
    assert status == 200, body
    return account, totp, body["recovery_codes"]


async def first_step(http: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in with the password; two-factor on: the mfa_token of the 401."""
    status, problem, _ = await post(
        http, "/auth/login", {"email": f"{name}@example.com", "password": password}
    )
    assert (status, problem["code"]) == (401, "mfa_required"), problem
    assert set(problem) >= {"type", "title", "status", "detail", "instance", "code", "mfa_token"}
    return str(problem["mfa_token"])


async def second_step(
    http: TestClient, mfa_token: str, code: str, agent: str = "test-agent"
) -> tuple[int, Any, Any]:
    response = await http.post(
        f"{API}/auth/login/mfa",
        json={"mfa_token": mfa_token, "code": code},
        headers={"User-Agent": agent},
    )
    return response.status, await response.json(content_type=None), response.headers


# --- set-up and enable ----------------------------------------------------------------------


async def test_setup_answers_a_secret_its_otpauth_uri_and_a_qr_code(
    http: TestClient, api: Api
) -> None:
    account = await api.register("ann")

    status, setup, _ = await post(http, "/auth/2fa/setup", account=account)

    assert status == 200
    assert set(setup) == {"secret", "otpauth_uri", "qr_svg"}
    parsed = pyotp.parse_uri(setup["otpauth_uri"])
    assert parsed.secret == setup["secret"] and parsed.name == "ann@example.com"
    assert parsed.issuer == "Freelance Hub" and parsed.interval == 30 and parsed.digits == 6
    assert setup["qr_svg"].startswith("data:image/svg+xml")
    # Set up, not on: the password alone still logs in.
    status, _, _ = await post(
        http, "/auth/login", {"email": "ann@example.com", "password": PASSWORD}
    )
    assert status == 200
    status, state, _ = await http_get(http, "/auth/2fa", account)
    assert state == {"enabled": False, "pending": True, "recovery_codes_left": 0}


async def http_get(http: TestClient, path: str, account: dict[str, Any]) -> tuple[int, Any, Any]:
    response = await http.get(API + path, headers=bearer(account))
    return response.status, await response.json(), response.headers


async def test_enable_needs_a_code_of_the_latest_setup(http: TestClient, api: Api) -> None:
    account = await api.register("bo")
    status, problem, _ = await post(http, "/auth/2fa/enable", {"code": "123456"}, account)
    assert (status, problem["code"]) == (409, "conflict")  # nothing set up
    first = await set_up(http, account)
    latest = await set_up(http, account)  # replaces the first

    status, problem, _ = await post(http, "/auth/2fa/enable", {"code": latest.wrong()}, account)
    assert (status, problem["code"]) == (422, "validation_failed")
    assert [f["field"] for f in problem["details"]["fields"]] == ["code"]
    if first.code() != latest.code():
        status, _, _ = await post(http, "/auth/2fa/enable", {"code": first.code()}, account)
        assert status == 422
    status, body, _ = await post(http, "/auth/2fa/enable", {"code": latest.code()}, account)

    assert status == 200
    codes = body["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    status, state, _ = await http_get(http, "/auth/2fa", account)
    assert state == {"enabled": True, "pending": False, "recovery_codes_left": 10}
    # On: no second set-up, no second enable.
    assert (await post(http, "/auth/2fa/setup", account=account))[0] == 409
    assert (await post(http, "/auth/2fa/enable", {"code": latest.code(1)}, account))[0] == 409


async def test_the_secret_and_codes_are_never_answered_again_nor_logged(
    http: TestClient, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # The hub's own loggers at their most verbose. (At HUB_LOG_LEVEL=DEBUG the
    # SQLite driver's debug log shows statement parameters, this secret among
    # them, as it shows every other stored credential: docs/accounts.md.)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="hub")
    account, totp, codes = await enabled(http, api, "cy")
    secret = totp.totp.secret

    answers = [await (await http.get(f"{API}/auth/me", headers=bearer(account))).text()]
    answers.append(await (await http.get(f"{API}/auth/2fa", headers=bearer(account))).text())

    for text in [*answers, caplog.text]:
        assert secret not in text
        assert not any(code in text for code in codes)


# --- logging in --------------------------------------------------------------------------------


async def test_login_with_two_factor_takes_a_code_and_a_code_works_once(
    http: TestClient, api: Api, watch: Watch
) -> None:
    account, totp, _ = await enabled(http, api, "dee")
    mfa_token = await first_step(http, "dee")
    # The mfa_token is no access token.
    assert (
        await http.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {mfa_token}"})
    ).status == 401

    status, result, _ = await second_step(http, mfa_token, totp.code(1), agent="phone")

    assert status == 200, result
    assert set(result) >= {"user", "access_token", "refresh_token", "expires_in"}
    assert result["user"]["id"] == account["user"]["id"]
    assert await me_status(http, result) == 200
    await (await watch(result)).still_serves()
    sessions = await (await http.get(f"{API}/auth/sessions", headers=bearer(result))).json()
    assert [s["user_agent"] for s in sessions["items"] if s["current"]] == ["phone"]
    # The same code again, even with a fresh mfa_token: replayed, refused.
    status, problem, _ = await second_step(http, await first_step(http, "dee"), totp.code(1))
    assert (status, problem["code"]) == (401, "unauthorized"), problem
    # The code that enabled two-factor is used up too.
    status, problem, _ = await second_step(http, await first_step(http, "dee"), totp.code())
    assert (status, problem["code"]) == (401, "unauthorized"), problem


async def test_one_code_sent_twice_at_once_logs_in_once(http: TestClient, api: Api) -> None:
    _, totp, _ = await enabled(http, api, "eve")
    tokens = [await first_step(http, "eve") for _ in range(4)]  # under the lockout's 5

    answers = await asyncio.gather(*(second_step(http, t, totp.code(1)) for t in tokens))

    assert sorted(status for status, _, _ in answers) == [200] + [401] * 3


async def test_a_recovery_code_works_once(http: TestClient, api: Api) -> None:
    account, _, codes = await enabled(http, api, "fay")

    status, result, _ = await second_step(http, await first_step(http, "fay"), codes[3])
    assert status == 200, result
    # Typed differently (upper case, spaces for dashes): the same code, used up.
    retyped = codes[3].upper().replace("-", " ")
    status, problem, _ = await second_step(http, await first_step(http, "fay"), retyped)
    assert (status, problem["code"]) == (401, "unauthorized")
    status, result, _ = await second_step(http, await first_step(http, "fay"), codes[4].upper())
    assert status == 200
    _, state, _ = await http_get(http, "/auth/2fa", account)
    assert state["recovery_codes_left"] == 8


async def test_a_wrong_password_or_unknown_email_never_reaches_the_code_step(
    http: TestClient, api: Api
) -> None:
    await enabled(http, api, "gil")
    for email, password in [
        ("gil@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
    ]:
        status, problem, _ = await post(http, "/auth/login", {"email": email, "password": password})
        assert (status, problem["code"]) == (401, "unauthorized")
        assert "mfa_token" not in problem


async def test_repeated_wrong_codes_lock_every_code_out(http: TestClient, api: Api) -> None:
    _, totp, codes = await enabled(http, api, "hal")
    mfa_token = await first_step(http, "hal")

    for _ in range(4):
        status, problem, _ = await second_step(http, mfa_token, totp.wrong())
        assert (status, problem["code"]) == (401, "unauthorized")
    status, problem, headers = await second_step(http, mfa_token, "not-a-recovery-code")

    assert (status, problem["code"]) == (429, "rate_limited"), problem
    assert 0 < int(headers["Retry-After"]) <= 900
    assert problem["details"]["retry_after_ms"] > 0
    # Locked: the right code and a recovery code are refused too, and not used up.
    for code in (totp.code(1), codes[0]):
        status, problem, headers = await second_step(http, await first_step(http, "hal"), code)
        assert (status, problem["code"]) == (429, "rate_limited")
        assert int(headers["Retry-After"]) > 0


async def test_wrong_codes_are_counted_per_user(http: TestClient, api: Api) -> None:
    _, ivy_totp, _ = await enabled(http, api, "ivy")
    _, _, jo_codes = await enabled(http, api, "jo")
    for _ in range(5):
        await second_step(http, await first_step(http, "jo"), ivy_totp.wrong())

    status, result, _ = await second_step(http, await first_step(http, "ivy"), ivy_totp.code(1))
    assert status == 200, result
    status, problem, _ = await second_step(http, await first_step(http, "jo"), jo_codes[0])
    assert status == 429, problem


async def test_an_expired_or_forged_mfa_token_is_401(
    http: TestClient, api: Api, settings: Settings
) -> None:
    account, totp, _ = await enabled(http, api, "kim")
    user_id = account["user"]["id"]
    expired = TokenIssuer(settings).issue_mfa(user_id, -1, "")  # issued over its TTL ago
    forged = jwt.encode(
        {"sub": user_id, "typ": "mfa", "aud": "hub:login-mfa", "iat": 0, "exp": 2**40},
        "not-the-hubs-secret-but-long-enough-for-hs256",
        algorithm="HS256",
    )

    for mfa_token in (expired, forged, account["access_token"], "nonsense"):
        status, problem, _ = await second_step(http, mfa_token, totp.code(1))
        assert (status, problem["code"]) == (401, "unauthorized"), (mfa_token, problem)
    # The code was not used up by those: a valid mfa_token takes it.
    status, _, _ = await second_step(http, await first_step(http, "kim"), totp.code(1))
    assert status == 200


async def test_an_mfa_token_from_before_a_password_change_is_401(
    http: TestClient, api: Api
) -> None:
    """Whoever got the old password through step one cannot finish with it
    once the owner changed it, even within the token's 5 minutes."""
    account, totp, _ = await enabled(http, api, "pat")
    stale = await first_step(http, "pat")
    new_password = "a new and longer passphrase"
    status, body, _ = await post(
        http,
        "/auth/password",
        {"current_password": PASSWORD, "new_password": new_password},
        account,
    )
    assert status == 204, body

    status, problem, _ = await second_step(http, stale, totp.code(1))

    assert (status, problem["code"]) == (401, "unauthorized"), problem
    assert "password changed" in problem["detail"]
    # The refused attempt did not use the code up: a fresh login takes it.
    status, _, _ = await second_step(
        http, await first_step(http, "pat", new_password), totp.code(1)
    )
    assert status == 200


@pytest.mark.hub_settings(mfa_token_ttl_s=60)
async def test_the_mfa_token_lasts_the_configured_ttl(http: TestClient, api: Api) -> None:
    await enabled(http, api, "lee")

    claims = jwt.decode(await first_step(http, "lee"), options={"verify_signature": False})

    assert claims["exp"] - claims["iat"] == 60
    assert claims["typ"] == "mfa" and "sid" not in claims


# --- disable -----------------------------------------------------------------------------------


async def test_disable_takes_a_code_then_the_password_alone_logs_in(
    http: TestClient, api: Api
) -> None:
    account, totp, codes = await enabled(http, api, "max")

    status, problem, _ = await post(http, "/auth/2fa/disable", {"code": totp.wrong()}, account)
    assert (status, problem["code"]) == (422, "validation_failed")
    assert [f["field"] for f in problem["details"]["fields"]] == ["code"]
    status, _, _ = await post(http, "/auth/2fa/disable", {"code": codes[9]}, account)
    assert status == 204

    status, result, _ = await post(
        http, "/auth/login", {"email": "max@example.com", "password": PASSWORD}
    )
    assert status == 200, result
    _, state, _ = await http_get(http, "/auth/2fa", account)
    assert state == {"enabled": False, "pending": False, "recovery_codes_left": 0}
    status, problem, _ = await post(http, "/auth/2fa/disable", {"code": totp.code(1)}, account)
    assert (status, problem["code"]) == (409, "conflict")
    # Enabling again takes a new secret and makes new recovery codes.
    again = await set_up(http, account)
    assert again.totp.secret != totp.totp.secret
    status, body, _ = await post(http, "/auth/2fa/enable", {"code": again.code()}, account)
    assert status == 200 and not set(body["recovery_codes"]) & set(codes)
