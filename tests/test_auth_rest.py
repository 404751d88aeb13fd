"""Auth, users, blocks and admin over REST: a real hub on a real socket, real SQLite."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient

from hub.config import Settings
from hub.tokens import TokenIssuer
from users import Api

API = "/api/v1"
PASSWORD = "correct horse"
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
PUBLIC_FIELDS = {"id", "display_name", "role", "headline", "avatar_url", "skills", "created_at"}
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "code"}
ROOT = Path(__file__).resolve().parent.parent


# --- helpers -------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def expect_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    body_text = await response.text()
    assert response.status == status, body_text
    assert response.content_type == "application/problem+json", body_text
    body = await response.json(content_type=None)
    assert PROBLEM_FIELDS <= body.keys(), body
    assert body["status"] == status and body["code"] == code, body
    assert body["instance"] == response.url.path
    return body


def field_names(problem: dict[str, Any]) -> set[str]:
    return {entry["field"] for entry in problem["details"]["fields"]}


async def register(
    http: TestClient,
    email: str,
    password: str = PASSWORD,
    display_name: str = "Ann",
    role: str = "client",
) -> Any:
    return await http.post(
        f"{API}/auth/register",
        json={
            "email": email,
            "password": password,
            "display_name": display_name,
            "role": role,
        },
    )


async def login(http: TestClient, email: str, password: str = PASSWORD) -> Any:
    return await http.post(f"{API}/auth/login", json={"email": email, "password": password})


async def refresh(http: TestClient, token: str) -> Any:
    return await http.post(f"{API}/auth/refresh", json={"refresh_token": token})


async def me(http: TestClient, token: str) -> Any:
    return await http.get(f"{API}/auth/me", headers=bearer(token))


async def run_cli(settings: Settings, cwd: Path, *args: str) -> tuple[int, str, str]:
    """``python -m hub <args>`` in a child process that reads the test's HUB_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
    assert settings.jwt_secret is not None
    env.update(
        {
            "HUB_DATABASE_URL": settings.database_url,
            "HUB_JWT_SECRET": settings.jwt_secret.get_secret_value(),
            "HUB_DATA_DIR": str(settings.data_dir),
            "HUB_PASSWORD_HASH_TIME_COST": "1",
            "HUB_PASSWORD_HASH_MEMORY_KIB": "1024",
            "PYTHONPATH": str(ROOT),
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"hub {' '.join(args)} did not finish in 30 s") from None
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# --- register ------------------------------------------------------------------------------


async def test_register_returns_the_account_and_a_token_pair(
    http: TestClient, settings: Settings
) -> None:
    response = await register(
        http, "  Ann.Smith@Example.COM ", display_name=" Ann ", role="freelancer"
    )
    assert response.status == 201, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert {"user", "access_token", "refresh_token", "expires_in"} <= body.keys()
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert isinstance(body["refresh_token"], str) and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert body["expires_in"] == settings.access_token_ttl_s
    user = body["user"]
    assert user["email"] == "ann.smith@example.com"
    assert user["display_name"] == "Ann"
    assert user["role"] == "freelancer"
    assert user["headline"] == "" and user["avatar_url"] is None and user["skills"] == []
    assert isinstance(user["id"], str) and user["id"]
    assert ISO_MS_Z.match(user["created_at"]), user["created_at"]
    assert "password" not in str(body) and "password_hash" not in user

    mine = await me(http, body["access_token"])
    assert mine.status == 200
    assert await mine.json() == user


async def test_two_registrations_get_distinct_ids(api: Api) -> None:
    first, second = await api.register(), await api.register()
    assert first["user"]["id"] != second["user"]["id"]


async def test_duplicate_email_is_409_conflict_whatever_the_case(http: TestClient) -> None:
    assert (await register(http, "dup@example.com")).status == 201
    await expect_problem(await register(http, "dup@example.com"), 409, "conflict")
    await expect_problem(
        await register(http, "DUP@Example.com", display_name="Other"), 409, "conflict"
    )
    # The first account is untouched.
    assert (await login(http, "dup@example.com")).status == 200


async def test_admin_role_cannot_be_self_registered(http: TestClient) -> None:
    problem = await expect_problem(
        await register(http, "boss@example.com", role="admin"), 422, "validation_failed"
    )
    assert "role" in field_names(problem)
    await expect_problem(await login(http, "boss@example.com"), 401, "unauthorized")


@pytest.mark.parametrize("password", ["", "1234567", "short"])
async def test_short_password_is_refused(http: TestClient, password: str) -> None:
    problem = await expect_problem(
        await register(http, "pw@example.com", password=password), 422, "validation_failed"
    )
    assert field_names(problem) == {"password"}


async def test_eight_character_password_is_enough(http: TestClient) -> None:
    assert (await register(http, "pw8@example.com", password="12345678")).status == 201
    assert (await login(http, "pw8@example.com", "12345678")).status == 200


@pytest.mark.parametrize("email", ["not-an-email", "@example.com", "a@b", "a b@example.com"])
async def test_invalid_email_is_refused(http: TestClient, email: str) -> None:
    problem = await expect_problem(await register(http, email), 422, "validation_failed")
    assert "email" in field_names(problem)


# --- login ---------------------------------------------------------------------------------


async def test_login_returns_the_same_shape(http: TestClient, api: Api) -> None:
    account = await api.register("lee")
    response = await login(http, "LEE@example.com")
    assert response.status == 200
    body = await response.json()
    assert {"user", "access_token", "refresh_token", "expires_in"} <= body.keys()
    assert body["user"] == account["user"]
    assert body["refresh_token"] != account["refresh_token"]
    assert (await me(http, body["access_token"])).status == 200


async def test_wrong_password_and_unknown_email_are_401_alike(http: TestClient, api: Api) -> None:
    await api.register("kim")
    wrong = await expect_problem(
        await login(http, "kim@example.com", "not the password"), 401, "unauthorized"
    )
    unknown = await expect_problem(await login(http, "nobody@example.com"), 401, "unauthorized")
    # The answer does not tell which of the two was wrong.
    assert wrong["detail"] == unknown["detail"]


# --- /auth/me and access tokens ------------------------------------------------------------


async def test_me_needs_a_token(http: TestClient) -> None:
    await expect_problem(await http.get(f"{API}/auth/me"), 401, "unauthorized")


async def test_me_refuses_an_expired_token(http: TestClient, api: Api, settings: Settings) -> None:
    account = await api.register()
    user = account["user"]
    issuer = TokenIssuer(settings)
    session_id = issuer.verify(account["access_token"]).session_id  # the registration's
    expired = issuer.issue(user["id"], user["role"], session_id, ttl_s=-10)
    await expect_problem(await me(http, expired), 401, "unauthorized")
    # The same issuer with a live ttl is accepted: only the expiry was wrong.
    live = issuer.issue(user["id"], user["role"], session_id)
    assert (await me(http, live)).status == 200


def _foreign_token(user_id: str) -> str:
    return jwt.encode(
        {"sub": user_id, "role": "admin", "typ": "access", "iat": 0, "exp": 2**31},
        "some-other-secret-that-is-long-enough-0123456789",
        algorithm="HS256",
    )


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "three-dots",
        "other-secret",
        "alg-none",
        "refresh-token",
        "basic-scheme",
        "no-scheme",
        "empty-bearer",
    ],
)
async def test_me_refuses_bad_tokens(http: TestClient, api: Api, kind: str) -> None:
    account = await api.register()
    user_id = account["user"]["id"]
    header = {
        "garbage": "Bearer garbage",
        "three-dots": "Bearer a.b.c",
        "other-secret": f"Bearer {_foreign_token(user_id)}",
        "alg-none": "Bearer "
        + jwt.encode(
            {"sub": user_id, "typ": "access", "iat": 0, "exp": 2**31}, None, algorithm="none"
        ),
        "refresh-token": f"Bearer {account['refresh_token']}",
        "basic-scheme": f"Basic {account['access_token']}",
        "no-scheme": account["access_token"],
        "empty-bearer": "Bearer ",
    }[kind]
    response = await http.get(f"{API}/auth/me", headers={"Authorization": header})
    await expect_problem(response, 401, "unauthorized")


# --- refresh rotation and logout -----------------------------------------------------------


async def test_refresh_rotates_the_pair(http: TestClient, api: Api) -> None:
    account = await api.register()
    response = await refresh(http, account["refresh_token"])
    assert response.status == 200, await response.text()
    rotated = await response.json()
    assert {"user", "access_token", "refresh_token", "expires_in"} <= rotated.keys()
    assert rotated["refresh_token"] != account["refresh_token"]
    assert rotated["user"]["id"] == account["user"]["id"]
    assert (await me(http, rotated["access_token"])).status == 200
    # The new refresh token rotates again.
    again = await refresh(http, rotated["refresh_token"])
    assert again.status == 200


async def test_reusing_a_rotated_refresh_token_revokes_its_family(
    http: TestClient, api: Api
) -> None:
    account = await api.register("reuse")
    other_login = await (await login(http, "reuse@example.com")).json()

    first = await (await refresh(http, account["refresh_token"])).json()
    second_response = await refresh(http, first["refresh_token"])
    assert second_response.status == 200
    newest = (await second_response.json())["refresh_token"]

    # The first token was already rotated: presenting it again is a reuse.
    await expect_problem(await refresh(http, account["refresh_token"]), 401, "unauthorized")
    # ...which revoked the whole family, including its newest, never-used token.
    await expect_problem(await refresh(http, newest), 401, "unauthorized")
    await expect_problem(await refresh(http, first["refresh_token"]), 401, "unauthorized")

    # A different login of the same user is another family, and keeps working.
    response = await refresh(http, other_login["refresh_token"])
    assert response.status == 200, await response.text()


async def test_refresh_after_logout_is_401(http: TestClient, api: Api) -> None:
    account = await api.register()
    rotated = await (await refresh(http, account["refresh_token"])).json()
    response = await http.post(
        f"{API}/auth/logout", json={"refresh_token": rotated["refresh_token"]}
    )
    assert response.status == 204
    assert await response.read() == b""
    await expect_problem(await refresh(http, rotated["refresh_token"]), 401, "unauthorized")


async def test_logout_revokes_only_that_login(http: TestClient, api: Api) -> None:
    account = await api.register("two")
    other = await (await login(http, "two@example.com")).json()
    response = await http.post(
        f"{API}/auth/logout", json={"refresh_token": account["refresh_token"]}
    )
    assert response.status == 204
    assert (await refresh(http, other["refresh_token"])).status == 200


async def test_logout_with_an_unknown_token_is_harmless(http: TestClient) -> None:
    response = await http.post(f"{API}/auth/logout", json={"refresh_token": "never-issued"})
    assert response.status == 204


@pytest.mark.parametrize("token", ["never-issued", "x" * 512])
async def test_refresh_with_an_unknown_token_is_401(http: TestClient, token: str) -> None:
    await expect_problem(await refresh(http, token), 401, "unauthorized")


# --- public profiles -----------------------------------------------------------------------


async def test_public_profile_has_exactly_the_contract_fields(http: TestClient, api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    response = await http.get(f"{API}/users/{alice['user']['id']}", headers=api.auth(bob))
    assert response.status == 200
    profile = await response.json()
    assert set(profile) == PUBLIC_FIELDS
    assert profile["id"] == alice["user"]["id"]
    assert profile["display_name"] == "alice"
    assert profile["role"] == "client"
    assert "alice@example.com" not in str(profile)


async def test_public_profile_of_an_unknown_id_is_404(http: TestClient, api: Api) -> None:
    account = await api.register()
    await expect_problem(
        await http.get(f"{API}/users/no-such-user", headers=api.auth(account)), 404, "not_found"
    )


async def test_public_profile_needs_a_token(http: TestClient, api: Api) -> None:
    account = await api.register()
    await expect_problem(
        await http.get(f"{API}/users/{account['user']['id']}"), 401, "unauthorized"
    )


# --- PATCH /users/me -----------------------------------------------------------------------


async def test_update_profile_changes_only_the_fields_sent(http: TestClient, api: Api) -> None:
    account = await api.register("pat")
    response = await http.patch(
        f"{API}/users/me",
        headers=api.auth(account),
        json={
            "display_name": "  Pat Q  ",
            "headline": "Rust and Go",
            "skills": ["rust", " go "],
            "avatar_url": "https://cdn.example/pat.png",
        },
    )
    assert response.status == 200, await response.text()
    updated = await response.json()
    assert updated["display_name"] == "Pat Q"
    assert updated["headline"] == "Rust and Go"
    assert updated["skills"] == ["rust", "go"]
    assert updated["avatar_url"] == "https://cdn.example/pat.png"
    assert updated["email"] == "pat@example.com"
    assert updated["created_at"] == account["user"]["created_at"]
    assert updated["updated_at"] >= account["user"]["updated_at"]

    response = await http.patch(
        f"{API}/users/me", headers=api.auth(account), json={"headline": "Only Go"}
    )
    assert response.status == 200
    partial = await response.json()
    assert partial["headline"] == "Only Go"
    assert partial["display_name"] == "Pat Q" and partial["skills"] == ["rust", "go"]
    assert partial["avatar_url"] == "https://cdn.example/pat.png"

    # Persisted, and visible in the public profile.
    assert await (await me(http, account["access_token"])).json() == partial
    other = await api.register()
    public = await (
        await http.get(f"{API}/users/{account['user']['id']}", headers=api.auth(other))
    ).json()
    assert public["headline"] == "Only Go" and public["display_name"] == "Pat Q"


async def test_empty_update_changes_nothing(http: TestClient, api: Api) -> None:
    account = await api.register()
    response = await http.patch(f"{API}/users/me", headers=api.auth(account), json={})
    assert response.status == 200
    body = await response.json()
    assert body["display_name"] == account["user"]["display_name"]


async def test_avatar_url_null_clears_it(http: TestClient, api: Api) -> None:
    account = await api.register()
    headers = api.auth(account)
    await http.patch(f"{API}/users/me", headers=headers, json={"avatar_url": "http://x.example/a"})
    response = await http.patch(f"{API}/users/me", headers=headers, json={"avatar_url": None})
    assert response.status == 200
    assert (await response.json())["avatar_url"] is None
    assert (await (await me(http, account["access_token"])).json())["avatar_url"] is None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"display_name": None}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"headline": None}, "headline"),
        ({"skills": None}, "skills"),
        ({"avatar_url": "ftp://files.example/a.png"}, "avatar_url"),
        ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
        ({"avatar_url": "cdn.example/a.png"}, "avatar_url"),
        ({"email": "new@example.com"}, "email"),
        ({"role": "admin"}, "role"),
    ],
)
async def test_bad_profile_updates_are_422(
    http: TestClient, api: Api, change: dict[str, Any], field: str
) -> None:
    account = await api.register()
    response = await http.patch(f"{API}/users/me", headers=api.auth(account), json=change)
    problem = await expect_problem(response, 422, "validation_failed")
    assert field in field_names(problem)
    # Nothing changed.
    assert await (await me(http, account["access_token"])).json() == account["user"]


# --- blocks --------------------------------------------------------------------------------


async def test_block_and_unblock(http: TestClient, api: Api) -> None:
    alice, bob = await api.register(), await api.register()
    headers, bob_id = api.auth(alice), bob["user"]["id"]

    response = await http.post(f"{API}/users/{bob_id}/block", headers=headers)
    assert response.status == 200, await response.text()
    entry = await response.json()
    assert entry["user_id"] == bob_id and ISO_MS_Z.match(entry["created_at"])

    again = await http.post(f"{API}/users/{bob_id}/block", headers=headers)
    assert again.status == 200

    listed = await (await http.get(f"{API}/users/me/blocks", headers=headers)).json()
    assert [item["user_id"] for item in listed["items"]] == [bob_id]
    assert listed["next_cursor"] is None
    # Blocks are one-sided: bob's list is empty.
    bobs = await (await http.get(f"{API}/users/me/blocks", headers=api.auth(bob))).json()
    assert bobs["items"] == []

    response = await http.delete(f"{API}/users/{bob_id}/block", headers=headers)
    assert response.status == 204
    listed = await (await http.get(f"{API}/users/me/blocks", headers=headers)).json()
    assert listed["items"] == []
    await expect_problem(
        await http.delete(f"{API}/users/{bob_id}/block", headers=headers), 404, "not_found"
    )


async def test_blocking_yourself_is_422(http: TestClient, api: Api) -> None:
    account = await api.register()
    response = await http.post(
        f"{API}/users/{account['user']['id']}/block", headers=api.auth(account)
    )
    await expect_problem(response, 422, "validation_failed")


async def test_blocking_an_unknown_user_is_404(http: TestClient, api: Api) -> None:
    account = await api.register()
    response = await http.post(f"{API}/users/no-such-user/block", headers=api.auth(account))
    await expect_problem(response, 404, "not_found")
    listed = await (await http.get(f"{API}/users/me/blocks", headers=api.auth(account))).json()
    assert listed["items"] == []


async def test_blocks_need_a_token(http: TestClient, api: Api) -> None:
    bob = await api.register()
    await expect_problem(
        await http.post(f"{API}/users/{bob['user']['id']}/block"), 401, "unauthorized"
    )
    await expect_problem(await http.get(f"{API}/users/me/blocks"), 401, "unauthorized")


# --- admin ---------------------------------------------------------------------------------


async def test_role_change_by_a_non_admin_is_403(http: TestClient, api: Api) -> None:
    client, target = await api.register(), await api.register()
    response = await http.patch(
        f"{API}/admin/users/{target['user']['id']}",
        headers=api.auth(client),
        json={"role": "freelancer"},
    )
    await expect_problem(response, 403, "forbidden")
    # Not even on themselves.
    response = await http.patch(
        f"{API}/admin/users/{client['user']['id']}",
        headers=api.auth(client),
        json={"role": "admin"},
    )
    await expect_problem(response, 403, "forbidden")
    assert (await (await me(http, client["access_token"])).json())["role"] == "client"
    assert (await (await me(http, target["access_token"])).json())["role"] == "client"


async def test_role_change_needs_a_token(http: TestClient, api: Api) -> None:
    target = await api.register()
    response = await http.patch(
        f"{API}/admin/users/{target['user']['id']}", json={"role": "freelancer"}
    )
    await expect_problem(response, 401, "unauthorized")


@pytest.mark.slow  # runs hub create-admin in a subprocess
async def test_cli_admin_changes_roles_while_the_hub_runs(
    http: TestClient,
    api: Api,
    settings: Settings,
    tmp_path: Path,
) -> None:
    target = await api.register("target")
    code, out, err = await run_cli(
        settings,
        tmp_path,
        "create-admin",
        "--email",
        "Root@Example.com",
        "--password",
        "admin password",
    )
    assert code == 0, err
    assert "created" in out, out

    response = await login(http, "root@example.com", "admin password")
    assert response.status == 200, await response.text()
    admin = await response.json()
    assert admin["user"]["role"] == "admin"

    target_id = target["user"]["id"]
    response = await http.patch(
        f"{API}/admin/users/{target_id}", headers=api.auth(admin), json={"role": "freelancer"}
    )
    assert response.status == 200, await response.text()
    changed = await response.json()
    assert changed["id"] == target_id and changed["role"] == "freelancer"
    assert (await (await me(http, target["access_token"])).json())["role"] == "freelancer"

    await expect_problem(
        await http.patch(
            f"{API}/admin/users/no-such-user", headers=api.auth(admin), json={"role": "client"}
        ),
        404,
        "not_found",
    )
    problem = await expect_problem(
        await http.patch(
            f"{API}/admin/users/{target_id}", headers=api.auth(admin), json={"role": "superuser"}
        ),
        422,
        "validation_failed",
    )
    assert "role" in field_names(problem)

    # An admin demoted by another admin loses access at once, whatever their token says.
    response = await http.patch(
        f"{API}/admin/users/{target_id}", headers=api.auth(admin), json={"role": "admin"}
    )
    assert response.status == 200
    response = await http.patch(
        f"{API}/admin/users/{admin['user']['id']}",
        headers=api.auth(target),
        json={"role": "client"},
    )
    assert response.status == 200
    response = await http.patch(
        f"{API}/admin/users/{target_id}", headers=api.auth(admin), json={"role": "client"}
    )
    await expect_problem(response, 403, "forbidden")


@pytest.mark.slow  # runs hub create-admin in a subprocess
async def test_cli_create_admin_promotes_an_existing_user(
    http: TestClient,
    api: Api,
    settings: Settings,
    tmp_path: Path,
) -> None:
    account = await api.register("promo")
    victim = await api.register()
    code, out, err = await run_cli(
        settings,
        tmp_path,
        "create-admin",
        "--email",
        "PROMO@example.com",
        "--password",
        "ignored pw",
    )
    assert code == 0, err
    assert "promoted" in out, out
    assert account["user"]["id"] in out

    mine = await (await me(http, account["access_token"])).json()
    assert mine["role"] == "admin" and mine["id"] == account["user"]["id"]
    # Still the same account and password.
    assert (await login(http, "promo@example.com")).status == 200
    # Stored role counts, not the (client) role in the old token.
    response = await http.patch(
        f"{API}/admin/users/{victim['user']['id']}",
        headers=api.auth(account),
        json={"role": "freelancer"},
    )
    assert response.status == 200, await response.text()


@pytest.mark.slow  # runs hub create-admin in a subprocess
async def test_cli_create_admin_refuses_a_short_password(
    settings: Settings, tmp_path: Path, server: Any
) -> None:
    code, _, err = await run_cli(
        settings, tmp_path, "create-admin", "--email", "x@example.com", "--password", "short"
    )
    assert code == 2
    assert "8" in err
