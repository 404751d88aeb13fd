"""How ``message:new`` reaches sockets: directly in one process, via Redis in many."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis

from storage import Store

from ..conversations.events import ConversationEvents
from ..conversations.views import message_view
from .redis import listen_forever
from .sequencer import Delivery, Sequencer

log = logging.getLogger(__name__)

CHANNEL = "hub:message-new"


class MessageBus(Protocol):
    async def publish(self, delivery: Delivery) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalMessageBus:
    """One process: sends of one conversation finish their appends in any
    order (group commit, concurrent writes), so a Sequencer puts them back in
    seq order before they reach the sockets."""

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


class RedisMessageBus:
    """Many processes: every process (the sender's too) receives each message
    over Redis pub/sub and hands it to its own sockets through a Sequencer,
    so order and gaps are mended on the receiving side."""

    def __init__(
        self,
        redis: Redis,
        listener: Redis,
        store: Store,
        events: ConversationEvents,
        gap_timeout_s: float = 0.5,
        on_publish_error: Any = None,
    ) -> None:
        self.redis = redis
        self.listener = listener
        self.store = store
        self.events = events
        self.sequencer = Sequencer(
            self._deliver_locally, partial(stored_deliveries, store), gap_timeout_s
        )
        self._on_publish_error = on_publish_error
        self._task: asyncio.Task[None] | None = None

    async def publish(self, delivery: Delivery) -> None:
        payload = orjson.dumps(
            {
                "conversation_id": delivery.conversation_id,
                "seq": delivery.seq,
                "message": delivery.message,
                "user_ids": delivery.user_ids,
                "skip_sid": delivery.skip_sid,
            }
        )
        try:
            await self.redis.publish(CHANNEL, payload)
        except Exception as exc:  # Redis down: the store has it; serve our own sockets
            log.warning(
                "cannot publish message %s/%s: %s", delivery.conversation_id, delivery.seq, exc
            )
            if self._on_publish_error:
                self._on_publish_error()
            await self.sequencer.push(delivery)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="message-bus")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.listener.aclose()

    async def _listen(self) -> None:
        await listen_forever(self.listener, CHANNEL, self._received, "message bus")

    async def _received(self, data: bytes) -> None:
        await self.sequencer.push(Delivery(**orjson.loads(data)))
        self.sequencer.forget_idle(600)

    async def _deliver_locally(self, delivery: Delivery) -> None:
        await self.events.to_local_users(
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
