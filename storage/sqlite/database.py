"""One SQLite file: a writer connection (serialised) and a reader connection."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from ..errors import DuplicateError, StorageError
from .migrations import MIGRATIONS

Params = Sequence[Any] | Mapping[str, Any]


class Database:
    """WAL-mode SQLite. Writes share one connection behind a lock so that a
    transaction never interleaves with another coroutine's statements; reads
    use a second connection and see only committed data."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

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
            version = row[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _split_statements(script):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version={number}")

    async def close(self) -> None:
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
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def write(self, sql: str, params: Params = ()) -> int:
        """One statement in its own transaction; returns the rows changed."""
        try:
            async with self.transaction() as conn:
                cursor = await conn.execute(sql, params)
                return cursor.rowcount
        except sqlite3.IntegrityError as exc:
            raise _translate(exc) from exc

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        cursor = await self._require(self._reader).execute(sql, params)
        return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        cursor = await self._require(self._reader).execute(sql, params)
        return list(await cursor.fetchall())

    @staticmethod
    def _require(conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise StorageError("database is not open")
        return conn


def _translate(exc: sqlite3.IntegrityError) -> Exception:
    if "UNIQUE" in str(exc):
        return DuplicateError(str(exc))
    return StorageError(str(exc))


def _split_statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";\n") if part.strip()]
