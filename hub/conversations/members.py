"""Participant lists of conversations, cached for the send path."""

from __future__ import annotations

from storage import Store


class MemberLists:
    """Each conversation's participant ids, tagged with its ``members_version``.

    Every append returns the version it saw, so a list that changed since it
    was cached (in this process or any other) is noticed without a query;
    only then is it read again. Holds at most ``capacity`` conversations.
    """

    def __init__(self, store: Store, capacity: int = 10_000) -> None:
        self.store = store
        self.capacity = capacity
        self._lists: dict[str, tuple[int, list[str]]] = {}

    def latest(self, conversation_id: str) -> list[str] | None:
        """The cached list whatever its version (it may be stale), or None."""
        cached = self._lists.get(conversation_id)
        return cached[1] if cached is not None else None

    async def get(self, conversation_id: str, version: int) -> list[str]:
        cached = self._lists.get(conversation_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        members = await self.store.conversations.member_ids(conversation_id)
        self._lists.pop(conversation_id, None)
        if len(self._lists) >= self.capacity:
            del self._lists[next(iter(self._lists))]  # the oldest entry
        self._lists[conversation_id] = (version, members)
        return members
