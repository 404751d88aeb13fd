"""How ``message:new`` reaches sockets: the bus a send publishes to, and the
one-process bus. Sends of one conversation finish their appends in any order
(group commit, concurrent writes), so deliveries go through a Sequencer that
puts them back in seq order and reads any gap from the store. With several
processes the Redis bus (hub/cluster/message_bus.py) carries them instead.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from storage import Store

from .events import ConversationEvents
from .sequencer import Delivery, Sequencer
from .views import message_view


class MessageBus(Protocol):
    async def publish(self, delivery: Delivery) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalMessageBus:
    """One process: the Sequencer hands each delivery to this process's sockets."""

    def __init__(
        self, store: Store, events: ConversationEvents, gap_timeout_s: float = 0.5
    ) -> None:
        self.store = store
        self.events = events
        self.sequencer = Sequencer(self._deliver, partial(stored_deliveries, store), gap_timeout_s)

    async def publish(self, delivery: Delivery) -> None:
        await self.sequencer.push(delivery)
        self.sequencer.forget_idle(600)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def _deliver(self, delivery: Delivery) -> None:
        await self.events.to_users(
            "message:new", delivery.message, delivery.user_ids, delivery.skip_sid
        )


async def stored_deliveries(
    store: Store, conversation_id: str, after_seq: int, before_seq: int
) -> list[Delivery]:
    """The Sequencer's gap filler: the stored messages between two seqs."""
    messages = await store.messages.range(
        conversation_id, after_seq=after_seq, before_seq=before_seq, limit=100
    )
    members = await store.conversations.member_ids(conversation_id)
    return [Delivery(conversation_id, m.seq, message_view(m), members) for m in messages]
