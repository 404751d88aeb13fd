"""The Sequencer puts deliveries of a conversation back in seq order.

Its gap filler is a plain function over a list standing in for the store's
messages (a dependency it is given, not the project's code under test).
"""

from __future__ import annotations

from datetime import timedelta

from hub.clock import iso, utc_now
from hub.conversations.sequencer import Delivery, Sequencer
from waits import eventually


def stored(seq: int, age_s: float) -> Delivery:
    created_at = iso(utc_now() - timedelta(seconds=age_s))
    return Delivery("c1", seq, {"seq": seq, "created_at": created_at}, ["u1"])


def sequencer_over(
    store: list[Delivery], gap_timeout_s: float = 5.0
) -> tuple[Sequencer, list[int]]:
    delivered: list[int] = []

    async def deliver(delivery: Delivery) -> None:
        delivered.append(delivery.seq)

    async def fill(conversation_id: str, after_seq: int, before_seq: int) -> list[Delivery]:
        return [d for d in store if after_seq < d.seq < before_seq]

    return Sequencer(deliver, fill, gap_timeout_s), delivered


async def run(store: list[Delivery], arrivals: list[int]) -> list[int]:
    sequencer, delivered = sequencer_over(store)
    by_seq = {d.seq: d for d in store}
    for seq in arrivals:
        await sequencer.push(by_seq[seq])
    return delivered


async def test_first_sight_waits_for_every_recent_earlier_message() -> None:
    store = [stored(seq, age_s=100) for seq in range(1, 5)] + [stored(s, 0.1) for s in (5, 6, 7)]
    assert await run(store, [7, 5, 6]) == [5, 6, 7]


async def test_first_sight_after_old_messages_starts_at_once() -> None:
    store = [stored(seq, age_s=100) for seq in range(1, 7)] + [stored(7, 0.1)]
    assert await run(store, [7]) == [7]


async def test_a_gap_is_filled_from_the_store_after_the_timeout() -> None:
    store = [stored(seq, age_s=0.1) for seq in range(1, 5)]
    sequencer, delivered = sequencer_over(store, gap_timeout_s=0.1)
    await sequencer.push(store[0])
    await sequencer.push(store[2])  # seq 2 never arrives
    assert delivered == [1]
    await eventually(lambda: delivered == [1, 2, 3])  # the gap timer reads 2 from the store
    await sequencer.push(store[3])
    assert delivered == [1, 2, 3, 4]
