"""Sessions and refresh tokens are not kept forever (HUB_SESSION_RETENTION_DAYS).

Every refresh adds a refresh-token row (about 96 a day for a client that
keeps a 15-minute access token fresh) and every login a session. Each process
deletes, at start and then every ``every_s``, ``PRUNE_BATCH`` rows per
statement until none is left:

- refresh tokens that expired more than the retention ago. ``refresh()``
  refuses an expired token before anything else, with the same 401 as an
  unknown one, and never looks at the other tokens of its family: so deleting
  one changes no answer, and a rotated token presented again within its life
  (reuse: the family is revoked) is never deleted. The only difference: logout
  with such a token (which could not refresh for the whole retention) no longer
  finds its session to end.
- sessions revoked (logout, ``DELETE /auth/sessions/{id}``, reuse, password
  change, ban) more than the retention ago: nothing reads a revoked session but
  to refuse its tokens, which an unknown session is refused alike.
- sessions never revoked but expired: last used more than the retention ago
  and none of whose refresh tokens expires within it. Nothing can refresh them
  (and their access tokens expired long before), though ``GET /auth/sessions``
  still listed them.

The conditions are the whole rule, checked in each delete statement, so
several processes pruning at once only find each other's rows gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from storage import Store

from ..clock import iso, utc_now
from ..pruning import Prune, prune_in_batches

log = logging.getLogger(__name__)


class SessionPruner:
    def __init__(
        self,
        store: Store,
        retention_s: float,
        every_s: float = 3600.0,
        on_pruned: Callable[[str, int], None] = lambda kind, count: None,
    ) -> None:
        self.store = store
        self.retention = timedelta(seconds=retention_s)
        self.every_s = every_s
        self.on_pruned = on_pruned  # "refresh_token" or "session", rows deleted
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def prune(self, now: datetime | None = None, stop: asyncio.Event | None = None) -> int:
        """Delete what ended more than the retention before ``now``; how many
        rows. Once ``stop`` is set, no further statement starts."""
        before = iso((now or utc_now()) - self.retention)
        prunes: list[tuple[str, Prune]] = [
            ("refresh_token", self.store.refresh_tokens.prune),
            ("session", self.store.sessions.prune_revoked),
            ("session", self.store.sessions.prune_expired),
        ]
        total = await prune_in_batches(prunes, before, self.on_pruned, stop)
        if total:
            log.info("sessions: %d rows that ended before %s deleted", total, before)
        return total

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._prune_forever(), name="session-pruner")

    async def stop(self) -> None:
        """Stop after the statement running, if any: never cancelled within
        one (a SQLite write cancelled while it begins its transaction would
        leave the transaction open on the shared writer)."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _prune_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.prune(stop=self._stopping)
            except Exception as exc:  # the store away: try again next time
                log.warning("sessions not pruned: %s", exc)
            try:
                await asyncio.wait_for(self._stopping.wait(), self.every_s)
            except TimeoutError:
                pass
