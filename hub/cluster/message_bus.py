"""The message bus of several processes: every send is published on Redis
and every process hands it to its own sockets (hub/conversations/delivery.py)."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import orjson
from redis.asyncio import Redis

from storage import Store

from ..conversations.delivery import stored_deliveries
from ..conversations.events import ConversationEvents
from ..conversations.sequencer import Delivery, Sequencer
from .redis import listen_forever

log = logging.getLogger(__name__)

CHANNEL = "hub:message-new"


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
