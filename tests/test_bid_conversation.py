"""A bid has exactly one conversation, whichever path opens it first: a party
creating one with ``context: {type: "bid", id}`` (socket or REST) before or
after the bid is accepted, or accepting. Only the bid's parties may use a bid
context, and only a job's parties a job context.

Over real HTTP and real /conversations sockets, on both storage engines
(MongoDB: the mongomock double unless HUB_TEST_MONGODB_URL is set).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import pytest_asyncio

from engines import ON_BOTH_ENGINES
from market_client import hire, post_bid, post_job
from recorder import Recorder
from users import User, Users
from waits import quiet

pytestmark = ON_BOTH_ENGINES


class Story:
    """A job of ``owner``'s with a bid of ``fred``'s; ``cole`` is the owner's
    colleague (a client), ``otto`` a freelancer with nothing to do with it. Each
    has a /conversations socket that only listens (``heard``), so every event it
    records was meant for that account."""

    async def make(self, users: Users) -> Story:
        self.owner, self.cole = await users("cora", "cole")
        self.fred, self.otto = await users("fred", "otto", role="freelancer")
        self.heard = {p.id: await p.socket() for p in (self.owner, self.cole, self.fred, self.otto)}
        self.job = await post_job(self.owner)
        self.bid = await post_bid(self.fred, self.job)
        self.context = {"type": "bid", "id": self.bid["id"]}
        return self

    async def accept(self) -> dict[str, Any]:
        return await hire(self.owner, self.fred, self.bid)

    def heard_by(self, person: User) -> Recorder:
        return self.heard[person.id]

    def created(self, person: User, conversation_id: str) -> list[dict[str, Any]]:
        """The ``conversation:created`` events of ``conversation_id`` the person heard."""
        events = self.heard_by(person).events["conversation:created"]
        return [c for c in events if c["id"] == conversation_id]

    async def about_bid(self, person: User) -> list[dict[str, Any]]:
        """The person's conversations with this bid's context."""
        page = await person.ok("GET", "/conversations", params={"limit": 100})
        return [c for c in page["items"] if c["context"] == self.context]


@pytest_asyncio.fixture
async def story(users: Users) -> Story:
    return await Story().make(users)


async def talk_already(story: Story) -> dict[str, Any]:
    """The owner and fred get a plain direct conversation (about something else)."""
    return await story.owner.ok(
        "POST", "/conversations", {"participant_ids": [story.fred.id]}, status=201
    )


@pytest.mark.parametrize("already_talking", [False, True], ids=["new-pair", "talking-pair"])
async def test_a_conversation_opened_while_shortlisting_is_the_bids_on_accept(
    story: Story, already_talking: bool
) -> None:
    plain = await talk_already(story) if already_talking else None
    await story.owner.ok("POST", f"/bids/{story.bid['id']}/shortlist")
    owner_socket = await story.owner.socket()
    opened = await owner_socket.ok(
        "conversation:create", {"participant_ids": [story.fred.id], "context": story.context}
    )
    assert opened["context"] == story.context
    assert opened["type"] == ("group" if plain else "direct")

    accepted = await story.accept()

    assert accepted["conversation_id"] == opened["id"]
    for person in (story.owner, story.fred):
        assert (await person.ok("GET", f"/bids/{story.bid['id']}/conversation"))["id"] == opened[
            "id"
        ]
        assert [c["id"] for c in await story.about_bid(person)] == [opened["id"]]
    await quiet(0.3)  # for stray events, before counting them
    assert len(story.created(story.fred, opened["id"])) == 1
    assert len(story.heard_by(story.fred).events["conversation:created"]) == (2 if plain else 1)


async def test_after_accept_either_party_creating_gets_the_same_one(story: Story) -> None:
    accepted = await story.accept()
    bid_conversation = accepted["conversation_id"]
    owner_socket, fred_socket = await story.owner.socket(), await story.fred.socket()

    again = [
        await owner_socket.ok(
            "conversation:create", {"participant_ids": [story.fred.id], "context": story.context}
        ),
        await fred_socket.ok(
            "conversation:create",
            {"participant_ids": [story.owner.id], "type": "direct", "context": story.context},
        ),
        await story.fred.ok(
            "POST",
            "/conversations",
            {"participant_ids": [story.owner.id], "context": story.context},
            status=201,
        ),
        await story.owner.ok(
            "POST",
            "/conversations",
            {
                "participant_ids": [story.fred.id],
                "type": "group",
                "title": "Another",
                "context": story.context,
            },
            status=201,
        ),
    ]

    assert {c["id"] for c in again} == {bid_conversation}
    assert {c["title"] for c in again} == {None}  # the request's title is ignored
    await quiet(0.3)  # for stray events, before counting them
    for person in (story.owner, story.fred):
        assert len(story.created(person, bid_conversation)) == 1  # from accepting, none since
        assert len(story.heard_by(person).events["conversation:created"]) == 1
        assert [c["id"] for c in await story.about_bid(person)] == [bid_conversation]


async def test_a_pair_that_already_talks_gets_a_group_about_the_bid(story: Story) -> None:
    plain = await talk_already(story)

    accepted = await story.accept()

    bid_conversation = await story.fred.ok("GET", f"/bids/{story.bid['id']}/conversation")
    assert bid_conversation["id"] == accepted["conversation_id"] != plain["id"]
    assert (bid_conversation["type"], bid_conversation["title"], bid_conversation["context"]) == (
        "group",
        "Mobile app",
        story.context,
    )
    assert sorted(bid_conversation["participant_ids"]) == sorted([story.owner.id, story.fred.id])
    fred_socket = await story.fred.socket()
    again = await fred_socket.ok(
        "conversation:create", {"participant_ids": [story.owner.id], "context": story.context}
    )
    assert again["id"] == bid_conversation["id"]
    # A plain direct request is still the pair's direct conversation, unchanged.
    direct = await story.fred.ok(
        "POST", "/conversations", {"participant_ids": [story.owner.id]}, status=201
    )
    assert (direct["id"], direct["context"]) == (plain["id"], None)


@pytest.mark.parametrize("already_talking", [False, True], ids=["new-pair", "talking-pair"])
async def test_concurrent_creates_and_accept_make_one_conversation(
    story: Story, already_talking: bool
) -> None:
    if already_talking:  # every create then races to make the group about the bid
        await talk_already(story)
    await story.owner.ok("POST", f"/bids/{story.bid['id']}/award")
    owner_sockets = [await story.owner.socket() for _ in range(3)]
    fred_sockets = [await story.fred.socket() for _ in range(3)]
    by_owner = {"participant_ids": [story.fred.id], "context": story.context}
    by_fred = {"participant_ids": [story.owner.id], "context": story.context}

    results = await asyncio.gather(
        *(s.ok("conversation:create", by_owner) for s in owner_sockets),
        *(s.ok("conversation:create", by_fred) for s in fred_sockets),
        *(story.owner.ok("POST", "/conversations", by_owner, status=201) for _ in range(3)),
        *(story.fred.ok("POST", "/conversations", by_fred, status=201) for _ in range(3)),
        story.fred.ok("POST", f"/bids/{story.bid['id']}/accept"),
    )

    *created, accepted = results
    assert {c["id"] for c in created} == {accepted["conversation_id"]}
    await quiet(0.3)  # for stray events, before counting them
    for person in (story.owner, story.fred):
        assert [c["id"] for c in await story.about_bid(person)] == [accepted["conversation_id"]]
        assert len(story.created(person, accepted["conversation_id"])) == 1
        assert len(story.heard_by(person).events["conversation:created"]) == (
            2 if already_talking else 1
        )


async def test_only_the_parties_use_a_bid_or_job_context(story: Story) -> None:
    job_context = {"type": "job", "id": story.job["id"]}
    otto_socket = await story.otto.socket()
    for context in (story.context, job_context):
        await otto_socket.error(
            "conversation:create",
            {"participant_ids": [story.owner.id], "context": context},
            "forbidden",
        )
        await story.otto.fails(
            "POST",
            "/conversations",
            {"participant_ids": [story.owner.id], "context": context},
            status=403,
            code="forbidden",
        )
    # The owner's colleague is no party either.
    await story.cole.fails(
        "POST",
        "/conversations",
        {"participant_ids": [story.fred.id], "context": story.context},
        status=403,
        code="forbidden",
    )
    for missing in (
        {"type": "bid", "id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"},
        {"type": "job", "id": "no-such-job"},
    ):
        await otto_socket.error(
            "conversation:create",
            {"participant_ids": [story.owner.id], "context": missing},
            "not_found",
        )
        await story.otto.fails(
            "POST",
            "/conversations",
            {"participant_ids": [story.owner.id], "context": missing},
            status=404,
            code="not_found",
        )
    # A direct conversation about a bid is with the bid's other party.
    await story.owner.fails(
        "POST",
        "/conversations",
        {"participant_ids": [story.cole.id], "context": story.context},
        status=422,
        code="validation_failed",
    )
    # The job's owner and a bidder may talk about the job, in as many
    # conversations as they like (only a bid has exactly one).
    about_job = await story.fred.ok(
        "POST",
        "/conversations",
        {"participant_ids": [story.owner.id], "type": "group", "context": job_context},
        status=201,
    )
    assert about_job["context"] == job_context
    assert (
        await story.owner.ok(
            "POST",
            "/conversations",
            {"participant_ids": [story.cole.id], "context": job_context},
            status=201,
        )
    )["id"] != about_job["id"]
    await quiet(0.3)  # for stray events, before counting them
    assert story.heard_by(story.otto).events["conversation:created"] == []


async def test_no_bid_conversation_between_blocked_parties(story: Story) -> None:
    await story.fred.ok("POST", f"/users/{story.owner.id}/block")
    await story.owner.fails(
        "POST",
        "/conversations",
        {"participant_ids": [story.fred.id], "type": "group", "context": story.context},
        status=403,
        code="forbidden",
    )


async def test_the_owners_group_with_a_colleague_gains_the_freelancer_on_accept(
    story: Story,
) -> None:
    group = await story.owner.ok(
        "POST",
        "/conversations",
        {"participant_ids": [story.cole.id], "type": "group", "context": story.context},
        status=201,
    )
    assert (group["title"], sorted(group["participant_ids"])) == (
        "Mobile app",
        sorted([story.owner.id, story.cole.id]),
    )
    await story.heard_by(story.cole).wait_for("conversation:created")

    accepted = await story.accept()

    assert accepted["conversation_id"] == group["id"]
    joined = (await story.heard_by(story.fred).wait_for("conversation:created"))[0]
    assert joined["id"] == group["id"]
    assert sorted(joined["participant_ids"]) == sorted(
        [story.owner.id, story.cole.id, story.fred.id]
    )
    updated = (await story.heard_by(story.cole).wait_for("conversation:updated"))[0]
    assert story.fred.id in updated["participant_ids"]
    history = await story.fred.ok("GET", f"/bids/{story.bid['id']}/conversation")
    assert history["id"] == group["id"]
    await quiet(0.3)  # for stray events, before counting them
    assert len(story.heard_by(story.fred).events["conversation:created"]) == 1
