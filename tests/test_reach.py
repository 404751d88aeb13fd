"""Reachability (issue 18): who has a /conversations socket open, which the
offline channels (Web Push, email digests) use to tell who to reach. Real
sockets on a real hub; the two-process case runs through Redis in the cluster
tests of the channels."""

from __future__ import annotations

import asyncio

import pytest

from hub.context import HUB
from users import Users
from waits import eventually

pytestmark = pytest.mark.hub_settings(presence_grace_s=0.2, presence_sweep_interval_s=0.05)


async def test_a_user_is_connected_while_a_conversations_socket_is_open(users: Users) -> None:
    reach = users.app[HUB].reach
    ann, bob = await users("ann", "bob")
    gone: list[str] = []

    async def note(user_id: str, since: str) -> None:
        gone.append(user_id)

    reach.on_disconnected(note)
    assert await reach.connected_among([ann.id, bob.id]) == set()

    first, second = await ann.socket(), await ann.socket()
    assert await reach.connected_among([ann.id, bob.id]) == {ann.id}

    await first.client.disconnect()
    await asyncio.sleep(0.4)  # on purpose: past the grace, one socket is still open
    assert await reach.connected_among([ann.id]) == {ann.id} and gone == []

    await second.client.disconnect()
    await eventually(lambda: gone == [ann.id])
    assert await reach.connected_among([ann.id, bob.id]) == set()
