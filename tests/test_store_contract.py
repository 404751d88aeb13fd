"""One behaviour, every engine: each test runs on SQLite and on MongoDB."""

from __future__ import annotations

import pytest

from storage.errors import DuplicateError
from storage.interfaces import Store
from storage.records import BlockRecord, RefreshTokenRecord, UserRecord

T0 = "2024-05-01T10:00:00+00:00"
T1 = "2024-05-01T11:00:00+00:00"
T2 = "2024-05-01T12:00:00+00:00"


def user(user_id: str = "u1", email: str = "ada@example.com", **extra: object) -> UserRecord:
    return UserRecord(
        id=user_id,
        email=email,
        password_hash="hash",
        display_name="Ada",
        role="freelancer",
        created_at=T0,
        updated_at=T0,
        **extra,  # type: ignore[arg-type]
    )


def token(token_hash: str, family_id: str = "f1") -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=token_hash, family_id=family_id, user_id="u1", created_at=T0, expires_at=T2
    )


async def test_user_create_then_get_returns_every_field(store: Store) -> None:
    created = user(headline="Compilers", avatar_url="https://x/a.png", skills=["rust", "c"])
    await store.users.create(created)

    assert await store.users.get("u1") == created
    assert await store.users.get("missing") is None


async def test_get_by_email(store: Store) -> None:
    await store.users.create(user())

    found = await store.users.get_by_email("ada@example.com")

    assert found is not None and found.id == "u1"
    assert await store.users.get_by_email("nobody@example.com") is None


async def test_get_many_returns_only_existing_users(store: Store) -> None:
    await store.users.create(user("u1", "a@example.com"))
    await store.users.create(user("u2", "b@example.com"))
    await store.users.create(user("u3", "c@example.com"))

    found = await store.users.get_many(["u1", "u3", "ghost"])

    assert sorted(u.id for u in found) == ["u1", "u3"]
    assert await store.users.get_many([]) == []


async def test_duplicate_email_raises_duplicate_error(store: Store) -> None:
    await store.users.create(user("u1", "same@example.com"))

    with pytest.raises(DuplicateError):
        await store.users.create(user("u2", "same@example.com"))
    assert await store.users.get("u2") is None


async def test_update_returns_new_record_and_persists_skills(store: Store) -> None:
    await store.users.create(user(skills=["go"]))

    updated = await store.users.update(
        "u1", {"display_name": "Ada L.", "skills": ["python", "sql"], "updated_at": T1}
    )

    assert updated is not None
    assert (updated.display_name, updated.skills, updated.updated_at) == (
        "Ada L.",
        ["python", "sql"],
        T1,
    )
    assert await store.users.get("u1") == updated


async def test_set_last_seen_of_many_users_at_once(store: Store) -> None:
    for n in (1, 2, 3):
        await store.users.create(user(f"u{n}", f"u{n}@example.com"))

    await store.users.set_last_seen([("u1", T1), ("u3", T0), ("ghost", T1)])
    await store.users.set_last_seen([])

    seen = {u.id: u.last_seen_at for u in await store.users.get_many(["u1", "u2", "u3"])}
    assert seen == {"u1": T1, "u2": None, "u3": T0}


async def test_update_of_missing_user_returns_none(store: Store) -> None:
    assert await store.users.update("ghost", {"headline": "x"}) is None


@pytest.mark.parametrize("field", ["id", "nickname"])
async def test_update_rejects_id_and_unknown_fields(store: Store, field: str) -> None:
    await store.users.create(user())

    with pytest.raises(ValueError):
        await store.users.update("u1", {field: "x"})
    assert await store.users.get("u1") == user()


async def test_refresh_token_create_and_get(store: Store) -> None:
    await store.users.create(user())
    await store.refresh_tokens.create(token("h1"))

    assert await store.refresh_tokens.get("h1") == token("h1")
    assert await store.refresh_tokens.get("nope") is None


async def test_mark_used_succeeds_only_once(store: Store) -> None:
    await store.users.create(user())
    await store.refresh_tokens.create(token("h1"))

    assert await store.refresh_tokens.mark_used("h1", T1) is True
    assert await store.refresh_tokens.mark_used("h1", T2) is False
    stored = await store.refresh_tokens.get("h1")
    assert stored is not None and stored.used_at == T1
    assert await store.refresh_tokens.mark_used("missing", T1) is False


async def test_revoke_family_revokes_only_that_family(store: Store) -> None:
    await store.users.create(user())
    for token_hash, family in [("a1", "fa"), ("a2", "fa"), ("b1", "fb")]:
        await store.refresh_tokens.create(token(token_hash, family))

    await store.refresh_tokens.revoke_family("fa", T1)
    await store.refresh_tokens.revoke_family("fa", T2)  # the first revocation time stands

    tokens = {h: await store.refresh_tokens.get(h) for h in ("a1", "a2", "b1")}
    assert {h: t.revoked_at if t else "missing" for h, t in tokens.items()} == {
        "a1": T1,
        "a2": T1,
        "b1": None,
    }


async def test_blocks_add_is_idempotent_and_checks_both_directions(store: Store) -> None:
    for user_id in ("u1", "u2", "u3"):
        await store.users.create(user(user_id, f"{user_id}@example.com"))

    await store.blocks.add(BlockRecord("u1", "u2", T0))
    await store.blocks.add(BlockRecord("u1", "u2", T1))

    assert await store.blocks.list_by_blocker("u1") == [BlockRecord("u1", "u2", T0)]
    assert await store.blocks.exists_between("u1", "u2") is True
    assert await store.blocks.exists_between("u2", "u1") is True
    assert await store.blocks.exists_between("u1", "u3") is False


async def test_remove_returns_true_then_false(store: Store) -> None:
    for user_id in ("u1", "u2"):
        await store.users.create(user(user_id, f"{user_id}@example.com"))
    await store.blocks.add(BlockRecord("u1", "u2", T0))

    assert await store.blocks.remove("u1", "u2") is True
    assert await store.blocks.remove("u1", "u2") is False
    assert await store.blocks.exists_between("u1", "u2") is False


async def test_list_by_blocker_is_ordered_by_created_at(store: Store) -> None:
    for user_id in ("u1", "u2", "u3", "u4"):
        await store.users.create(user(user_id, f"{user_id}@example.com"))
    await store.blocks.add(BlockRecord("u1", "u3", T2))
    await store.blocks.add(BlockRecord("u1", "u2", T0))
    await store.blocks.add(BlockRecord("u4", "u1", T1))

    blocks = await store.blocks.list_by_blocker("u1")

    assert blocks == [BlockRecord("u1", "u2", T0), BlockRecord("u1", "u3", T2)]
    assert await store.blocks.list_by_blocker("u2") == []


async def test_ping(store: Store) -> None:
    await store.ping()
