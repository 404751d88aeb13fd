"""Per-conversation reordering of message deliveries that arrive from many processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..clock import parse_iso, utc_now
from .views import Message


@dataclass(slots=True)
class Delivery:
    """One ``message:new`` to hand to this process's sockets."""

    conversation_id: str
    seq: int
    message: Message
    user_ids: list[str]
    skip_sid: str | None = None


@dataclass(slots=True)
class _Stream:
    next_seq: int
    pending: dict[int, Delivery] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None
    touched: float = field(default_factory=time.monotonic)


_LOOKBACK = 100  # earlier messages examined on first sight (one page of the store)

Deliver = Callable[[Delivery], Awaitable[None]]
# fill(conversation_id, after_seq, before_seq) -> the stored deliveries in between
Fill = Callable[[str, int, int], Awaitable[list[Delivery]]]


class Sequencer:
    """Hands deliveries on strictly in ``seq`` order per conversation.

    Processes publish independently, so seq 6 may arrive before seq 5. A
    delivery that is ahead waits; if the gap is not closed within
    ``gap_timeout_s`` the missing messages are read from the store.
    """

    def __init__(
        self, deliver: Deliver, fill: Fill, gap_timeout_s: float = 0.5, recent_s: float = 2.0
    ) -> None:
        self._deliver = deliver
        self._fill = fill
        self.gap_timeout_s = gap_timeout_s
        self.recent_s = recent_s
        self._streams: dict[str, _Stream] = {}
        self._lock = asyncio.Lock()
        self._swept_at = time.monotonic()

    async def push(self, delivery: Delivery) -> None:
        async with self._lock:
            stream = self._streams.get(delivery.conversation_id)
            if stream is None:
                stream = _Stream(await self._first_expected(delivery))
                self._streams[delivery.conversation_id] = stream
            stream.touched = time.monotonic()
            if delivery.seq >= stream.next_seq:
                stream.pending[delivery.seq] = delivery
                await self._drain(delivery.conversation_id, stream)

    def forget_idle(self, idle_s: float) -> None:
        """Drop the state of conversations with no traffic (bounds memory).
        Cheap to call often: it sweeps at most once per tenth of ``idle_s``."""
        now = time.monotonic()
        if now - self._swept_at < idle_s / 10:
            return
        self._swept_at = now
        cutoff = now - idle_s
        for conversation_id, stream in list(self._streams.items()):
            if stream.touched < cutoff and not stream.pending:
                del self._streams[conversation_id]

    async def _first_expected(self, delivery: Delivery) -> int:
        """On first sight, earlier messages stored moments ago may still be in
        flight (sends finish in any order, on any process): start at the
        oldest of them, so none is taken for a duplicate and dropped."""
        if delivery.seq == 1:
            return 1
        earlier = await self._fill(
            delivery.conversation_id, max(0, delivery.seq - 1 - _LOOKBACK), delivery.seq
        )
        for previous in earlier:  # ascending seq
            created_at = previous.message.get("created_at")
            if created_at and _age_s(created_at) < self.recent_s:
                return previous.seq
        return delivery.seq

    async def _drain(self, conversation_id: str, stream: _Stream) -> None:
        while stream.next_seq in stream.pending:
            await self._deliver(stream.pending.pop(stream.next_seq))
            stream.next_seq += 1
        if stream.timer is not None:
            stream.timer.cancel()
            stream.timer = None
        if stream.pending:
            stream.timer = asyncio.get_running_loop().call_later(
                self.gap_timeout_s, lambda: asyncio.ensure_future(self._close_gap(conversation_id))
            )

    async def _close_gap(self, conversation_id: str) -> None:
        async with self._lock:
            stream = self._streams.get(conversation_id)
            if stream is None or not stream.pending:
                return
            stream.timer = None
            first_waiting = min(stream.pending)
            for delivery in await self._fill(conversation_id, stream.next_seq - 1, first_waiting):
                stream.pending.setdefault(delivery.seq, delivery)
            if stream.next_seq not in stream.pending:
                # The store has no such seq (a writer died mid-append): skip it.
                stream.next_seq = min(stream.pending)
            await self._drain(conversation_id, stream)


def _age_s(iso_time: str) -> float:
    return (utc_now() - parse_iso(iso_time)).total_seconds()
