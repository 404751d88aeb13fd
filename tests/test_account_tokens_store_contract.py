"""Single-use account tokens (issue 19: password reset, email verification),
one behaviour on every engine: each test runs on SQLite and on MongoDB (the
mongomock double unless HUB_TEST_MONGODB_URL is set)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from engines import add_users
from storage.interfaces import Store
from storage.records import AccountTokenRecord, UserRecord

T0 = "2024-05-01T10:00:00.000Z"
T1 = "2024-05-01T10:30:00.000Z"
T2 = "2024-05-01T11:00:00.000Z"
T3 = "2024-05-01T12:00:00.000Z"


@pytest.fixture
async def users(store: Store) -> Store:
    await add_users(store, "u1", "u2")
    return store


def token(
    token_hash: str = "h1", user_id: str = "u1", purpose: str = "password_reset", expires: str = T2
) -> AccountTokenRecord:
    return AccountTokenRecord(
        token_hash=token_hash,
        purpose=purpose,  # type: ignore[arg-type]
        user_id=user_id,
        email=f"{user_id}@example.com",
        created_at=T0,
        expires_at=expires,
    )


async def test_a_token_is_consumed_once_before_it_expires(users: Store) -> None:
    await users.account_tokens.create(token())

    used = await users.account_tokens.consume("h1", "password_reset", T1)

    assert used == dataclasses.replace(token(), used_at=T1)
    assert await users.account_tokens.consume("h1", "password_reset", T1) is None  # reused


async def test_unknown_expired_and_other_purpose_tokens_are_refused(users: Store) -> None:
    await users.account_tokens.create(token("h1"))
    await users.account_tokens.create(token("h2", purpose="email_verification"))

    assert await users.account_tokens.consume("nope", "password_reset", T1) is None
    assert await users.account_tokens.consume("h1", "email_verification", T1) is None
    assert await users.account_tokens.consume("h2", "password_reset", T1) is None
    assert await users.account_tokens.consume("h1", "password_reset", T2) is None  # at expiry
    assert await users.account_tokens.consume("h1", "password_reset", T3) is None
    verified = await users.account_tokens.consume("h2", "email_verification", T1)
    assert verified is not None and verified.purpose == "email_verification"


async def test_concurrent_uses_of_one_token_let_exactly_one_through(users: Store) -> None:
    await users.account_tokens.create(token())

    results = await asyncio.gather(
        *(users.account_tokens.consume("h1", "password_reset", T1) for _ in range(8))
    )

    assert sum(r is not None for r in results) == 1


async def test_discard_voids_the_users_unused_tokens_of_that_purpose_only(users: Store) -> None:
    await users.account_tokens.create(token("a"))
    await users.account_tokens.create(token("b"))
    await users.account_tokens.create(token("c", purpose="email_verification"))
    await users.account_tokens.create(token("d", user_id="u2"))
    assert await users.account_tokens.consume("a", "password_reset", T0) is not None

    assert await users.account_tokens.discard("u1", "password_reset", T1) == 1  # b

    assert await users.account_tokens.consume("b", "password_reset", T1) is None
    assert await users.account_tokens.consume("c", "email_verification", T1) is not None
    assert await users.account_tokens.consume("d", "password_reset", T1) is not None


async def test_purge_deletes_what_expired_before(users: Store) -> None:
    await users.account_tokens.create(token("old", expires=T1))
    await users.account_tokens.create(token("new", expires=T3))

    assert await users.account_tokens.purge(T2) == 1

    assert await users.account_tokens.consume("old", "password_reset", T0) is None
    assert await users.account_tokens.consume("new", "password_reset", T0) is not None


async def test_users_start_unverified_and_keep_the_flag(users: Store) -> None:
    user = await users.users.get("u1")
    assert user is not None and user.email_verified is False

    updated = await users.users.update("u1", {"email_verified": True})

    assert updated is not None and updated.email_verified is True
    assert (await users.users.get("u1")) == dataclasses.replace(user, email_verified=True)
    assert (await users.users.get("u2")).email_verified is False  # type: ignore[union-attr]
    assert isinstance(updated, UserRecord)
