"""Private presence (issue 20): the batched relation queries, every engine.

Who shares a conversation, a bid or a networking connection with a user, and
who is on either side of a block with them: one query each for a list of ids.
Each test runs on SQLite and on MongoDB (the mongomock double unless
HUB_TEST_MONGODB_URL is set).
"""

from __future__ import annotations

from engines import add_users
from storage.interfaces import Store
from storage.records import BlockRecord, LobbyRecord, NetworkingSessionRecord, Transition
from test_conversation_store_contract import T0, direct, members, new_group
from test_market_store_contract import bid, job

NOW = "2026-01-01T10:00:00.000Z"


async def test_share_conversation_names_the_members_of_a_common_conversation(
    store: Store,
) -> None:
    await add_users(store, "u1", "u2", "u3", "u4", "u5")
    await new_group(store, "g1", "u1", "u2", "u3")
    await store.conversations.create(direct("d1", "u1", "u4"), members("d1", "u1", "u4"))
    await new_group(store, "g2", "u2", "u5")  # u5 shares nothing with u1

    others = ["u2", "u3", "u4", "u5", "nobody"]
    assert await store.conversations.share_conversation("u1", others) == {"u2", "u3", "u4"}
    assert await store.conversations.share_conversation("u5", ["u1", "u2"]) == {"u2"}
    assert await store.conversations.share_conversation("u1", []) == set()
    assert await store.conversations.share_conversation("nobody", ["u1"]) == set()
    await store.conversations.remove_member("g1", "u3")
    assert await store.conversations.share_conversation("u1", others) == {"u2", "u4"}


async def test_bid_partners_are_a_job_owner_and_its_bidders_both_ways(store: Store) -> None:
    await add_users(store, "client1", "client2", "free1", "free2", "free3")
    await store.market.apply(
        Transition(
            inserts=[
                job("j1"),
                job("j2", owner="client2"),
                bid("b1", freelancer="free1"),
                bid("b2", freelancer="free2", status="withdrawn", active_key=None),
                bid("b3", job_id="j2", owner_id="client2", freelancer="free3"),
            ]
        )
    )

    everyone = ["client1", "client2", "free1", "free2", "free3"]
    assert await store.market.bid_partners("client1", everyone) == {"free1", "free2"}
    assert await store.market.bid_partners("free1", everyone) == {"client1"}
    assert await store.market.bid_partners("free3", everyone) == {"client2"}
    assert await store.market.bid_partners("free1", ["free2", "client2"]) == set()
    assert await store.market.bid_partners("client1", []) == set()


async def test_connected_peers_need_both_sides_to_have_chosen_to_connect(store: Store) -> None:
    await add_users(store, "admin", "a", "b", "c")
    await store.networking.create_lobby(
        LobbyRecord(
            id="L1", title="t", topic="x", duration_minutes=2, created_by="admin", created_at=NOW
        )
    )

    def session(session_id: str, offerer: str, answerer: str) -> NetworkingSessionRecord:
        return NetworkingSessionRecord(
            id=session_id,
            lobby_id="L1",
            offerer_id=offerer,
            answerer_id=answerer,
            offerer_conn="c1",
            answerer_conn="c2",
            started_at=NOW,
            ends_at=NOW,
        )

    await store.networking.create_session(session("S1", "a", "b"))
    await store.networking.create_session(session("S2", "c", "a"))
    assert await store.networking.connected_peers("a", ["b", "c"]) == set()

    await store.networking.mark_connected("S1", NOW)
    await store.networking.mark_connected("S2", NOW)
    assert await store.networking.connected_peers("a", ["b", "c", "admin"]) == {"b", "c"}
    assert await store.networking.connected_peers("b", ["a", "c"]) == {"a"}
    assert await store.networking.connected_peers("c", ["a"]) == {"a"}
    assert await store.networking.connected_peers("a", []) == set()


async def test_blocked_either_way_names_blockers_and_blocked(store: Store) -> None:
    await add_users(store, "u1", "u2", "u3", "u4")
    await store.blocks.add(BlockRecord("u1", "u2", T0))
    await store.blocks.add(BlockRecord("u3", "u1", T0))
    await store.blocks.add(BlockRecord("u2", "u4", T0))

    assert await store.blocks.blocked_either_way("u1", ["u2", "u3", "u4"]) == {"u2", "u3"}
    assert await store.blocks.blocked_either_way("u4", ["u1", "u2", "u3"]) == {"u2"}
    assert await store.blocks.blocked_either_way("u1", []) == set()
    await store.blocks.remove("u1", "u2")
    assert await store.blocks.blocked_either_way("u1", ["u2", "u3"]) == {"u3"}
