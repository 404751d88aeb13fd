"""``Idempotency-Key`` for REST writes: replay the first response, refuse a changed body.

A key is reserved before the action runs: the first request with a key
inserts a pending record (unique on user, operation and key), so of two
concurrent requests with the same key only one executes. The other waits
(polling, up to ``wait_s``) for the first to finish and then replays its
response; if the first is still running after that, it gets 409 ``conflict``
and may simply retry. A request that fails (an error response or an
exception) releases its reservation, so a corrected retry with the same key
runs. A reservation left pending by a process that died is taken over after
``lease_s`` (by one request only: the take-over is a conditional update).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import orjson

from storage.interfaces import IdempotencyStore
from storage.records import IdempotencyRecord

from .clock import iso, utc_now
from .errors import Conflict, IdempotencyMismatch, ValidationFailed

Action = Callable[[], Awaitable[tuple[int, Any]]]
MAX_KEY_LENGTH = 255


class Idempotency:
    def __init__(self, store: IdempotencyStore, wait_s: float = 5.0, poll_s: float = 0.02,
                 lease_s: float = 300.0) -> None:
        self.store = store
        self.wait_s = wait_s
        self.poll_s = poll_s
        self.lease_s = lease_s

    async def run(self, user_id: str, operation: str, key: str | None, body: Any,
                  action: Action) -> tuple[int, Any]:
        """Run ``action`` once per (user, operation, key); return (status, body)."""
        if key is None:
            return await action()
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValidationFailed.field("Idempotency-Key", f"Must be 1..{MAX_KEY_LENGTH} characters")
        scope = f"{user_id}:{operation}"
        request_hash = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        replay = await self._reserve(scope, key, request_hash)
        if replay is not None:
            return replay
        try:
            status, response = await action()
        except BaseException:
            # Shielded: a cancelled request must still give its key back.
            await asyncio.shield(self.store.release(scope, key))
            raise
        if status >= 400:
            await self.store.release(scope, key)
            return status, response
        stored = response.model_dump(mode="json") if hasattr(response, "model_dump") else response
        await self.store.complete(scope, key, status, stored)
        return status, response

    async def _reserve(self, scope: str, key: str, request_hash: str) -> tuple[int, Any] | None:
        """None once this request holds the key; the stored response to replay otherwise."""
        deadline = time.monotonic() + self.wait_s
        while True:
            now = utc_now()
            record = IdempotencyRecord(scope, key, request_hash, 0, None, iso(now))
            if await self.store.reserve(record):
                return None
            stored = await self.store.get(scope, key)
            if stored is None:
                continue  # released in between: try to reserve again
            if stored.request_hash != request_hash:
                raise IdempotencyMismatch("This Idempotency-Key was used with a different request")
            if stored.status != 0:
                return stored.status, stored.body
            stale_before = iso(now - timedelta(seconds=self.lease_s))
            if stored.created_at < stale_before and await self.store.reclaim(
                    scope, key, stale_before, record):
                return None
            if time.monotonic() >= deadline:
                raise Conflict("A request with this Idempotency-Key is still in progress; "
                               "retry it shortly")
            await asyncio.sleep(self.poll_s)
