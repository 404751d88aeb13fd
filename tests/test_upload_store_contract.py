"""Uploads, one behaviour on every engine: each test runs on SQLite and on
MongoDB (the mongomock double unless HUB_TEST_MONGODB_URL is set)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from engines import add_users
from storage.interfaces import Store
from storage.mongo.uploads import MongoUploadStore
from storage.records import ConversationRecord, MembershipRecord, MessageRecord, UploadRecord

T0 = "2024-05-01T10:00:00.000Z"
T1 = "2024-05-01T11:00:00.000Z"
T2 = "2024-05-01T12:00:00.000Z"
T3 = "2024-05-01T13:00:00.000Z"


def upload(
    upload_id: str,
    owner_id: str = "u1",
    conversation_id: str = "c1",
    created_at: str = T0,
    expires_at: str = T2,
    **extra: object,
) -> UploadRecord:
    return UploadRecord(
        id=upload_id,
        owner_id=owner_id,
        conversation_id=conversation_id,
        name=f"{upload_id}.pdf",
        size=100,
        mime="application/pdf",
        created_at=created_at,
        expires_at=expires_at,
        **extra,  # type: ignore[arg-type]
    )


def complete(upload_id: str, **extra: object) -> UploadRecord:
    return upload(upload_id, **{"status": "complete", "completed_at": T1, **extra})


async def conversation(store: Store, conversation_id: str) -> None:
    record = ConversationRecord(
        id=conversation_id, type="group", created_by="u1", created_at=T0, last_activity_at=T0
    )
    members = [
        MembershipRecord(conversation_id=conversation_id, user_id=user_id, joined_at=T0)
        for user_id in ("u1", "u2")
    ]
    assert (await store.conversations.create(record, members))[1]


async def send(store: Store, message_id: str, conversation_id: str = "c1") -> None:
    message = MessageRecord(
        id=message_id,
        conversation_id=conversation_id,
        sender_id="u1",
        client_msg_id=f"client-{message_id}",
        text="see attached",
        created_at=T1,
    )
    assert await store.messages.append(message) is not None


@pytest.fixture
async def uploads(store: Store) -> Store:
    """Users u1, u2, both in conversations c1 and c2."""
    await add_users(store, "u1", "u2")
    await conversation(store, "c1")
    await conversation(store, "c2")
    return store


async def current(store: Store, *upload_ids: str) -> list[UploadRecord | None]:
    return [await store.uploads.get(upload_id) for upload_id in upload_ids]


async def test_create_then_get_returns_every_field(uploads: Store) -> None:
    pending = upload("up1")
    done = upload(
        "up2",
        status="attached",
        sha256="ab" * 32,
        width=640,
        height=480,
        has_thumbnail=True,
        scan_status="clean",
        message_id="m9",
        completed_at=T1,
    )
    await uploads.uploads.create(pending)
    await uploads.uploads.create(done)

    assert await current(uploads, "up1", "up2", "missing") == [pending, done, None]


async def test_complete_applies_the_changes_once(uploads: Store) -> None:
    await uploads.uploads.create(upload("up1"))
    changes = {
        "size": 2048,
        "mime": "image/png",
        "sha256": "cd" * 32,
        "width": 320,
        "height": 200,
        "has_thumbnail": True,
        "scan_status": "not_scanned",
        "completed_at": T1,
    }

    completed = await uploads.uploads.complete("up1", changes)

    expected = replace(upload("up1"), status="complete", **changes)  # type: ignore[arg-type]
    assert completed == expected
    assert await uploads.uploads.get("up1") == expected
    assert await uploads.uploads.complete("up1", {"size": 1, "completed_at": T2}) is None
    assert await uploads.uploads.get("up1") == expected
    assert await uploads.uploads.complete("missing", {"completed_at": T1}) is None


async def test_complete_refuses_to_set_identity_or_state(uploads: Store) -> None:
    await uploads.uploads.create(upload("up1"))

    for field in ("owner_id", "conversation_id", "status", "message_id", "expires_at"):
        with pytest.raises(ValueError):
            await uploads.uploads.complete("up1", {field: "x"})

    assert await uploads.uploads.get("up1") == upload("up1")


async def test_attach_marks_every_upload_in_the_order_given(uploads: Store) -> None:
    for upload_id in ("up1", "up2", "up3"):
        await uploads.uploads.create(complete(upload_id))

    attached = await uploads.uploads.attach(["up3", "up1", "up2"], "u1", "c1", "m1")

    expected = [
        complete(upload_id, status="attached", message_id="m1")
        for upload_id in ("up3", "up1", "up2")
    ]
    assert attached == expected
    assert await current(uploads, "up3", "up1", "up2") == expected
    assert await uploads.uploads.attach([], "u1", "c1", "m2") == []


async def test_attach_is_all_or_nothing(uploads: Store) -> None:
    await uploads.uploads.create(complete("ok"))
    await uploads.uploads.create(upload("pending"))
    await uploads.uploads.create(complete("theirs", owner_id="u2"))
    await uploads.uploads.create(complete("elsewhere", conversation_id="c2"))
    await uploads.uploads.create(complete("taken", status="attached", message_id="m0"))
    ids = ["ok", "pending", "theirs", "elsewhere", "taken"]
    before = await current(uploads, *ids)

    for bad in ("pending", "theirs", "elsewhere", "taken", "missing", "ok"):
        # "ok" twice: an id given twice fails too.
        assert await uploads.uploads.attach(["ok", bad], "u1", "c1", "m1") is None, bad
        assert await current(uploads, *ids) == before, bad


async def test_concurrent_attaches_of_one_upload_let_at_most_one_win(uploads: Store) -> None:
    for upload_id in ("up1", "up2", "up3"):
        await uploads.uploads.create(complete(upload_id))
    claims = {"m1": ["up1", "up2"], "m2": ["up2", "up3"]}

    results = await asyncio.gather(
        *(uploads.uploads.attach(ids, "u1", "c1", mid) for mid, ids in claims.items())
    )

    assert sum(result is not None for result in results) <= 1
    stored = {
        upload_id: await uploads.uploads.get(upload_id) for upload_id in ("up1", "up2", "up3")
    }
    for (message_id, ids), result in zip(claims.items(), results, strict=True):
        mine = {u for u, record in stored.items() if record and record.message_id == message_id}
        assert mine == (set(ids) if result is not None else set()), message_id


async def test_detach_makes_a_message_s_uploads_attachable_again(uploads: Store) -> None:
    for upload_id in ("up1", "up2", "up3"):
        await uploads.uploads.create(complete(upload_id))
    assert await uploads.uploads.attach(["up1", "up2"], "u1", "c1", "m1") is not None
    assert await uploads.uploads.attach(["up3"], "u1", "c1", "m2") is not None

    await uploads.uploads.detach("m1")

    assert await current(uploads, "up1", "up2") == [complete("up1"), complete("up2")]
    assert await uploads.uploads.get("up3") == complete("up3", status="attached", message_id="m2")
    again = await uploads.uploads.attach(["up2"], "u1", "c1", "m3")
    assert again == [complete("up2", status="attached", message_id="m3")]


async def test_set_scan_status(uploads: Store) -> None:
    await uploads.uploads.create(complete("up1"))

    await uploads.uploads.set_scan_status("up1", "infected")

    assert await uploads.uploads.get("up1") == complete("up1", scan_status="infected")


async def test_stale_are_expired_pending_uploads_and_those_of_deleted_messages(
    uploads: Store,
) -> None:
    await uploads.uploads.create(upload("expired_later", expires_at=T1))
    await uploads.uploads.create(upload("expired_first", expires_at=T0))
    await uploads.uploads.create(upload("expires_now", expires_at=T2))
    await uploads.uploads.create(upload("not_yet", expires_at=T3))
    await uploads.uploads.create(complete("completed", expires_at=T0))
    for upload_id in ("on_deleted", "on_live", "on_unsent"):
        await uploads.uploads.create(complete(upload_id, expires_at=T0))
    await send(uploads, "m_deleted")
    await send(uploads, "m_live")
    for upload_id, message_id in [
        ("on_deleted", "m_deleted"),
        ("on_live", "m_live"),
        ("on_unsent", "m_unsent"),
    ]:
        assert await uploads.uploads.attach([upload_id], "u1", "c1", message_id) is not None
    assert await uploads.messages.update("m_deleted", {"deleted": True}) is not None

    stale = await uploads.uploads.stale(T2, limit=10)

    assert [record.id for record in stale] == [
        "expired_first",
        "expired_later",
        "expires_now",
        "on_deleted",
    ]
    assert stale[-1] == complete(
        "on_deleted", expires_at=T0, status="attached", message_id="m_deleted"
    )
    assert [r.id for r in await uploads.uploads.stale(T2, limit=2)] == [
        "expired_first",
        "expired_later",
    ]
    assert [r.id for r in await uploads.uploads.stale(T2, limit=4)][-1] == "on_deleted"


async def test_unwritten_are_uploads_attached_to_a_message_that_does_not_exist(
    uploads: Store,
) -> None:
    for upload_id in ("on_live", "on_unsent", "on_deleted", "just_complete"):
        await uploads.uploads.create(complete(upload_id))
    await send(uploads, "m_live")
    await send(uploads, "m_deleted")
    await uploads.messages.update("m_deleted", {"deleted": True})
    for upload_id, message_id in [
        ("on_live", "m_live"),
        ("on_unsent", "m_unsent"),
        ("on_deleted", "m_deleted"),
    ]:
        assert await uploads.uploads.attach([upload_id], "u1", "c1", message_id) is not None

    assert await uploads.uploads.unwritten(limit=10) == ["on_unsent"]
    assert await uploads.uploads.unwritten(limit=0) == []


async def test_delete(uploads: Store) -> None:
    await uploads.uploads.create(upload("up1"))
    await uploads.uploads.create(upload("up2"))

    await uploads.uploads.delete("up1")
    await uploads.uploads.delete("missing")

    assert await current(uploads, "up1", "up2") == [None, upload("up2")]


async def test_bytes_since_sums_the_owner_s_recent_uploads(uploads: Store) -> None:
    await uploads.uploads.create(replace(upload("old", created_at=T0), size=1))
    await uploads.uploads.create(replace(upload("at", created_at=T1), size=20))
    await uploads.uploads.create(replace(upload("later", created_at=T2), size=300))
    await uploads.uploads.create(replace(upload("theirs", "u2", created_at=T2), size=4000))

    assert await uploads.uploads.bytes_since("u1", T1) == 320
    assert await uploads.uploads.bytes_since("u2", T0) == 4000
    assert await uploads.uploads.bytes_since("u1", T3) == 0
    assert await uploads.uploads.bytes_since("nobody", T0) == 0

    await uploads.uploads.complete("later", {"size": 50_000, "completed_at": T2})
    await uploads.uploads.delete("at")

    assert await uploads.uploads.bytes_since("u1", T1) == 50_000


async def test_mongo_attach_puts_back_what_it_marked_when_it_loses_a_race(
    uploads: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mongo only: its attach reads, then marks; an upload taken in between
    makes it undo its own marks and nothing else (SQLite has no in-between)."""
    if not isinstance(uploads.uploads, MongoUploadStore):
        pytest.skip("the read-then-mark race is the Mongo engine's")
    for upload_id in ("up1", "up2"):
        await uploads.uploads.create(complete(upload_id))
    collection = uploads.uploads.uploads
    mark = collection.update_many

    async def taken_meanwhile(query: Any, update: Any, **options: Any) -> Any:
        monkeypatch.setattr(collection, "update_many", mark)
        await mark({"_id": "up2"}, {"$set": {"status": "attached", "message_id": "m0"}})
        return await mark(query, update, **options)

    monkeypatch.setattr(collection, "update_many", taken_meanwhile)

    assert await uploads.uploads.attach(["up1", "up2"], "u1", "c1", "m1") is None
    assert await current(uploads, "up1", "up2") == [
        complete("up1"),
        complete("up2", status="attached", message_id="m0"),
    ]
