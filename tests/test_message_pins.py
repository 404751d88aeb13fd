"""Message pins (issue 17): ``message:pin``, ``conversation:pins``, ``message:pinned``
and their REST twins, with real clients over real sockets, on each storage engine."""

from __future__ import annotations

from typing import Any

from engines import ON_BOTH_ENGINES
from recorder import Recorder
from users import User, Users
from waits import quiet

pytestmark = ON_BOTH_ENGINES

LIMIT = 50


def send(cid: str, client_msg_id: str, text: str = "hello") -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text}


async def trio(users: Users) -> tuple[User, User, User, Recorder, Recorder, Recorder, str]:
    """ann and bob in a group, cat outside it; one socket each."""
    ann, bob, cat = await users("ann", "bob", "cat")
    ann1, bob1, cat1 = await ann.socket(), await bob.socket(), await cat.socket()
    group = await ann1.ok("conversation:create", {"participant_ids": [bob.id], "type": "group"})
    return ann, bob, cat, ann1, bob1, cat1, group["id"]


async def test_a_pin_and_an_unpin_are_seen_live_by_the_other_participant(users):
    ann, bob, _, ann1, bob1, _, cid = await trio(users)
    message = await ann1.ok("message:send", send(cid, "m1", "the spec"))
    ann2 = await ann.socket()  # the pinner's other device hears it too

    pinned = await bob1.ok("message:pin", {"message_id": message["id"], "pinned": True})

    assert pinned["pinned"] is True and pinned["pinned_by"] == bob.id and pinned["pinned_at"]
    assert {k: v for k, v in pinned.items() if not k.startswith("pinned")} == {
        k: v for k, v in message.items() if not k.startswith("pinned")
    }
    event = {"conversation_id": cid, "message_id": message["id"], "pinned": True}
    assert await ann1.wait_for("message:pinned") == [{**event, "by_user_id": bob.id}]
    assert await ann2.wait_for("message:pinned") == [{**event, "by_user_id": bob.id}]
    history = await ann1.ok("message:history", {"conversation_id": cid})
    assert history["items"] == [pinned]
    # The last message of the conversation shows the pin as well.
    conversation = await ann1.ok("conversation:get", {"conversation_id": cid})
    assert conversation["last_message"] == pinned

    unpinned = await ann1.ok("message:pin", {"message_id": message["id"], "pinned": False})
    assert unpinned == message
    unpin_event = {**event, "pinned": False, "by_user_id": ann.id}
    assert await bob1.wait_for("message:pinned") == [unpin_event]
    await quiet()
    # Each caller's own socket is left out; the others hear both.
    assert bob1.events["message:pinned"] == [unpin_event]
    assert ann1.events["message:pinned"] == [{**event, "by_user_id": bob.id}]
    assert ann2.events["message:pinned"] == [{**event, "by_user_id": bob.id}, unpin_event]


async def test_pinning_twice_and_unpinning_twice_change_and_emit_nothing(users):
    ann, _, _, ann1, bob1, _, cid = await trio(users)
    message = await ann1.ok("message:send", send(cid, "m1"))
    first = await ann1.ok("message:pin", {"message_id": message["id"], "pinned": True})
    await bob1.wait_for("message:pinned")

    assert await bob1.ok("message:pin", {"message_id": message["id"], "pinned": True}) == first
    status, again = await ann.call("POST", f"/messages/{message['id']}/pin")
    assert (status, again) == (200, first)
    await ann1.ok("message:pin", {"message_id": message["id"], "pinned": False})
    await bob1.wait_for("message:pinned", 2)
    assert await ann1.ok("message:pin", {"message_id": message["id"], "pinned": False}) == message
    status, again = await ann.call("DELETE", f"/messages/{message['id']}/pin")
    assert (status, again) == (200, message)
    await quiet()
    assert [e["pinned"] for e in bob1.events["message:pinned"]] == [True, False]


async def test_the_pins_list_most_recently_pinned_first_over_socket_and_rest(users):
    ann, bob, _, ann1, bob1, _, cid = await trio(users)
    a, b, c = [await ann1.ok("message:send", send(cid, f"m{n}", n)) for n in "abc"]
    assert await ann1.ok("conversation:pins", {"conversation_id": cid}) == {"items": []}

    await bob1.ok("message:pin", {"message_id": b["id"], "pinned": True})
    status, _ = await ann.call("POST", f"/messages/{a['id']}/pin")
    assert status == 200
    await ann1.ok("message:pin", {"message_id": c["id"], "pinned": True})
    await ann1.ok("message:pin", {"message_id": c["id"], "pinned": False})
    await bob1.wait_for("message:pinned", 3)  # b is bob's own: his socket is left out

    listed = await bob1.ok("conversation:pins", {"conversation_id": cid})
    assert [m["id"] for m in listed["items"]] == [a["id"], b["id"]]
    assert [m["pinned_by"] for m in listed["items"]] == [ann.id, bob.id]
    assert await bob.ok("GET", f"/conversations/{cid}/pins") == listed


async def test_the_51st_pin_is_refused_and_an_unpin_makes_room(users):
    _, bob, _, ann1, bob1, _, cid = await trio(users)
    messages = [
        await ann1.ok("message:send", send(cid, f"m{n}", f"n{n}")) for n in range(LIMIT + 1)
    ]
    for message in messages[:LIMIT]:
        await ann1.ok("message:pin", {"message_id": message["id"], "pinned": True})
    await bob1.wait_for("message:pinned", LIMIT)

    error = await bob1.error(
        "message:pin", {"message_id": messages[LIMIT]["id"], "pinned": True}, "validation_failed"
    )
    assert error["details"]["fields"][0]["field"] == "message_id"
    assert "50" in error["details"]["fields"][0]["message"]
    problem = await bob.fails(
        "POST", f"/messages/{messages[LIMIT]['id']}/pin", status=422, code="validation_failed"
    )
    assert problem["details"]["fields"][0]["field"] == "message_id"
    pins = await ann1.ok("conversation:pins", {"conversation_id": cid})
    assert len(pins["items"]) == LIMIT and messages[LIMIT]["id"] not in {
        m["id"] for m in pins["items"]
    }
    history = await ann1.ok("message:history", {"conversation_id": cid, "after_seq": LIMIT})
    assert history["items"][0]["pinned"] is False  # nothing half-written

    await bob1.ok("message:pin", {"message_id": messages[0]["id"], "pinned": False})
    last = await bob1.ok("message:pin", {"message_id": messages[LIMIT]["id"], "pinned": True})
    assert last["pinned"] is True
    pins = await ann1.ok("conversation:pins", {"conversation_id": cid})
    assert len(pins["items"]) == LIMIT and pins["items"][0]["id"] == last["id"]


async def test_a_deleted_message_cannot_be_pinned_and_deleting_unpins(users):
    _, bob, _, ann1, bob1, _, cid = await trio(users)
    gone = await ann1.ok("message:send", send(cid, "m1", "gone"))
    pinned = await ann1.ok("message:send", send(cid, "m2", "pinned, then gone"))
    await ann1.ok("message:delete", {"message_id": gone["id"]})

    error = await bob1.error(
        "message:pin", {"message_id": gone["id"], "pinned": True}, "validation_failed"
    )
    assert error["details"]["fields"][0]["field"] == "message_id"
    await bob.fails("POST", f"/messages/{gone['id']}/pin", status=422, code="validation_failed")

    await bob1.ok("message:pin", {"message_id": pinned["id"], "pinned": True})
    await ann1.ok("message:delete", {"message_id": pinned["id"]})
    assert await ann1.ok("conversation:pins", {"conversation_id": cid}) == {"items": []}
    history = await bob1.ok("message:history", {"conversation_id": cid})
    assert [(m["deleted"], m["pinned"]) for m in history["items"]] == [(True, False)] * 2
    await quiet()
    assert [e["message_id"] for e in ann1.events["message:pinned"]] == [pinned["id"]]


async def test_outsiders_and_unknown_messages(users):
    ann, _, cat, ann1, _, cat1, cid = await trio(users)
    message = await ann1.ok("message:send", send(cid, "m1"))

    await cat1.error("message:pin", {"message_id": message["id"], "pinned": True}, "forbidden")
    await cat1.error("conversation:pins", {"conversation_id": cid}, "forbidden")
    await cat.fails("POST", f"/messages/{message['id']}/pin", status=403, code="forbidden")
    await cat.fails("DELETE", f"/messages/{message['id']}/pin", status=403, code="forbidden")
    await cat.fails("GET", f"/conversations/{cid}/pins", status=403, code="forbidden")
    await ann1.error("message:pin", {"message_id": "no-such-message", "pinned": True}, "not_found")
    await ann.fails("POST", "/messages/no-such-message/pin", status=404, code="not_found")
    await ann1.error("conversation:pins", {"conversation_id": "no-such-thing"}, "not_found")
    await ann.fails("GET", "/conversations/no-such-thing/pins", status=404, code="not_found")
    stored = await ann1.ok("message:history", {"conversation_id": cid})
    assert stored["items"][0]["pinned"] is False
    await quiet()
    assert ann1.events["message:pinned"] == [] and cat1.events["message:pinned"] == []


async def test_sync_after_a_reconnect_brings_the_pins_made_meanwhile(users):
    ann, bob, _, ann1, bob1, _, cid = await trio(users)
    old = [await ann1.ok("message:send", send(cid, f"m{n}", f"n{n}")) for n in range(3)]
    await ann1.ok("message:pin", {"message_id": old[0]["id"], "pinned": True})
    await bob1.wait_for("message:pinned")
    await bob1.client.disconnect()

    # While bob is away: an old message is pinned, another unpinned, one more is sent.
    await ann1.ok("message:pin", {"message_id": old[1]["id"], "pinned": True})
    await ann1.ok("message:pin", {"message_id": old[0]["id"], "pinned": False})
    new = await ann1.ok("message:send", send(cid, "m3", "new"))

    back = await bob.socket()
    result = await back.ok("sync", {"cursors": [{"conversation_id": cid, "after_seq": 3}]})
    (item,) = result["items"]
    assert item["messages"] == [new]
    assert [m["id"] for m in item["pins"]] == [old[1]["id"]]
    assert item["pins"][0]["pinned_by"] == ann.id
