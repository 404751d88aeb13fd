"""The one place storage uses aiosqlite's internals.

aiosqlite runs each call on its connection's own thread, one trip per call. The
group commit (``Database.write_batched``) runs a whole batch of statements,
BEGIN to COMMIT, in one trip: per-statement trips cost more than the
statements. aiosqlite has no public call that runs a function of ours on that
thread with the ``sqlite3.Connection``; its private ``Connection._execute``
(run a function on the thread) and ``Connection._conn`` (the ``sqlite3``
connection) are that call. The nearest upstream discussion, asking for
statements to run back to back on the thread, was closed without one:
https://github.com/omnilib/aiosqlite/issues/19. Checked against aiosqlite
0.22; the store contract tests cover it (every message append goes through it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

import aiosqlite

T = TypeVar("T")


async def run_on_connection_thread(
    conn: aiosqlite.Connection, function: Callable[[sqlite3.Connection], T]
) -> T:
    """``function(sqlite3_connection)`` on ``conn``'s thread, in turn with its
    other calls; its result or its exception."""
    # _execute has no annotations upstream: cast to what it does.
    execute = cast(
        "Callable[[Callable[[sqlite3.Connection], T], sqlite3.Connection], Awaitable[T]]",
        conn._execute,
    )
    return await execute(function, conn._conn)
