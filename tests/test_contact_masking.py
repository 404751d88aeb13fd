"""Contact masking (HUB_CONTACT_MASKING) and the business messaging policy
(HUB_DM_POLICY) of issue 20, with real clients over real sockets and REST, on
each storage engine."""

from __future__ import annotations

from typing import Any

import pytest

from engines import ON_BOTH_ENGINES
from hub.context import HUB
from market_client import hire, post_bid, post_job
from recorder import Recorder
from users import User, Users

pytestmark = ON_BOTH_ENGINES

PHONE = "Let's skip the fees: call me on +44 20 7946 0958 tonight 🙂"
MASKED = "Let's skip the fees: call me on [contact hidden] tonight 🙂"


def send(cid: str, client_msg_id: str, text: str, **more: Any) -> dict[str, Any]:
    return {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text, **more}


async def pair(users: Users) -> tuple[User, User, Recorder, Recorder, str]:
    """Ann, a client, and Fred, a freelancer, in the direct conversation Fred started."""
    (ann,) = await users("ann")
    (fred,) = await users("fred", role="freelancer")
    ann1, fred1 = await ann.socket(), await fred.socket()
    direct = await fred1.ok("conversation:create", {"participant_ids": [ann.id]})
    return ann, fred, ann1, fred1, direct["id"]


async def test_a_pre_award_phone_number_is_masked_until_the_bid_is_accepted(users):
    ann, fred, ann1, fred1, cid = await pair(users)

    ack = await fred1.ok("message:send", send(cid, "m1", PHONE, mentions=[ann.id]))

    assert ack["text"] == MASKED and ack["masked"] is True
    assert ack["mentions"] == [ann.id]  # masking leaves the mentions alone
    (new,) = await ann1.wait_for("message:new")
    assert new["text"] == MASKED and "masked" not in new
    history = await ann1.ok("message:history", {"conversation_id": cid})
    assert [m["text"] for m in history["items"]] == [MASKED]
    assert "original_text" not in history["items"][0]
    _, page = await ann.call("GET", f"/conversations/{cid}/messages")
    assert [m["text"] for m in page["items"]] == [MASKED]
    # The original is kept, flagged, for moderators.
    stored = await users.app[HUB].store.messages.get(ack["id"])
    assert stored is not None
    assert (stored.text, stored.original_text, stored.flagged) == (MASKED, PHONE, True)

    # Once Ann hired Fred, the same text goes through as written.
    job = await post_job(ann)
    bid = await post_bid(fred, job)
    await hire(ann, fred, bid)
    again = await fred1.ok("message:send", send(cid, "m2", PHONE))
    assert again["text"] == PHONE and "masked" not in again
    stored = await users.app[HUB].store.messages.get(again["id"])
    assert stored is not None and (stored.original_text, stored.flagged) == (None, False)
    # And from the client's side too.
    back = await ann.send(cid, "mine is ann.smith@example.com")
    assert back["text"] == "mine is ann.smith@example.com" and "masked" not in back


async def test_masking_over_rest_and_edits_and_clean_text_untouched(users):
    ann, _fred, _ann1, fred1, cid = await pair(users)
    clean = "The budget is $1,250.00, deadline 2024-05-01 at 10:30 (v2.3.1)"
    plain = await ann.send(cid, clean)
    assert plain["text"] == clean and "masked" not in plain

    masked = await ann.send(cid, "Write to me: ann at gmail dot com")
    assert masked == {**masked, "text": "Write to me: [contact hidden]", "masked": True}

    mine = await fred1.ok("message:send", send(cid, "f1", "hello"))
    edit = await fred1.ok(
        "message:edit", {"message_id": mine["id"], "text": "t.me/fred_dev is faster"}
    )
    assert edit["text"] == "[contact hidden] is faster" and edit["masked"] is True
    stored = await users.app[HUB].store.messages.get(mine["id"])
    assert stored is not None and stored.original_text == "t.me/fred_dev is faster"


async def test_between_two_clients_nothing_is_masked(users):
    ann, bob = await users("ann", "bob")
    ann1 = await ann.socket()
    direct = await ann1.ok("conversation:create", {"participant_ids": [bob.id]})
    ack = await ann1.ok("message:send", send(direct["id"], "m1", PHONE))
    assert ack["text"] == PHONE and "masked" not in ack


async def test_a_group_with_an_unhired_pair_is_masked(users):
    ann, bob = await users("ann", "bob")
    (fred,) = await users("fred", role="freelancer")
    ann1 = await ann.socket()
    group = await ann1.ok(
        "conversation:create", {"participant_ids": [bob.id, fred.id], "type": "group"}
    )
    ack = await ann1.ok("message:send", send(group["id"], "m1", PHONE))
    assert ack["text"] == MASKED and ack["masked"] is True


@pytest.mark.hub_settings(contact_masking="block")
async def test_block_mode_refuses_and_stores_nothing(users):
    _ann, fred, ann1, fred1, cid = await pair(users)

    error = await fred1.error("message:send", send(cid, "m1", PHONE), "contact_details")
    assert "bid" in error["message"]
    await fred.fails(
        "POST",
        f"/conversations/{cid}/messages",
        {"text": "john at gmail dot com"},
        status=403,
        code="contact_details",
    )
    history = await ann1.ok("message:history", {"conversation_id": cid})
    assert history["items"] == []
    # Text without contact details still goes through.
    assert (await fred1.ok("message:send", send(cid, "m2", "hello")))["text"] == "hello"


@pytest.mark.hub_settings(contact_masking="off")
async def test_off_lets_everything_through(users):
    _, _, _, fred1, cid = await pair(users)
    ack = await fred1.ok("message:send", send(cid, "m1", PHONE))
    assert ack["text"] == PHONE and "masked" not in ack


@pytest.mark.hub_settings(dm_policy="business")
async def test_business_policy_a_freelancer_reaches_a_client_only_about_a_bid(users):
    ann, bob = await users("ann", "bob")
    fred, finn = await users("fred", "finn", role="freelancer")
    fred1 = await fred.socket()

    error = await fred1.error("conversation:create", {"participant_ids": [ann.id]}, "forbidden")
    assert "bid" in error["message"]
    await fred.fails(
        "POST", "/conversations", {"participant_ids": [ann.id]}, status=403, code="forbidden"
    )
    # Freelancers among themselves are not restricted.
    await fred1.ok("conversation:create", {"participant_ids": [finn.id]})

    job = await post_job(ann)
    bid = await post_bid(fred, job)
    about_job = await fred1.ok(
        "conversation:create",
        {"participant_ids": [ann.id], "context": {"type": "job", "id": job["id"]}},
    )
    assert about_job["context"] == {"type": "job", "id": job["id"]}
    about_bid = await fred1.ok(
        "conversation:create",
        {"participant_ids": [ann.id], "context": {"type": "bid", "id": bid["id"]}},
    )
    assert about_bid["context"] == {"type": "bid", "id": bid["id"]}
    # The job is Ann's: Fred cannot bring Bob, another client, in through it.
    await fred1.error(
        "conversation:create",
        {
            "participant_ids": [ann.id, bob.id],
            "type": "group",
            "context": {"type": "job", "id": job["id"]},
        },
        "forbidden",
    )
    # Nor add him later to a group about the job.
    group = await fred1.ok(
        "conversation:create",
        {
            "participant_ids": [ann.id],
            "type": "group",
            "context": {"type": "job", "id": job["id"]},
        },
    )
    await fred1.error(
        "conversation:add_participants",
        {"conversation_id": group["id"], "user_ids": [bob.id]},
        "forbidden",
    )
    # A client may start a conversation with any freelancer.
    bob1 = await bob.socket()
    await bob1.ok("conversation:create", {"participant_ids": [finn.id]})
