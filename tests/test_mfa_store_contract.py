"""Two-factor state (issue 19), one behaviour on every engine: each test runs on
SQLite and on MongoDB (the mongomock double unless HUB_TEST_MONGODB_URL is set)."""

from __future__ import annotations

import asyncio

import pytest

from engines import add_users
from storage.interfaces import Store
from storage.records import MfaRecord

T0 = "2024-05-01T10:00:00.000Z"
T1 = "2024-05-01T11:00:00.000Z"
T2 = "2024-05-01T12:00:00.000Z"
T3 = "2024-05-01T13:00:00.000Z"
CODES = ["h1", "h2", "h3"]


@pytest.fixture
async def users(store: Store) -> Store:
    await add_users(store, "u1", "u2")
    return store


async def enabled(store: Store, user_id: str = "u1", step: int = 100) -> None:
    assert await store.mfa.set_pending(user_id, "SECRET", T0)
    assert await store.mfa.enable(user_id, "SECRET", CODES, step, T1)


async def test_a_pending_secret_is_kept_and_replaced_until_enabled(users: Store) -> None:
    assert await users.mfa.get("u1") is None
    assert await users.mfa.set_pending("u1", "FIRST", T0)
    assert await users.mfa.get("u1") == MfaRecord(
        user_id="u1", updated_at=T0, pending_secret="FIRST"
    )
    assert await users.mfa.set_pending("u1", "SECOND", T1)

    assert not await users.mfa.enable("u1", "FIRST", CODES, 7, T2)  # no longer the pending one
    assert await users.mfa.enable("u1", "SECOND", CODES, 7, T2)

    assert await users.mfa.get("u1") == MfaRecord(
        user_id="u1",
        updated_at=T2,
        secret="SECOND",
        enabled_at=T2,
        recovery_codes=CODES,
        last_step=7,
    )
    assert not await users.mfa.set_pending("u1", "THIRD", T3)  # on: disable first
    assert not await users.mfa.enable("u1", "SECOND", CODES, 8, T3)
    assert (await users.mfa.get("u1")).secret == "SECOND"  # type: ignore[union-attr]
    assert await users.mfa.get("u2") is None


async def test_disable_forgets_everything_once(users: Store) -> None:
    assert not await users.mfa.disable("u1")
    await users.mfa.set_pending("u1", "SECRET", T0)
    assert not await users.mfa.disable("u1")  # only pending: 2FA was not on
    assert await users.mfa.enable("u1", "SECRET", CODES, 1, T1)

    assert await users.mfa.disable("u1")
    assert await users.mfa.get("u1") is None
    assert not await users.mfa.disable("u1")


async def test_a_step_is_accepted_only_after_the_last_one(users: Store) -> None:
    assert not await users.mfa.use_step("u1", 5, T0)  # no 2FA
    await enabled(users, step=100)

    assert not await users.mfa.use_step("u1", 100, T2)  # the enabling code's step
    assert await users.mfa.use_step("u1", 101, T2)
    assert not await users.mfa.use_step("u1", 101, T2)  # replayed
    assert not await users.mfa.use_step("u1", 99, T2)
    assert await users.mfa.use_step("u1", 103, T2)
    assert (await users.mfa.get("u1")).last_step == 103  # type: ignore[union-attr]


async def test_concurrent_uses_of_one_step_let_exactly_one_through(users: Store) -> None:
    await enabled(users, step=100)

    results = await asyncio.gather(*(users.mfa.use_step("u1", 101, T2) for _ in range(8)))

    assert sorted(results) == [False] * 7 + [True]


async def test_a_recovery_code_is_removed_by_exactly_one_use(users: Store) -> None:
    assert not await users.mfa.use_recovery_code("u1", "h1", T2)
    await enabled(users)

    results = await asyncio.gather(*(users.mfa.use_recovery_code("u1", "h2", T2) for _ in range(6)))

    assert sorted(results) == [False] * 5 + [True]
    assert not await users.mfa.use_recovery_code("u1", "nope", T2)
    assert sorted((await users.mfa.get("u1")).recovery_codes) == ["h1", "h3"]  # type: ignore[union-attr]
    assert await users.mfa.use_recovery_code("u1", "h1", T2)
    assert await users.mfa.use_recovery_code("u1", "h3", T2)
    assert (await users.mfa.get("u1")).recovery_codes == []  # type: ignore[union-attr]


async def test_the_last_allowed_failure_locks_and_counting_starts_again(users: Store) -> None:
    assert await users.mfa.record_failure("u1", 3, T3) is None  # no 2FA record
    await enabled(users)

    assert await users.mfa.record_failure("u1", 3, T3) is None
    assert await users.mfa.record_failure("u1", 3, T3) is None
    assert await users.mfa.record_failure("u1", 3, T3) == T3

    record = await users.mfa.get("u1")
    assert record is not None and record.failures == 0 and record.locked_until == T3
    # Locked: no code is accepted until then, whatever it is.
    assert not await users.mfa.use_step("u1", 200, T2)
    assert not await users.mfa.use_recovery_code("u1", "h1", T2)
    assert await users.mfa.use_step("u1", 200, T3)
    assert await users.mfa.use_recovery_code("u1", "h1", T3)


async def test_a_success_clears_the_failures(users: Store) -> None:
    await enabled(users)
    await users.mfa.record_failure("u1", 3, T3)
    await users.mfa.record_failure("u1", 3, T3)

    assert await users.mfa.use_step("u1", 101, T2)

    assert (await users.mfa.get("u1")).failures == 0  # type: ignore[union-attr]
    await users.mfa.record_failure("u1", 3, T3)
    assert await users.mfa.use_recovery_code("u1", "h1", T2)
    assert (await users.mfa.get("u1")).failures == 0  # type: ignore[union-attr]


async def test_concurrent_failures_lock_exactly_once(users: Store) -> None:
    await enabled(users)

    locks = await asyncio.gather(*(users.mfa.record_failure("u1", 5, T3) for _ in range(5)))

    assert locks.count(T3) == 1
    assert (await users.mfa.get("u1")).locked_until == T3  # type: ignore[union-attr]
