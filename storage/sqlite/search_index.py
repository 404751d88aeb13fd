"""The full-text index of messages, kept just behind the appends.

Indexing a message in FTS5 costs about as much as the rest of its append
(14 of 35 us of SQL per message, measured), and in a small transaction it
also writes a new FTS segment each time. So appends do not index: this
indexer adds every message past a watermark (``search_index_state``) in one
transaction a few times a second, in ``rowid`` order, and moves the watermark
in that same transaction. The watermark is on disk, so nothing is skipped
across a crash: ``open`` catches up before the hub serves. A search first
catches up too, so its results never miss an acked message.

Edits of an indexed message are re-indexed by a trigger (migration 9); edits
of one not yet indexed need nothing, since the indexer reads the current text.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from .database import Database

log = logging.getLogger(__name__)

# How long appends gather before they are indexed together: well inside the
# second within which search must see them.
INDEX_DELAY_S = 0.25
# Rows per indexing transaction, so a backlog never holds the writer long.
CHUNK_ROWS = 5000
RETRY_S = 1.0

_BEHIND_SQL = (
    "SELECT (SELECT indexed_rowid FROM search_index_state)"
    " < (SELECT COALESCE(MAX(rowid), 0) FROM messages)"
)


class SearchIndexer:
    """Indexes appended messages in batches, behind the group commit."""

    def __init__(self, db: Database, delay_s: float = INDEX_DELAY_S) -> None:
        self.db = db
        self.delay_s = delay_s
        self._appended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="search-indexer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def appended(self) -> None:
        """A message was committed: index it within ``delay_s``."""
        self._appended.set()

    async def catch_up(self) -> None:
        """Index every message committed so far (by any process on the file)."""
        while await self._index_chunk():
            pass

    async def current(self) -> None:
        """Return once every committed message is searchable."""
        row = await self.db.fetch_one(_BEHIND_SQL)
        if row is not None and row[0]:
            await self.catch_up()

    async def _run(self) -> None:
        failing = False
        while True:
            await self._appended.wait()
            await asyncio.sleep(self.delay_s)
            self._appended.clear()
            try:
                await self.catch_up()
                failing = False
            except Exception:
                if not failing:  # one log line per streak of failures
                    log.exception("search indexing failed; retrying")
                failing = True
                self._appended.set()
                await asyncio.sleep(RETRY_S)

    async def _index_chunk(self) -> bool:
        """Index up to CHUNK_ROWS messages past the watermark; whether any were."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT MAX(rowid) FROM (SELECT rowid FROM messages WHERE rowid >"
                " (SELECT indexed_rowid FROM search_index_state) ORDER BY rowid LIMIT ?)",
                (CHUNK_ROWS,),
            )
            row = await cursor.fetchone()
            top = row[0] if row is not None else None
            if top is None:
                return False
            await conn.execute(
                "INSERT INTO messages_fts(rowid, text) SELECT rowid, text FROM messages"
                " WHERE rowid > (SELECT indexed_rowid FROM search_index_state) AND rowid <= ?",
                (top,),
            )
            await conn.execute("UPDATE search_index_state SET indexed_rowid = ?", (top,))
        return True
