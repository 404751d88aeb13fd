"""Receipts and mark unread (issue 17): ``message:delivered`` beside
``message:read``, so a sender sees sent, delivered and read per participant
(``receipts`` in a Conversation), and ``conversation:mark_unread``.

Real sockets and REST on both storage engines.
"""

from __future__ import annotations

from typing import Any

from engines import ON_BOTH_ENGINES
from recorder import Recorder
from users import User, Users
from waits import quiet

pytestmark = ON_BOTH_ENGINES


def send(cid: str, client_msg_id: str, text: str = "hello") -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text}


async def group_of_three(users: Users) -> tuple[User, User, User, str]:
    ann, bob, cat = await users("ann", "bob", "cat")
    conversation = await ann.ok(
        "POST", "/conversations", {"participant_ids": [bob.id, cat.id]}, status=201
    )
    return ann, bob, cat, conversation["id"]


def receipts(conversation: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """``receipts`` as {user_id: (delivered_seq, read_seq)}."""
    by_user = {r["user_id"]: (r["delivered_seq"], r["read_seq"]) for r in conversation["receipts"]}
    assert list(by_user) == conversation["participant_ids"]
    return by_user


async def test_delivered_then_read_seen_by_the_sender(users):
    ann, bob, cat, cid = await group_of_three(users)
    ann1, cat1 = await ann.socket(), await cat.socket()
    bob1, bob2 = await bob.socket(), await bob.socket()
    for n in range(3):
        await ann1.ok("message:send", send(cid, f"m{n}", f"hello {n}"))
    sent = await ann1.ok("conversation:get", {"conversation_id": cid})
    assert receipts(sent) == {ann.id: (3, 3), bob.id: (0, 0), cat.id: (0, 0)}

    # Bob's phone received everything: the others hear of it, Bob's devices do not.
    assert await bob1.ok("message:delivered", {"conversation_id": cid, "seq": 3}) == {}
    (delivered,) = await ann1.wait_for("message:delivered")
    assert delivered.pop("delivered_at").endswith("Z")
    assert delivered == {"conversation_id": cid, "user_id": bob.id, "seq": 3}
    assert (await cat1.wait_for("message:delivered"))[0]["seq"] == 3
    view = await ann1.ok("conversation:get", {"conversation_id": cid})
    assert receipts(view)[bob.id] == (3, 0)

    # Only forward: an older or equal seq changes nothing and tells nobody.
    assert await bob2.ok("message:delivered", {"conversation_id": cid, "seq": 2}) == {}
    assert await bob2.ok("message:delivered", {"conversation_id": cid, "seq": 3}) == {}

    # Then Bob reads two of them.
    await bob1.ok("message:read", {"conversation_id": cid, "seq": 2})
    assert (await ann1.wait_for("message:read"))[0]["user_id"] == bob.id
    view = await ann1.ok("conversation:get", {"conversation_id": cid})
    assert receipts(view) == {ann.id: (3, 3), bob.id: (3, 2), cat.id: (0, 0)}

    # Over REST, and read without a delivered receipt counts as delivered.
    assert (await cat.ok("POST", f"/conversations/{cid}/read", {"seq": 1}))["read_seq"] == 1
    rest = await ann.ok("GET", f"/conversations/{cid}")
    assert receipts(rest)[cat.id] == (1, 1)
    assert await cat.ok("POST", f"/conversations/{cid}/delivered", {"seq": 2}) == {}
    # No origin socket over REST: every socket of the others, none of Cat's.
    assert (await ann1.wait_for("message:delivered", 2))[-1]["user_id"] == cat.id
    for socket in (bob1, bob2):
        assert (await socket.wait_for("message:delivered"))[-1]["user_id"] == cat.id
    rest = await ann.ok("GET", f"/conversations/{cid}")
    assert receipts(rest) == {ann.id: (3, 3), bob.id: (3, 2), cat.id: (2, 1)}

    await quiet()  # for a receipt echoed to its own user, or a repeat announced
    assert len(ann1.events["message:delivered"]) == 2
    assert len(bob1.events["message:delivered"]) == len(bob2.events["message:delivered"]) == 1
    assert len(cat1.events["message:delivered"]) == 1


async def test_mark_unread_moves_the_marker_back_for_the_users_devices(users):
    ann, bob, _, cid = await group_of_three(users)
    ann1, bob1, bob2 = await ann.socket(), await bob.socket(), await bob.socket()
    for n in range(4):
        await ann1.ok("message:send", send(cid, f"m{n}"))
    await bob1.ok("message:read", {"conversation_id": cid, "seq": 4})
    bob2.clear()

    view = await bob1.ok("conversation:mark_unread", {"conversation_id": cid, "seq": 3})
    assert (view["read_seq"], view["unread_count"]) == (2, 2)
    (updated,) = await bob2.wait_for("conversation:updated")
    assert (updated["id"], updated["read_seq"], updated["unread_count"]) == (cid, 2, 2)
    assert (await bob.ok("GET", "/messages/unread-count"))["conversations"][cid] == 2
    # What was read stays delivered in the receipts Ann sees.
    assert receipts(await ann1.ok("conversation:get", {"conversation_id": cid}))[bob.id] == (4, 2)

    # A message already unread leaves the marker where it is, and tells nobody.
    view = await bob1.ok("conversation:mark_unread", {"conversation_id": cid, "seq": 4})
    assert (view["read_seq"], view["unread_count"]) == (2, 2)
    await bob1.ok("conversation:mark_unread", {"conversation_id": cid, "seq": 3})

    # Over REST: every socket of the user hears of it.
    view = await bob.ok("POST", f"/conversations/{cid}/unread", {"seq": 1})
    assert (view["read_seq"], view["unread_count"]) == (0, 4)
    assert (await bob1.wait_for("conversation:updated"))[-1]["read_seq"] == 0
    assert (await bob2.wait_for("conversation:updated", 2))[-1]["read_seq"] == 0

    # Reading again moves it forward as usual.
    read = await bob1.ok("message:read", {"conversation_id": cid, "seq": 4})
    assert (read["read_seq"], read["unread_count"]) == (4, 0)

    await quiet()  # for the personal change leaking to the others
    assert ann1.events["conversation:updated"] == []
    assert len(bob2.events["conversation:updated"]) == 2
    assert len(bob1.events["conversation:updated"]) == 1


async def test_bad_receipts_and_unread_marks_are_refused(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    ann1, bob1, cat1 = await ann.socket(), await bob.socket(), await cat.socket()
    cid = (await ann1.ok("conversation:create", {"participant_ids": [bob.id]}))["id"]

    async def refused(socket: Recorder, event: str, seq: int, code: str) -> None:
        error = await socket.error(event, {"conversation_id": cid, "seq": seq}, code)
        if code == "validation_failed":
            assert [f["field"] for f in error["details"]["fields"]] == ["seq"], error

    # Nothing sent yet: nothing to receive or mark unread.
    await refused(bob1, "message:delivered", 1, "validation_failed")
    await refused(bob1, "conversation:mark_unread", 1, "validation_failed")
    assert await bob1.ok("message:delivered", {"conversation_id": cid, "seq": 0}) == {}

    await ann1.ok("message:send", send(cid, "m1"))
    await ann1.ok("message:send", send(cid, "m2"))
    await refused(bob1, "message:delivered", 3, "validation_failed")
    await refused(bob1, "conversation:mark_unread", 0, "validation_failed")
    await refused(bob1, "conversation:mark_unread", 3, "validation_failed")
    for event in ("message:delivered", "conversation:mark_unread"):
        await refused(cat1, event, 1, "forbidden")
        await cat1.error(event, {"conversation_id": "nope", "seq": 1}, "not_found")

    # The same over REST.
    for path in ("delivered", "unread"):
        data = await bob.fails(
            "POST",
            f"/conversations/{cid}/{path}",
            {"seq": 3},
            status=422,
            code="validation_failed",
        )
        assert [f["field"] for f in data["details"]["fields"]] == ["seq"], data
        await cat.fails(
            "POST", f"/conversations/{cid}/{path}", {"seq": 1}, status=403, code="forbidden"
        )
        await bob.fails(
            "POST",
            f"/conversations/{cid}/{path}",
            {"seq": -1},
            status=422,
            code="validation_failed",
        )
    await bob.fails(
        "POST", f"/conversations/{cid}/unread", {"seq": 0}, status=422, code="validation_failed"
    )

    # Nothing was written and nobody was told.
    view = await ann1.ok("conversation:get", {"conversation_id": cid})
    assert receipts(view)[bob.id] == (0, 0)
    await quiet()
    assert ann1.events["message:delivered"] == [] and ann1.events["conversation:updated"] == []
    assert bob1.events["conversation:updated"] == []
