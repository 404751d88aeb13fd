"""One SQLite file: a writer connection (serialised) and a reader connection."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

from ..errors import DuplicateError, StorageError
from .aiosqlite_adapter import run_on_connection_thread
from .migrations import MIGRATIONS

Params = Sequence[Any] | Mapping[str, Any]

# The least time between two group commits while appends keep coming. A commit
# with synchronous=FULL costs about 250 us of CPU here (mostly the WAL's fsync),
# so back-to-back commits of a few appends each spend most of the core on
# fsync. Store alone, appends arriving at 4,000/s: writer-thread CPU per append
# 93 us without the spacing, 46 us with 1 ms, 36 us with 2 ms (p50 1.4, 0.9,
# 1.9 ms). The hub at half its peak rate (bench sends): 217, 149-168 and 130 us
# of CPU per ack, p99 5.4-6.0 and 6.7 ms; 4 ms gave 117 us but p99 9.6 ms.
# The first commit after a quiet spell does not wait.
COMMIT_SPACING_S = 0.002


class Database:
    """WAL-mode SQLite. Writes share one connection behind a lock so that a
    transaction never interleaves with another coroutine's statements; reads
    use a second connection and see only committed data.

    Every write path (``transaction``, ``write``, ``write_batched``) raises a
    broken constraint as ``storage.errors`` (see ``translate``), never as
    ``sqlite3.IntegrityError``."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._batch: list[tuple[str, Params, asyncio.Future[list[sqlite3.Row]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        await self._migrate()
        self._reader = await self._connect()

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={self.synchronous}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=10000")
        return conn

    async def _migrate(self) -> None:
        async with self.transaction() as conn:
            row = await (await conn.execute("PRAGMA user_version")).fetchone()
            version: int = row[0] if row is not None else 0
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _split_statements(script):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version={number}")

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT on the writer; rolled back on error.

        Returning from the block means the commit is on disk (WAL + synchronous).
        """
        conn = self._require(self._writer)
        async with self._write_lock:
            try:
                # Inside the try: a task cancelled while BEGIN is on its way
                # still has it run on the connection's thread, so it must be
                # rolled back too, or every later write finds a transaction open.
                await conn.execute("BEGIN IMMEDIATE")
                yield conn
            except BaseException as exc:
                await _roll_back(conn)
                if isinstance(exc, sqlite3.IntegrityError):
                    raise translate(exc) from exc
                raise
            await conn.execute("COMMIT")

    async def write(self, sql: str, params: Params = ()) -> int:
        """One statement in its own transaction; returns the rows changed."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def write_batched(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """One statement, committed together with the others queued meanwhile
        (group commit: one fsync for the lot). Returns its rows (RETURNING).

        Each statement is atomic on its own: a failing one (say, a unique
        index) is undone by SQLite and raised to its caller alone.
        """
        done: asyncio.Future[list[sqlite3.Row]] = asyncio.get_running_loop().create_future()
        self._batch.append((sql, params, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_batches())
        return await done

    async def _flush_batches(self) -> None:
        writer = self._require(self._writer)
        while self._batch:
            batch, self._batch = self._batch, []
            async with self._write_lock:
                outcomes: list[list[sqlite3.Row] | Exception]
                try:
                    # One trip to the database thread for the whole batch.
                    outcomes = list(
                        await run_on_connection_thread(writer, partial(_run_batch, batch=batch))
                    )
                except Exception as exc:  # the commit itself failed: nobody is durable
                    outcomes = [exc] * len(batch)
            _settle(batch, outcomes)
            if self._batch:
                # More came in during that commit: let still more join them,
                # for a commit's fsync costs the CPU of several appends.
                await asyncio.sleep(COMMIT_SPACING_S)

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self._require(self._reader).execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._require(self._reader).execute_fetchall(sql, params))

    @staticmethod
    def _require(conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise StorageError("database is not open")
        return conn


async def _roll_back(conn: aiosqlite.Connection) -> None:
    """ROLLBACK after whatever was sent before it: aiosqlite runs a connection's
    statements in order on its thread, so this comes after a BEGIN or a
    statement still in flight. Nothing to undo (BEGIN itself failed) is fine."""
    try:
        await conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "no transaction is active" not in str(exc):
            raise


def _run_batch(
    conn: sqlite3.Connection, batch: list[tuple[str, Params, asyncio.Future[list[sqlite3.Row]]]]
) -> list[list[sqlite3.Row] | sqlite3.Error]:
    """On the database thread: every statement of ``batch`` in one transaction,
    each statement's rows or its error, committed once (one fsync)."""
    outcomes: list[list[sqlite3.Row] | sqlite3.Error] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, params, _ in batch:
            try:
                outcomes.append(conn.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                outcomes.append(exc)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _settle(
    batch: list[tuple[str, Params, asyncio.Future[list[sqlite3.Row]]]],
    outcomes: list[list[sqlite3.Row] | Exception],
) -> None:
    """Give each waiting statement of ``batch`` its rows or its error."""
    for (_, _, done), outcome in zip(batch, outcomes, strict=False):
        if done.done():
            continue
        if isinstance(outcome, sqlite3.IntegrityError):
            error = translate(outcome)
            error.__cause__ = outcome
            done.set_exception(error)
        elif isinstance(outcome, Exception):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)


def translate(exc: sqlite3.IntegrityError) -> StorageError:
    """The ``storage.errors`` form of a broken constraint: DuplicateError for a
    unique key (the message names the index's columns), StorageError else."""
    text = str(exc)
    if "UNIQUE" in text or "PRIMARY KEY" in text:
        return DuplicateError(text)
    return StorageError(text)


def _split_statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";\n") if part.strip()]
