"""Conversation flags that do something (issue 17): ``muted`` stays out of the
unread total, ``pinned`` lists first, and a new message unarchives a conversation
unless it is muted.

Real sockets and REST on both storage engines: flags are set over one door and
seen over the other.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engines import ON_BOTH_ENGINES
from recorder import Recorder
from users import User
from waits import quiet

pytestmark = ON_BOTH_ENGINES


def send(cid: str, client_msg_id: str, text: str = "hello") -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text}


async def flag(socket: Recorder, cid: str, **flags: bool) -> dict[str, Any]:
    """``conversation:update`` of the caller's own flags: the Conversation."""
    conversation: dict[str, Any] = await socket.ok(
        "conversation:update", {"conversation_id": cid, **flags}
    )
    return conversation


async def listed(socket: Recorder, limit: int, **filters: Any) -> list[list[str]]:
    """Every page of ``conversation:list``, each as ids, following the cursors."""
    pages, cursor = [], None
    while True:
        payload = {"limit": limit, **filters, **({"cursor": cursor} if cursor else {})}
        page = await socket.ok("conversation:list", payload)
        pages.append([c["id"] for c in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20


async def rest_listed(user: User, limit: int) -> list[str]:
    """Every conversation of ``GET /conversations``, page after page."""
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = await user.ok("GET", "/conversations", params=params)
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_muted_conversations_stay_out_of_the_total_but_keep_their_count(users):
    ann, bob, cat = await users("ann", "bob", "cat")
    ann1 = await ann.socket()
    direct = (await ann1.ok("conversation:create", {"participant_ids": [bob.id]}))["id"]
    group = (await ann1.ok("conversation:create", {"participant_ids": [bob.id, cat.id]}))["id"]
    for n in range(2):
        await bob.send(direct, f"b{n}")
    for n in range(3):
        await cat.send(group, f"c{n}")

    async def unread() -> dict[str, Any]:
        body: dict[str, Any] = await ann.ok("GET", "/messages/unread-count")
        return body

    assert await unread() == {"total": 5, "conversations": {direct: 2, group: 3}}

    muted = await flag(ann1, group, muted=True)
    assert (muted["muted"], muted["unread_count"]) == (True, 3)
    assert await unread() == {"total": 2, "conversations": {direct: 2, group: 3}}
    # Still counted for the others, and new messages count in its own entry only.
    assert (await bob.ok("GET", "/messages/unread-count"))["total"] == 3
    await cat.send(group, "c3")
    assert await unread() == {"total": 2, "conversations": {direct: 2, group: 4}}

    await ann.ok("PATCH", f"/conversations/{group}", {"muted": False})
    assert await unread() == {"total": 6, "conversations": {direct: 2, group: 4}}


async def test_pinned_list_first_most_recently_pinned_first_and_page_through(users):
    ann, *others = await users("ann", "u0", "u1", "u2", "u3", "u4", "u5")
    ann1 = await ann.socket()
    convs = [
        (await ann1.ok("conversation:create", {"participant_ids": [o.id]}))["id"] for o in others
    ]
    # Activity order, newest last: 5 1 3 0 4 2.
    for index in (2, 4, 0, 3, 1, 5):
        await ann1.ok("message:send", send(convs[index], f"to-{index}"))
        await asyncio.sleep(0.005)  # on purpose: each message a later millisecond
    by_activity = [convs[i] for i in (5, 1, 3, 0, 4, 2)]
    assert await listed(ann1, 10) == [by_activity]

    # Pins: 0, then 4 (over REST), then 2: the latest pin first, then by activity.
    for index in (0, 4, 2):
        if index == 4:
            pinned = await ann.ok("PATCH", f"/conversations/{convs[4]}", {"pinned": True})
        else:
            pinned = await flag(ann1, convs[index], pinned=True)
        assert pinned["pinned"] is True
        await asyncio.sleep(0.005)  # on purpose: each pin a later millisecond
    expected = [convs[i] for i in (2, 4, 0, 5, 1, 3)]
    for limit in (1, 2, 4, 6):
        pages = await listed(ann1, limit)
        assert [cid for page in pages for cid in page] == expected, limit
        assert [len(page) for page in pages[:-1]] == [limit] * (len(pages) - 1)
        assert await rest_listed(ann, limit) == expected

    # Activity reorders each part, never across: a message in 3 puts it first
    # among the unpinned, one in 0 does not lift it above the later pins.
    await others[3].send(convs[3], "bump")
    await ann1.ok("message:send", send(convs[0], "bump"))
    expected = [convs[i] for i in (2, 4, 0, 3, 5, 1)]
    assert await listed(ann1, 3) == [expected[:3], expected[3:]]
    # Pinning again keeps the pin's date; unpinning puts it back by activity.
    await flag(ann1, convs[0], pinned=True)
    assert await listed(ann1, 10) == [expected]
    await flag(ann1, convs[4], pinned=False)
    expected = [convs[i] for i in (2, 0, 3, 5, 1, 4)]
    assert await listed(ann1, 4) == [expected[:4], expected[4:]]
    # The others' lists are theirs: no pins there.
    assert (await others[2].ok("GET", "/conversations"))["items"][0]["pinned"] is False
    # The archived filter keeps the order.
    await flag(ann1, convs[2], archived=True)
    await flag(ann1, convs[5], archived=True)
    assert await listed(ann1, 1, archived=True) == [[convs[2]], [convs[5]]]
    assert await listed(ann1, 2, archived=False) == [
        [convs[0], convs[3]],
        [convs[1], convs[4]],
    ]


async def test_a_new_message_unarchives_unless_muted(users):
    ann, bob, cat, dan = await users("ann", "bob", "cat", "dan")
    ann1, bob1, cat1 = await ann.socket(), await bob.socket(), await cat.socket()
    group = (await ann1.ok("conversation:create", {"participant_ids": [bob.id, cat.id, dan.id]}))[
        "id"
    ]
    await flag(bob1, group, archived=True)
    await flag(cat1, group, archived=True, muted=True)
    await dan.ok("PATCH", f"/conversations/{group}", {"archived": True})
    await quiet()
    for socket in (ann1, bob1, cat1):
        socket.clear()

    message = await ann1.ok("message:send", send(group, "back"))

    async def archived(user: User) -> bool:
        return bool((await user.ok("GET", f"/conversations/{group}"))["archived"])

    assert [await archived(u) for u in (bob, cat, dan)] == [False, True, False]
    assert (await bob.ok("GET", "/conversations", params={"archived": "true"}))["items"] == []
    cats = await cat.ok("GET", "/conversations", params={"archived": "true"})
    assert [c["id"] for c in cats["items"]] == [group]
    # Told by message:new alone: the rule is the client's to apply too.
    assert (await bob1.wait_for("message:new")) == [message]
    assert (await cat1.wait_for("message:new")) == [message]
    await quiet()
    assert bob1.events["conversation:updated"] == [] == cat1.events["conversation:updated"]

    # A resend is no new message: archived since, it stays archived.
    await flag(bob1, group, archived=True)
    again = await ann1.ok("message:send", send(group, "back"))
    assert again["id"] == message["id"] and await archived(bob)
    # Unmuted, the next message brings it back for cat as well (and a REST send counts).
    await flag(cat1, group, muted=False)
    await dan.send(group, "hi")
    assert [await archived(u) for u in (bob, cat, dan)] == [False, False, False]
