"""Typing indicators that expire on the server when a client stops refreshing them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

ExpireCallback = Callable[[str, str], Awaitable[None]]


class TypingTracker:
    """Remembers who is typing where; calls ``on_expire(conversation_id, user_id)``
    when a ``typing: true`` is not refreshed in time."""

    def __init__(self, on_expire: ExpireCallback) -> None:
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._on_expire = on_expire

    def start(self, conversation_id: str, user_id: str, expires_in_s: float) -> None:
        key = (conversation_id, user_id)
        self.stop(conversation_id, user_id)
        self._timers[key] = asyncio.get_running_loop().call_later(
            expires_in_s, lambda: asyncio.ensure_future(self._expire(key))
        )

    def stop(self, conversation_id: str, user_id: str) -> bool:
        """Forget a typing user; True if they were typing."""
        timer = self._timers.pop((conversation_id, user_id), None)
        if timer is not None:
            timer.cancel()
        return timer is not None

    async def _expire(self, key: tuple[str, str]) -> None:
        if self._timers.pop(key, None) is not None:
            await self._on_expire(*key)

    def conversations_of(self, user_id: str) -> list[str]:
        return [conversation for conversation, user in self._timers if user == user_id]
