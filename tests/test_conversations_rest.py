"""The REST mirror of /conversations, with real sockets listening for its events.

Runs on both storage engines. REST writes have no origin socket, so their
events reach every connected socket of every participant, the caller's too.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from engines import ON_BOTH_ENGINES
from recorder import Recorder
from users import API, User
from waits import quiet

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
pytestmark = ON_BOTH_ENGINES


async def nothing_more(*recorders: Recorder, event: str, count: int = 0) -> None:
    """Give stray events a moment to arrive, then check there are ``count`` of them."""
    await quiet()
    for recorder in recorders:
        assert len(recorder.events[event]) == count, (event, recorder.events[event])


# Conversations


async def test_create_direct_group_and_context(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    bob_socket = await bob.socket()
    ann_socket = await ann.socket()

    direct = await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201)
    assert direct["type"] == "direct"
    assert sorted(direct["participant_ids"]) == sorted([ann.id, bob.id])
    assert direct["created_by"] == ann.id and ISO_MS.match(direct["created_at"])
    assert (direct["title"], direct["context"], direct["last_message"]) == (None, None, None)
    assert (direct["last_seq"], direct["read_seq"], direct["unread_count"]) == (0, 0, 0)
    assert (direct["pinned"], direct["archived"], direct["muted"]) == (False, False, False)
    # Every participant's socket hears of it; over REST that includes the creator's.
    for socket in (bob_socket, ann_socket):
        assert (await socket.wait_for("conversation:created"))[0]["id"] == direct["id"]

    again = await ann.ok(
        "POST", "/conversations", {"participant_ids": [bob.id, ann.id]}, status=201
    )
    from_bob = await bob.ok(
        "POST", "/conversations", {"participant_ids": [ann.id], "type": "direct"}, status=201
    )
    assert again["id"] == from_bob["id"] == direct["id"]
    await nothing_more(bob_socket, ann_socket, event="conversation:created", count=1)

    # A job context names a job the creator is a party to (here its owner).
    job = await ann.ok(
        "POST",
        "/jobs",
        {
            "title": "Kickoff",
            "description": "D",
            "budget_min": 1,
            "budget_max": 2,
            "currency": "USD",
            "type": "fixed",
        },
        status=201,
    )
    group = await ann.ok(
        "POST",
        "/conversations",
        {
            "participant_ids": [bob.id, cat.id],
            "title": "Kickoff",
            "context": {"type": "job", "id": job["id"]},
        },
        status=201,
    )
    assert group["type"] == "group" and group["title"] == "Kickoff"
    assert group["context"] == {"type": "job", "id": job["id"]}
    assert sorted(group["participant_ids"]) == sorted([ann.id, bob.id, cat.id])
    # A group with a single other participant is a distinct conversation each time.
    small = await ann.ok(
        "POST", "/conversations", {"participant_ids": [bob.id], "type": "group"}, status=201
    )
    small2 = await ann.ok(
        "POST", "/conversations", {"participant_ids": [bob.id], "type": "group"}, status=201
    )
    assert small["type"] == "group" and small["id"] != small2["id"] != direct["id"]

    bad = [
        {"participant_ids": [ann.id]},  # nobody else
        {"participant_ids": [bob.id, cat.id], "type": "direct"},
        {"participant_ids": ["no-such-user"]},
        {"participant_ids": [bob.id], "context": {"type": "invoice", "id": "1"}},
        {"participant_ids": [bob.id], "title": ""},
        {"participant_ids": [bob.id], "colour": "red"},
    ]
    for body in bad:
        await ann.fails("POST", "/conversations", body, status=422, code="validation_failed")


async def test_concurrent_creates_make_one_direct_and_every_group(users):
    ann, bob, cat, dan = await users("ann", "bob", "cat", "dan")
    same_pair = [
        ann.call("POST", "/conversations", {"participant_ids": [bob.id]}) for _ in range(6)
    ]
    same_pair += [
        bob.call("POST", "/conversations", {"participant_ids": [ann.id]}) for _ in range(6)
    ]
    others = [
        ann.call("POST", "/conversations", {"participant_ids": [other.id]}) for other in (cat, dan)
    ]
    groups = [
        cat.call("POST", "/conversations", {"participant_ids": [ann.id, bob.id, dan.id]})
        for _ in range(6)
    ]

    results = await asyncio.gather(*same_pair, *others, *groups)

    assert [status for status, _ in results] == [201] * len(results), results
    assert len({body["id"] for _, body in results[:12]}) == 1
    assert len({body["id"] for _, body in results[12:]}) == 2 + 6


async def test_list_latest_activity_first_with_cursor_paging(users):
    ann, *others = await users("ann", "u0", "u1", "u2", "u3", "u4")
    convs = [
        await ann.ok("POST", "/conversations", {"participant_ids": [o.id]}, status=201)
        for o in others
    ]
    # Activity order: a message in each, in this order; the last one is the newest.
    for index in (2, 0, 4, 1, 3):
        await ann.send(convs[index]["id"], f"to {index}")
        await asyncio.sleep(0.005)  # on purpose: each message a later millisecond
    expected = [convs[i]["id"] for i in (3, 1, 4, 0, 2)]

    full = await ann.ok("GET", "/conversations")
    assert [c["id"] for c in full["items"]] == expected and full["next_cursor"] is None
    assert full["items"][0]["last_message"]["text"] == "to 3"

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await ann.ok("GET", "/conversations", params=params)
        pages += 1
        assert len(page["items"]) <= 2
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 5
    assert seen == expected and pages == 3

    # New activity moves a conversation to the front.
    await others[2].send(convs[2]["id"], "bump")
    first = await ann.ok("GET", "/conversations", params={"limit": "1"})
    assert [c["id"] for c in first["items"]] == [convs[2]["id"]]
    assert first["next_cursor"] is not None

    for params in (
        {"limit": "0"},
        {"limit": "101"},
        {"cursor": "!!not-a-cursor!!"},
        {"archived": "maybe"},
        {"colour": "red"},
    ):
        await ann.fails(
            "GET", "/conversations", params=params, status=422, code="validation_failed"
        )


async def test_archived_is_a_per_user_filter(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    with_bob = await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201)
    with_cat = await ann.ok("POST", "/conversations", {"participant_ids": [cat.id]}, status=201)

    archived = await ann.ok("PATCH", f"/conversations/{with_bob['id']}", {"archived": True})
    assert archived["archived"] is True

    def ids(page: dict[str, Any]) -> set[str]:
        return {c["id"] for c in page["items"]}

    # ``archived`` is a filter: omitted lists everything, true/false pick one side.
    everything = await ann.ok("GET", "/conversations")
    assert ids(everything) == {with_bob["id"], with_cat["id"]}
    assert {c["id"]: c["archived"] for c in everything["items"]} == {
        with_bob["id"]: True,
        with_cat["id"]: False,
    }
    assert ids(await ann.ok("GET", "/conversations", params={"archived": "true"})) == {
        with_bob["id"]
    }
    assert ids(await ann.ok("GET", "/conversations", params={"archived": "false"})) == {
        with_cat["id"]
    }
    # Bob did not archive it.
    assert ids(await bob.ok("GET", "/conversations", params={"archived": "false"})) == {
        with_bob["id"]
    }
    assert ids(await bob.ok("GET", "/conversations", params={"archived": "true"})) == set()

    await ann.ok("PATCH", f"/conversations/{with_bob['id']}", {"archived": False})
    assert ids(await ann.ok("GET", "/conversations", params={"archived": "true"})) == set()


async def test_get_and_patch_title_and_personal_flags(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    group = await ann.ok(
        "POST", "/conversations", {"participant_ids": [bob.id, cat.id], "title": "Old"}, status=201
    )
    cid = group["id"]
    sockets = {u.id: await u.socket() for u in (ann, bob, cat)}

    got = await bob.ok("GET", f"/conversations/{cid}")
    assert got["id"] == cid and got["title"] == "Old" and got["type"] == "group"

    renamed = await ann.ok("PATCH", f"/conversations/{cid}", {"title": "New"})
    assert renamed["title"] == "New"
    for user in (ann, bob, cat):
        (update,) = await sockets[user.id].wait_for("conversation:updated")
        assert update["id"] == cid and update["title"] == "New"
    assert (await cat.ok("GET", f"/conversations/{cid}"))["title"] == "New"

    for socket in sockets.values():
        socket.clear()
    pinned = await bob.ok("PATCH", f"/conversations/{cid}", {"pinned": True, "muted": True})
    assert (pinned["pinned"], pinned["muted"], pinned["archived"]) == (True, True, False)
    (own,) = await sockets[bob.id].wait_for("conversation:updated")
    assert own["pinned"] is True and own["muted"] is True
    await nothing_more(sockets[ann.id], sockets[cat.id], event="conversation:updated")
    for other in (ann, cat):
        view = await other.ok("GET", f"/conversations/{cid}")
        assert (view["pinned"], view["muted"]) == (False, False)
    listed = await bob.ok("GET", "/conversations")
    assert (listed["items"][0]["pinned"], listed["items"][0]["muted"]) == (True, True)

    unpinned = await bob.ok("PATCH", f"/conversations/{cid}", {"pinned": False})
    assert (unpinned["pinned"], unpinned["muted"]) == (False, True)

    for body in ({"title": ""}, {"title": 5}, {"pinned": "yes"}, {"colour": "red"}, [1]):
        await ann.fails(
            "PATCH", f"/conversations/{cid}", body, status=422, code="validation_failed"
        )


async def test_group_participants_add_and_remove(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    group = await ann.ok(
        "POST", "/conversations", {"participant_ids": [bob.id], "type": "group"}, status=201
    )
    cid = group["id"]
    bob_socket, cat_socket = await bob.socket(), await cat.socket()

    await cat.fails("GET", f"/conversations/{cid}/messages", status=403, code="forbidden")
    added = await ann.ok("POST", f"/conversations/{cid}/participants", {"user_ids": [cat.id]})
    assert sorted(added["participant_ids"]) == sorted([ann.id, bob.id, cat.id])
    (created,) = await cat_socket.wait_for("conversation:created")
    assert created["id"] == cid and cat.id in created["participant_ids"]
    updated = (await bob_socket.wait_for("conversation:updated"))[0]
    assert cat.id in updated["participant_ids"]

    first = await bob.send(cid, "welcome cat")
    # The join is a system message (tests/test_system_messages.py), then bob's.
    joined, heard = await cat_socket.wait_for("message:new", 2)
    assert (joined["kind"], joined["text"], heard) == ("system", "ann added cat", first)
    assert [m["id"] for m in (await cat.ok("GET", f"/conversations/{cid}/messages"))["items"]] == [
        joined["id"],
        first["id"],
    ]

    # Only the creator removes someone else.
    await bob.fails(
        "DELETE", f"/conversations/{cid}/participants/{cat.id}", status=403, code="forbidden"
    )
    removed = await ann.ok("DELETE", f"/conversations/{cid}/participants/{cat.id}")
    assert sorted(removed["participant_ids"]) == sorted([ann.id, bob.id])
    assert (
        cat.id not in (await bob_socket.wait_for("conversation:updated", 2))[1]["participant_ids"]
    )

    # The removed user hears nothing more, at once, and cannot read.
    second = await bob.send(cid, "cat is gone")
    heard = await bob_socket.wait_for("message:new", 4)
    assert [m["text"] for m in heard] == [
        "ann added cat",
        first["text"],
        "ann removed cat",
        second["text"],
    ]
    assert [heard[1], heard[3]] == [first, second]
    await nothing_more(cat_socket, event="message:new", count=2)
    await cat.fails("GET", f"/conversations/{cid}/messages", status=403, code="forbidden")
    ack = await cat_socket.call("message:history", {"conversation_id": cid})
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    await cat.fails("GET", f"/conversations/{cid}", status=403, code="forbidden")
    await ann.fails(
        "DELETE", f"/conversations/{cid}/participants/{cat.id}", status=404, code="not_found"
    )

    # A participant may leave by themselves.
    left = await bob.ok("DELETE", f"/conversations/{cid}/participants/{bob.id}")
    assert bob.id not in left["participant_ids"]
    await bob.fails("GET", f"/conversations/{cid}", status=403, code="forbidden")

    for body in ({"user_ids": []}, {"user_ids": ["no-such-user"]}, {"user_ids": cat.id}, {}):
        await ann.fails(
            "POST", f"/conversations/{cid}/participants", body, status=422, code="validation_failed"
        )


async def test_direct_conversations_refuse_participant_changes(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    direct = await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201)
    cid = direct["id"]
    await ann.fails(
        "POST",
        f"/conversations/{cid}/participants",
        {"user_ids": [cat.id]},
        status=422,
        code="validation_failed",
    )
    await ann.fails(
        "DELETE",
        f"/conversations/{cid}/participants/{bob.id}",
        status=422,
        code="validation_failed",
    )
    await bob.fails(
        "DELETE",
        f"/conversations/{cid}/participants/{bob.id}",
        status=422,
        code="validation_failed",
    )
    view = await ann.ok("GET", f"/conversations/{cid}")
    assert sorted(view["participant_ids"]) == sorted([ann.id, bob.id])


# Messages


async def test_rest_send_reaches_the_other_and_the_senders_own_socket(users):
    ann, bob = await users("ann", "bob")
    cid = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    ann_socket, bob_socket = await ann.socket(), await bob.socket()

    message = await ann.send(cid, "  over rest  ")
    assert message["conversation_id"] == cid and message["seq"] == 1
    assert message["sender_id"] == ann.id and message["text"] == "over rest"
    assert message["client_msg_id"] and ISO_MS.match(message["created_at"])
    assert (
        message["attachments"],
        message["reply_to"],
        message["edited_at"],
        message["deleted"],
    ) == ([], None, None, False)
    assert (await bob_socket.wait_for("message:new")) == [message]
    assert (await ann_socket.wait_for("message:new")) == [message]

    reply = await bob.ok(
        "POST",
        f"/conversations/{cid}/messages",
        {"text": "re", "client_msg_id": "bob-1", "reply_to": message["id"]},
        status=201,
    )
    assert (reply["seq"], reply["client_msg_id"], reply["reply_to"]) == (2, "bob-1", message["id"])
    assert (await ann_socket.wait_for("message:new", 2))[1] == reply
    # The body's client_msg_id deduplicates like on the socket.
    again = await bob.ok(
        "POST",
        f"/conversations/{cid}/messages",
        {"text": "re", "client_msg_id": "bob-1", "reply_to": message["id"]},
        status=201,
    )
    assert again == reply
    await nothing_more(ann_socket, bob_socket, event="message:new", count=2)


async def test_idempotency_key_replays_and_refuses_a_changed_body(users):
    ann, bob = await users("ann", "bob")
    cid = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    other = (
        await ann.ok(
            "POST", "/conversations", {"participant_ids": [bob.id], "type": "group"}, status=201
        )
    )["id"]
    bob_socket = await bob.socket()
    key = {"Idempotency-Key": "send-0001"}

    first = await ann.send(cid, "exactly once", headers=key)
    status, replay = await ann.call(
        "POST", f"/conversations/{cid}/messages", {"text": "exactly once"}, headers=key
    )
    assert (status, replay) == (201, first)
    assert (await bob_socket.wait_for("message:new")) == [first]
    await nothing_more(bob_socket, event="message:new", count=1)
    history = await bob.ok("GET", f"/conversations/{cid}/messages")
    assert [m["id"] for m in history["items"]] == [first["id"]]

    problem = await ann.fails(
        "POST",
        f"/conversations/{cid}/messages",
        {"text": "different"},
        headers=key,
        status=422,
        code="idempotency_mismatch",
    )
    assert problem["instance"] == f"{API}/conversations/{cid}/messages"
    # The same key for another conversation is another request.
    await ann.fails(
        "POST",
        f"/conversations/{other}/messages",
        {"text": "exactly once"},
        headers=key,
        status=422,
        code="idempotency_mismatch",
    )
    assert len((await bob.ok("GET", f"/conversations/{cid}/messages"))["items"]) == 1
    assert (await bob.ok("GET", f"/conversations/{other}/messages"))["items"] == []

    # Keys are per user.
    bobs = await bob.send(cid, "exactly once", headers=key)
    assert bobs["id"] != first["id"] and bobs["seq"] == 2

    # A refused request does not use the key up.
    retry = {"Idempotency-Key": "send-0002"}
    await ann.fails(
        "POST",
        f"/conversations/{cid}/messages",
        {"text": "   "},
        headers=retry,
        status=422,
        code="validation_failed",
    )
    fixed = await ann.send(cid, "fixed", headers=retry)
    assert fixed["seq"] == 3
    assert await ann.send(cid, "fixed", headers=retry) == fixed

    await ann.fails(
        "POST",
        f"/conversations/{cid}/messages",
        {"text": "x"},
        headers={"Idempotency-Key": "k" * 256},
        status=422,
        code="validation_failed",
    )
    # Keys longer than a client_msg_id (64) are fine too, up to 255 characters.
    for length in (65, 255):
        long_key = {"Idempotency-Key": f"{length}" + "k" * (length - 3)}
        long_first = await ann.send(cid, f"long key {length}", headers=long_key)
        assert await ann.send(cid, f"long key {length}", headers=long_key) == long_first
        await ann.fails(
            "POST",
            f"/conversations/{cid}/messages",
            {"text": "other"},
            headers=long_key,
            status=422,
            code="idempotency_mismatch",
        )
    assert [m["seq"] for m in (await ann.ok("GET", f"/conversations/{cid}/messages"))["items"]] == [
        1,
        2,
        3,
        4,
        5,
    ]


async def test_history_paging(users):
    ann, bob = await users("ann", "bob")
    cid = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    for n in range(1, 8):
        await (ann if n % 2 else bob).send(cid, f"m{n}")
    path = f"/conversations/{cid}/messages"

    async def page(**params: Any) -> tuple[list[int], bool]:
        body = await bob.ok("GET", path, params={k: str(v) for k, v in params.items()})
        return [m["seq"] for m in body["items"]], body["has_more"]

    everything = await bob.ok("GET", path)
    assert [m["text"] for m in everything["items"]] == [f"m{n}" for n in range(1, 8)]
    assert everything["has_more"] is False
    assert await page(limit=3) == ([5, 6, 7], True)  # the latest, ascending
    assert await page(before_seq=5, limit=3) == ([2, 3, 4], True)
    assert await page(before_seq=3, limit=3) == ([1, 2], False)
    assert await page(after_seq=2, limit=3) == ([3, 4, 5], True)
    assert await page(after_seq=5, limit=3) == ([6, 7], False)
    assert await page(after_seq=4, limit=3) == ([5, 6, 7], False)
    assert await page(after_seq=2, before_seq=6) == ([3, 4, 5], False)
    assert await page(after_seq=2, before_seq=7, limit=2) == ([3, 4], True)
    assert await page(after_seq=7) == ([], False)
    assert await page(before_seq=1) == ([], False)
    for params in (
        {"limit": "0"},
        {"limit": "101"},
        {"before_seq": "-1"},
        {"after_seq": "abc"},
        {"colour": "red"},
    ):
        await bob.fails("GET", path, params=params, status=422, code="validation_failed")


async def test_edit_and_soft_delete_over_rest(users):
    ann, bob = await users("ann", "bob")
    cid = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    ann_socket, bob_socket = await ann.socket(), await bob.socket()
    pdf = await ann.attachment(cid, b"%PDF-1.4\n%%EOF\n", "a.pdf", "application/pdf")
    message = await ann.send(cid, "secret plan", attachments=[pdf["id"]])
    assert message["attachments"] == [pdf]

    edited = await ann.ok("PATCH", f"/messages/{message['id']}", {"text": "  better plan "})
    assert edited["text"] == "better plan" and ISO_MS.match(edited["edited_at"])
    assert {k: v for k, v in edited.items() if k not in ("text", "edited_at")} == {
        k: v for k, v in message.items() if k not in ("text", "edited_at")
    }
    for socket in (ann_socket, bob_socket):
        assert (await socket.wait_for("message:edit")) == [edited]

    deleted = await ann.ok("DELETE", f"/messages/{message['id']}")
    assert deleted == {"message_id": message["id"]}
    for socket in (ann_socket, bob_socket):
        assert (await socket.wait_for("message:delete")) == [
            {"conversation_id": cid, "message_id": message["id"], "seq": 1}
        ]

    (stored,) = (await bob.ok("GET", f"/conversations/{cid}/messages"))["items"]
    assert (stored["id"], stored["text"], stored["deleted"], stored["attachments"]) == (
        message["id"],
        "",
        True,
        [],
    )
    # The conversation's last_message does not keep the deleted text either.
    last = (await bob.ok("GET", f"/conversations/{cid}"))["last_message"]
    assert last["id"] == message["id"] and last["text"] == "" and last["deleted"] is True
    listed = (await bob.ok("GET", "/conversations"))["items"][0]["last_message"]
    assert listed["text"] == "" and listed["deleted"] is True

    for body in ({"text": 5}, {}, {"text": "x", "colour": "red"}):
        await ann.fails(
            "PATCH", f"/messages/{message['id']}", body, status=422, code="validation_failed"
        )


async def test_read_marker_only_moves_forward(users):
    ann, bob = await users("ann", "bob")
    cid = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    ann_socket = await ann.socket()
    for n in range(4):
        await ann.send(cid, f"m{n}")
    path = f"/conversations/{cid}/read"

    assert await bob.ok("POST", path, {"seq": 3}) == {
        "conversation_id": cid,
        "read_seq": 3,
        "unread_count": 1,
    }
    (event,) = await ann_socket.wait_for("message:read")
    assert (event["conversation_id"], event["user_id"], event["seq"]) == (cid, bob.id, 3)
    assert ISO_MS.match(event["read_at"])

    assert await bob.ok("POST", path, {"seq": 1}) == {
        "conversation_id": cid,
        "read_seq": 3,
        "unread_count": 1,
    }
    view = await bob.ok("GET", f"/conversations/{cid}")
    assert (view["read_seq"], view["unread_count"]) == (3, 1)
    await nothing_more(ann_socket, event="message:read", count=1)

    # Past the end is clamped to the last message.
    assert await bob.ok("POST", path, {"seq": 99}) == {
        "conversation_id": cid,
        "read_seq": 4,
        "unread_count": 0,
    }
    assert (await ann_socket.wait_for("message:read", 2))[1]["seq"] == 4
    for body in ({"seq": -1}, {"seq": "3"}, {}, {"seq": 1, "colour": "red"}):
        await bob.fails("POST", path, body, status=422, code="validation_failed")


async def test_read_seqs_show_every_participants_marker(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    cid = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    for n in range(3):
        await ann.send(cid, f"m{n}")
    # Sending moves the sender's marker; bob has read nothing yet.
    for viewer in (ann, bob):
        assert (await viewer.ok("GET", f"/conversations/{cid}"))["read_seqs"] == {
            ann.id: 3,
            bob.id: 0,
        }

    await bob.ok("POST", f"/conversations/{cid}/read", {"seq": 2})
    for viewer in (ann, bob):
        view = await viewer.ok("GET", f"/conversations/{cid}")
        assert view["read_seqs"] == {ann.id: 3, bob.id: 2}
        assert view["read_seq"] == view["read_seqs"][viewer.id]
    listed = (await ann.ok("GET", "/conversations"))["items"]
    assert [c["read_seqs"] for c in listed] == [{ann.id: 3, bob.id: 2}]

    # A group: a new participant starts at 0, and a participant who leaves is gone.
    group = await ann.ok(
        "POST", "/conversations", {"participant_ids": [bob.id], "type": "group"}, status=201
    )
    gid = group["id"]
    assert group["read_seqs"] == {ann.id: 0, bob.id: 0}
    await bob.send(gid, "hello")
    added = await ann.ok("POST", f"/conversations/{gid}/participants", {"user_ids": [cat.id]})
    assert added["read_seqs"] == {ann.id: 0, bob.id: 1, cat.id: 0}
    left = await bob.ok("DELETE", f"/conversations/{gid}/participants/{bob.id}")
    assert left["read_seqs"] == {ann.id: 0, cat.id: 0}
    assert (await cat.ok("GET", f"/conversations/{gid}"))["read_seqs"] == {ann.id: 0, cat.id: 0}


async def test_unread_counts(users):
    ann, bob, cat, dan = await users("ann", "bob", "cat", "dan")
    direct = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))[
        "id"
    ]
    group = (
        await ann.ok("POST", "/conversations", {"participant_ids": [bob.id, cat.id]}, status=201)
    )["id"]
    alone = (await ann.ok("POST", "/conversations", {"participant_ids": [dan.id]}, status=201))[
        "id"
    ]
    await ann.send(direct, "a1")
    await ann.send(direct, "a2")
    await bob.send(direct, "b1")
    cats = [await cat.send(group, f"c{n}") for n in range(3)]
    await bob.send(group, "b2")
    await ann.send(alone, "only mine")

    async def counts(user: User) -> tuple[int, dict[str, int]]:
        body = await user.ok("GET", "/messages/unread-count")
        return body["total"], {k: v for k, v in body["conversations"].items() if v}

    assert await counts(ann) == (5, {direct: 1, group: 4})  # own messages never count
    # Sending moves the sender's own read marker to their message.
    assert await counts(bob) == (0, {})
    assert (await bob.ok("GET", f"/conversations/{group}"))["read_seq"] == 4
    assert await counts(cat) == (1, {group: 1})
    assert await counts(dan) == (1, {alone: 1})
    assert (await ann.ok("GET", f"/conversations/{alone}"))["unread_count"] == 0
    assert (await ann.ok("GET", f"/conversations/{group}"))["unread_count"] == 4

    await ann.ok("POST", f"/conversations/{group}/read", {"seq": 2})
    assert await counts(ann) == (3, {direct: 1, group: 2})
    await cat.ok("DELETE", f"/messages/{cats[2]['id']}")  # deleted: nothing to read
    assert await counts(ann) == (2, {direct: 1, group: 1})
    assert (await ann.ok("GET", f"/conversations/{group}"))["unread_count"] == 1


async def test_search_covers_only_the_callers_conversations(users):
    ann, bob, cat, dan = await users("ann", "bob", "cat", "dan")
    mine = (await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201))["id"]
    group = (
        await ann.ok("POST", "/conversations", {"participant_ids": [bob.id, cat.id]}, status=201)
    )["id"]
    theirs = (await cat.ok("POST", "/conversations", {"participant_ids": [dan.id]}, status=201))[
        "id"
    ]
    fox1 = await ann.send(mine, "The quick brown fox jumps")
    await bob.send(mine, "over the lazy dog")
    fox2 = await bob.send(group, "another fox appears")
    doomed = await ann.send(mine, "a fox to delete")
    await cat.send(theirs, "a private fox of cat and dan")

    async def search(user: User, **params: str) -> dict[str, Any]:
        return await user.ok("GET", "/messages/search", params=params)

    hits = (await search(ann, q="fox"))["items"]
    assert {h["message"]["id"] for h in hits} == {fox1["id"], fox2["id"], doomed["id"]}
    for hit in hits:
        assert "<mark>fox</mark>" in hit["highlight"]
        assert hit["message"]["conversation_id"] in (mine, group)

    await ann.ok("DELETE", f"/messages/{doomed['id']}")
    hits = (await search(ann, q="fox"))["items"]
    assert {h["message"]["id"] for h in hits} == {fox1["id"], fox2["id"]}

    only = (await search(ann, q="fox", conversation_id=mine))["items"]
    assert [h["message"]["id"] for h in only] == [fox1["id"]]
    assert only[0]["message"] == fox1
    both_words = (await search(ann, q="quick fox"))["items"]
    assert [h["message"]["id"] for h in both_words] == [fox1["id"]]
    assert (await search(ann, q="lazy", conversation_id=group))["items"] == []
    assert (await search(ann, q="nothingmatches"))["items"] == []

    first = await search(ann, q="fox", limit="1")
    assert len(first["items"]) == 1 and first["next_cursor"] is not None
    second = await search(ann, q="fox", limit="1", cursor=first["next_cursor"])
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert {first["items"][0]["message"]["id"], second["items"][0]["message"]["id"]} == {
        fox1["id"],
        fox2["id"],
    }

    cats = (await search(cat, q="fox"))["items"]
    assert len(cats) == 2 and fox2["id"] in {h["message"]["id"] for h in cats}
    assert {h["message"]["conversation_id"] for h in cats} == {group, theirs}

    await ann.fails(
        "GET",
        "/messages/search",
        params={"q": "fox", "conversation_id": theirs},
        status=403,
        code="forbidden",
    )
    await ann.fails(
        "GET",
        "/messages/search",
        params={"q": "fox", "conversation_id": "nope"},
        status=404,
        code="not_found",
    )
    # Highlights are HTML: the message text is escaped, only <mark> is markup.
    unsafe = await bob.send(group, "<img src=x onerror=alert(1)> fox & <b>friends</b>")
    (hit,) = (await search(ann, q="friends"))["items"]
    assert hit["message"]["id"] == unsafe["id"] and hit["message"]["text"] == unsafe["text"]
    assert "<img" not in hit["highlight"] and "<b>" not in hit["highlight"]
    assert "&lt;img" in hit["highlight"] and "&amp;" in hit["highlight"]
    assert "<mark>friends</mark>" in hit["highlight"]
    # Query syntax of the full-text engines does not leak through.
    for q in ['"fox', "fox*", "(fox", "fox'", "NEAR(fox", "-", "%", "*"]:
        await search(ann, q=q)

    for params in (
        {},
        {"q": ""},
        {"q": "fox", "cursor": "abc"},
        {"q": "fox", "limit": "0"},
        {"q": "fox", "cursor": "9" * 20},
        {"q": "fox", "cursor": "\u00b2"},
        {"q": "fox", "cursor": "-1"},
    ):
        await ann.fails(
            "GET", "/messages/search", params=params, status=422, code="validation_failed"
        )


async def test_outsiders_are_forbidden_and_unknown_ids_not_found(users):
    ann, bob, eve = await users("ann", "bob", "eve")
    cid = (
        await ann.ok("POST", "/conversations", {"participant_ids": [bob.id, eve.id]}, status=201)
    )["id"]
    await ann.ok("DELETE", f"/conversations/{cid}/participants/{eve.id}")
    mid = (await ann.send(cid, "secret words"))["id"]
    eve_socket = await eve.socket()

    def routes(conversation_id: str, message_id: str) -> list[tuple[str, str, Any, Any]]:
        return [
            ("GET", f"/conversations/{conversation_id}", None, None),
            ("PATCH", f"/conversations/{conversation_id}", {"title": "pwned"}, None),
            ("PATCH", f"/conversations/{conversation_id}", {"archived": True}, None),
            (
                "POST",
                f"/conversations/{conversation_id}/participants",
                {"user_ids": [eve.id]},
                None,
            ),
            ("DELETE", f"/conversations/{conversation_id}/participants/{ann.id}", None, None),
            ("DELETE", f"/conversations/{conversation_id}/participants/{eve.id}", None, None),
            ("GET", f"/conversations/{conversation_id}/messages", None, None),
            ("POST", f"/conversations/{conversation_id}/messages", {"text": "hi"}, None),
            ("POST", f"/conversations/{conversation_id}/read", {"seq": 1}, None),
            ("PATCH", f"/messages/{message_id}", {"text": "pwned"}, None),
            ("DELETE", f"/messages/{message_id}", None, None),
            ("GET", "/messages/search", None, {"q": "secret", "conversation_id": conversation_id}),
        ]

    for method, path, body, params in routes(cid, mid):
        await eve.fails(method, path, body, params=params, status=403, code="forbidden")
    for method, path, body, params in routes("no-such-conversation", "no-such-message"):
        await eve.fails(method, path, body, params=params, status=404, code="not_found")
        await ann.fails(method, path, body, params=params, status=404, code="not_found")

    # Nothing changed, nothing leaked.
    view = await ann.ok("GET", f"/conversations/{cid}")
    assert view["title"] is None and eve.id not in view["participant_ids"]
    # Seq 1 is the system message of eve's removal.
    assert ann.id in view["participant_ids"] and view["last_seq"] == 2
    removal, message = (await ann.ok("GET", f"/conversations/{cid}/messages"))["items"]
    assert removal["kind"] == "system" and removal["card"]["state"] == "removed"
    assert message["text"] == "secret words" and message["deleted"] is False
    assert (await eve.ok("GET", "/conversations"))["items"] == []
    assert (await eve.ok("GET", "/messages/search", params={"q": "secret"}))["items"] == []
    assert cid not in (await eve.ok("GET", "/messages/unread-count"))["conversations"]
    await quiet()  # for any event that would have leaked to eve
    assert dict(eve_socket.events) == {}

    status, _ = await eve.call("GET", f"/conversations/{cid}", headers={"Authorization": ""})
    assert status == 401
