"""System and card messages in the store (issue 17): one behaviour, every engine.

A message whose ``kind`` is not ``"text"`` is written by the hub, with as
``sender_id`` the user whose action caused it: no membership or block check,
the conversation's next ``seq``, and ``client_msg_id`` naming the event so that
writing it twice returns the original. Each test runs on SQLite and on MongoDB
(the mongomock double unless HUB_TEST_MONGODB_URL is set).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from engines import add_users
from storage.interfaces import Store
from storage.records import BlockRecord, MessageRecord
from test_conversation_store_contract import T0, T1, USERS, direct, members, new_group, send

CARD: dict[str, Any] = {
    "type": "milestone",
    "ref": {"type": "milestone", "id": "ms1"},
    "state": "released",
    "amount": 10_001,
    "currency": "USD",
    "title": "Core port",
}


def card_message(
    conv_id: str,
    actor: str,
    key: str,
    *,
    kind: str = "card",
    card: dict[str, Any] | None = None,
    message_id: str | None = None,
) -> MessageRecord:
    return MessageRecord(
        id=message_id or f"sys-{key}",
        conversation_id=conv_id,
        sender_id=actor,
        client_msg_id=key,
        text="Released USD 100.01",
        created_at=T1,
        kind=kind,  # type: ignore[arg-type]
        card=CARD if card is None else card,
    )


async def test_a_card_takes_the_next_seq_and_round_trips(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    first = await send(store, "g1", "u1", "hello")

    result = await store.messages.append(card_message("g1", "u2", "card:ms1:released:10001"))

    assert result is not None and result.created
    assert result.message.seq == first.seq + 1
    stored = await store.messages.get(result.message.id)
    assert stored == result.message
    assert (stored.kind, stored.card, stored.sender_id) == ("card", CARD, "u2")
    assert [m.kind for m in await store.messages.range("g1")] == ["text", "card"]
    conversation = await store.conversations.get("g1")
    assert conversation is not None and conversation.last_seq == 2
    assert conversation.last_message is not None
    assert conversation.last_message["kind"] == "card"
    assert conversation.last_message["card"] == CARD


async def test_writing_the_same_event_twice_returns_the_original(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    first = await store.messages.append(card_message("g1", "u1", "call:c1:missed"))
    assert first is not None and first.created

    again = await store.messages.append(
        card_message("g1", "u1", "call:c1:missed", message_id="another-id")
    )

    assert again is not None and not again.created
    assert again.message == first.message
    assert await store.messages.get("another-id") is None
    assert [m.seq for m in await store.messages.range("g1")] == [1]


async def test_the_actor_need_not_be_a_participant(store: Store) -> None:
    """An admin resolving a dispute, or a participant who just left."""
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2", "u3")
    await store.conversations.remove_member("g1", "u3")
    assert await store.messages.append(send_text("g1", "u3")) is None  # text: refused

    left = await store.messages.append(
        card_message("g1", "u3", "left-1", kind="system", card=_left("u3"))
    )
    resolved = await store.messages.append(card_message("g1", "u4", "card:ms1:resolved"))

    assert left is not None and left.created and left.message.seq == 1
    assert resolved is not None and resolved.created and resolved.message.seq == 2
    assert left.message.kind == "system" and left.message.card == _left("u3")
    # No membership was created for the actors.
    assert await store.conversations.member_ids("g1") == ["u1", "u2"]


async def test_a_block_does_not_stop_a_system_message(store: Store) -> None:
    await add_users(store, *USERS)
    await store.conversations.create(direct("d1", "u1", "u2"), members("d1", "u1", "u2"))
    await store.blocks.add(BlockRecord("u2", "u1", T0))
    assert await store.messages.append(send_text("d1", "u1")) is None

    result = await store.messages.append(card_message("d1", "u1", "call:c2:ended"))

    assert result is not None and result.created and result.message.seq == 1


async def test_no_such_conversation_writes_nothing(store: Store) -> None:
    await add_users(store, *USERS)
    assert await store.messages.append(card_message("nowhere", "u1", "card:x")) is None
    assert await store.messages.get("sys-card:x") is None


async def test_it_counts_unread_for_all_but_its_actor(store: Store) -> None:
    """Unlike their own text, it leaves the actor's read marker where it was:
    they have not necessarily read what came before."""
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2", "u3")
    await send(store, "g1", "u1", "are you there?")

    result = await store.messages.append(
        card_message("g1", "u2", "t1", kind="system", card=_title())
    )

    assert result is not None and result.message.seq == 2
    marker = await store.conversations.membership("g1", "u2")
    assert marker is not None and marker.read_seq == 0
    assert await store.messages.count_unread("g1", "u2", marker.read_seq) == 1  # u1's text
    assert await store.messages.count_unread("g1", "u3", 0) == 2
    assert await store.messages.count_unread("g1", "u1", 1) == 1
    # An actor outside the conversation leaves everyone with it unread.
    await store.messages.append(card_message("g1", "u4", "card:ms1:resolved"))
    assert await store.messages.count_unread("g1", "u2", 0) == 2


async def test_cards_and_texts_keep_one_gapless_seq(store: Store) -> None:
    await add_users(store, *USERS)
    await new_group(store, "g1", "u1", "u2")
    for n in range(3):
        await send(store, "g1", "u1", f"text {n}")
        await store.messages.append(card_message("g1", "u2", f"card {n}"))

    stored = await store.messages.range("g1")
    assert [m.seq for m in stored] == [1, 2, 3, 4, 5, 6]
    assert [m.kind for m in stored] == ["text", "card"] * 3
    last = await store.conversations.get("g1")
    assert last is not None and last.last_message == asdict(stored[-1])


def send_text(conv_id: str, sender: str) -> MessageRecord:
    return MessageRecord(
        id=f"text-{conv_id}-{sender}",
        conversation_id=conv_id,
        sender_id=sender,
        client_msg_id=f"text-{conv_id}-{sender}",
        text="hi",
        created_at=T1,
    )


def _left(user_id: str) -> dict[str, Any]:
    return {"type": "participants", "ref": None, "state": "left", "user_ids": [user_id]}


def _title() -> dict[str, Any]:
    return {"type": "title", "ref": None, "state": "changed", "title": "Launch"}
