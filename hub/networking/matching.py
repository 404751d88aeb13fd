"""Matching: who meets whom, first come first served, never a blocked pair and
never a pair that met in the lobby already.

``plan_pairs`` plans from a snapshot of the queue; ``Matcher`` claims the
planned pairs one by one (``LobbyQueues.claim`` is atomic, so two processes
planning from the same snapshot never pair a user twice) and starts a session
for each pair it won.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from itertools import combinations

from storage import Store
from storage.records import LobbyRecord

from ..clock import now_iso
from .lobbies import lobby_status
from .queues import LobbyQueues, pair_key
from .sessions import Sessions

LOCK_TTL_S = 10.0  # a matching pass holding the lobby lock longer than this loses it
LOCK_ATTEMPTS = 10
LOCK_RETRY_S = 0.05
PLAN_ATTEMPTS = 5  # plans from a fresh snapshot after a lost claim, per pass

Pair = tuple[str, str]


def plan_pairs(waiting: list[str], compatible: Callable[[str, str], bool]) -> list[Pair]:
    """First come first served: each waiting user, in queue order, takes the
    earliest later user they may meet. Then, while two users are left over who
    could each take one side of a planned pair, that pair is split between them
    (one more pair, nobody who was matched loses out). The earlier of each pair
    in the queue is first (the offerer)."""
    position = {user: index for index, user in enumerate(waiting)}
    pairs = _greedy_pairs(waiting, compatible)
    while _split_a_pair(waiting, pairs, compatible, position):
        pass
    return sorted(pairs, key=lambda pair: position[pair[0]])


def _greedy_pairs(waiting: list[str], compatible: Callable[[str, str], bool]) -> list[Pair]:
    pairs: list[Pair] = []
    matched: set[str] = set()
    for index, user in enumerate(waiting):
        if user in matched:
            continue
        for other in waiting[index + 1 :]:
            if other not in matched and compatible(user, other):
                pairs.append((user, other))
                matched |= {user, other}
                break
    return pairs


def _split_a_pair(
    waiting: list[str],
    pairs: list[Pair],
    compatible: Callable[[str, str], bool],
    position: dict[str, int],
) -> bool:
    """Replace one planned pair (p, q) with (x, p) and (y, q) for two users x, y
    left over, if there is such a swap; whether one was made."""
    matched = {user for pair in pairs for user in pair}
    left = [user for user in waiting if user not in matched]

    def ordered(a: str, b: str) -> Pair:
        return (a, b) if position[a] < position[b] else (b, a)

    for x, y in combinations(left, 2):
        for k, (p, q) in enumerate(pairs):
            for a, b in ((p, q), (q, p)):
                if compatible(x, a) and compatible(y, b):
                    pairs[k] = ordered(x, a)
                    pairs.append(ordered(y, b))
                    return True
    return False


class Matcher:
    def __init__(self, store: Store, queues: LobbyQueues, sessions: Sessions) -> None:
        self.store = store
        self.queues = queues
        self.sessions = sessions
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def match(self, lobby_id: str) -> None:
        """Pair whoever is waiting in an open lobby. One pass per lobby at a time
        in this process, and (through the queues' lock) in all of them; a lobby
        another process is matching is left to the next tick."""
        async with self._locks[lobby_id]:
            lobby = await self.store.networking.get_lobby(lobby_id)
            if lobby is None or lobby_status(lobby, now_iso()) != "open":
                return
            token = await self._lock(lobby_id)
            if token is None:
                return
            try:
                await self._match_locked(lobby)
            finally:
                await self.queues.unlock(lobby_id, token)

    async def _lock(self, lobby_id: str) -> str | None:
        for _ in range(LOCK_ATTEMPTS):
            token = await self.queues.lock(lobby_id, LOCK_TTL_S)
            if token is not None:
                return token
            await asyncio.sleep(LOCK_RETRY_S)
        return None

    async def _match_locked(self, lobby: LobbyRecord) -> None:
        """Plan from a snapshot and claim pair by pair; a claim fails when one of
        the two left meanwhile, and then the rest is planned again."""
        for _ in range(PLAN_ATTEMPTS):
            pairs = await self._plan(lobby.id)
            if not pairs:
                return
            lost = False
            for a, b in pairs:
                if await self.queues.claim(lobby.id, a, b):
                    await self.sessions.start(lobby, a, b)
                else:
                    lost = True
            if not lost:
                return

    async def _plan(self, lobby_id: str) -> list[Pair]:
        waiting = await self.queues.waiting(lobby_id)
        if len(waiting) < 2:
            return []
        excluded = await self.queues.met(lobby_id) | await self._blocked_pairs(waiting)
        return plan_pairs(waiting, lambda a, b: pair_key(a, b) not in excluded)

    async def _blocked_pairs(self, users: list[str]) -> set[str]:
        """``pair_key``s of the pairs among ``users`` where one blocked the other."""
        present = set(users)
        blocked = set()
        for user in users:
            for block in await self.store.blocks.list_by_blocker(user):
                if block.blocked_id in present:
                    blocked.add(pair_key(user, block.blocked_id))
        return blocked
