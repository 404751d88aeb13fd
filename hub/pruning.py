"""Deleting what a store keeps past its retention, in bounded batches.

Each prune is a store method ``prune(before, limit) -> rows deleted`` whose
delete statement carries the whole rule, so several processes pruning at once
only find each other's rows gone; ``limit`` rows per statement keeps a large
backlog from holding the SQLite writer for long.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

PRUNE_BATCH = 1000  # rows per delete statement

Prune = Callable[[str, int], Awaitable[int]]  # (before, limit) -> rows deleted


async def prune_in_batches(
    prunes: Sequence[tuple[str, Prune]],
    before: str,
    on_pruned: Callable[[str, int], None],
    stop: asyncio.Event | None = None,
) -> int:
    """Run each ``(kind, prune)`` until it deletes fewer than a batch; tell
    ``on_pruned(kind, rows)`` of each batch; how many rows in all. Once
    ``stop`` is set no further statement starts."""
    total = 0
    for kind, prune in prunes:
        while stop is None or not stop.is_set():
            count = await prune(before, PRUNE_BATCH)
            if count:
                on_pruned(kind, count)
                total += count
            if count < PRUNE_BATCH:
                break
    return total
