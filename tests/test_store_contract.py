"""One behaviour, every engine: each test runs on SQLite and on MongoDB."""

from __future__ import annotations

import sqlite3
import types
from dataclasses import fields, is_dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

import storage.records
from storage.errors import DuplicateError
from storage.interfaces import Store
from storage.mongo import codec as mongo_codec
from storage.records import BlockRecord, MovementRecord, RefreshTokenRecord, UserRecord
from storage.sqlite import codec as sqlite_codec

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


async def test_blockers_among_finds_who_blocked_a_user_in_one_call(store: Store) -> None:
    for user_id in ("u1", "u2", "u3", "u4"):
        await store.users.create(user(user_id, f"{user_id}@example.com"))
    await store.blocks.add(BlockRecord("u2", "u1", T0))
    await store.blocks.add(BlockRecord("u3", "u1", T1))
    await store.blocks.add(BlockRecord("u1", "u4", T2))  # the other way: not a blocker of u1

    assert await store.blocks.blockers_among("u1", ["u2", "u3", "u4"]) == {"u2", "u3"}
    assert await store.blocks.blockers_among("u1", ["u4"]) == set()
    assert await store.blocks.blockers_among("u4", ["u1", "u2"]) == {"u1"}
    assert await store.blocks.blockers_among("u1", []) == set()


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


# The record codecs: each engine stores every field of every record (and reads
# it back as it was) by its type alone, so a new field or record needs no code
# in an engine; this checks that it needs none either.

STORED_RECORDS = [
    record_type
    for name, record_type in vars(storage.records).items()
    if name.endswith("Record") and is_dataclass(record_type) and record_type is not MovementRecord
]


def _sample(hint: Any, name: str) -> Any:
    """A value of type ``hint`` that is no field's default."""
    if get_origin(hint) in (Union, types.UnionType):
        return _sample(next(a for a in get_args(hint) if a is not type(None)), name)
    if hint is bool:
        return True
    if hint is int:
        return 7
    if hint is str:
        return f"{name} é ✓"
    if hint is Any:
        return {"any": [1, None, "x"]}
    if get_origin(hint) is Literal:
        return get_args(hint)[-1]  # stored as its value (a str)
    if get_origin(hint) is list:
        return [_sample(get_args(hint)[0], name), _sample(get_args(hint)[0], name + "2")]
    if get_origin(hint) is dict:
        return {"k": _sample(get_args(hint)[1], name)}
    raise AssertionError(f"no sample of {hint!r}: teach the test (and check the codecs)")


def _full(record_type: type) -> Any:
    hints = get_type_hints(record_type)
    return record_type(**{f.name: _sample(hints[f.name], f.name) for f in fields(record_type)})


def _emptied(record_type: type) -> Any:
    """Every optional field None, and an ``Any`` field too."""
    hints = get_type_hints(record_type)
    record = _full(record_type)
    for f in fields(record_type):
        if type(None) in get_args(hints[f.name]) or hints[f.name] is Any:
            setattr(record, f.name, None)
    return record


def _through_sqlite(record: Any) -> Any:
    names = [f.name for f in fields(record)]
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute(f"CREATE TABLE t ({', '.join(names)})")
    conn.execute(sqlite_codec.insert_sql("t", names), sqlite_codec.to_row(record))
    row = conn.execute("SELECT * FROM t").fetchone()
    conn.close()
    return sqlite_codec.from_row(type(record), row)


def _same(read: Any, record: Any) -> bool:
    """Equal, field types included (``1 == True``, but a bool must come back a bool)."""
    return read == record and all(
        type(getattr(read, f.name)) is type(getattr(record, f.name)) for f in fields(record)
    )


@pytest.mark.parametrize("record_type", STORED_RECORDS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("make", [_full, _emptied], ids=["full", "emptied"])
def test_codecs_store_and_read_back_every_field(record_type: type, make: Any) -> None:
    record = make(record_type)

    assert _same(_through_sqlite(record), record)
    doc = mongo_codec.to_doc(record)
    assert _same(mongo_codec.from_doc(record_type, doc), record)
    key = mongo_codec.key_of(record_type)
    assert key is None or (doc["_id"] == getattr(record, key) and key not in doc)
