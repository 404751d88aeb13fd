"""``Idempotency-Key`` for REST writes: replay the first response, refuse a changed body."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from storage.interfaces import IdempotencyStore
from storage.records import IdempotencyRecord

from .clock import now_iso
from .errors import IdempotencyMismatch, ValidationFailed

Action = Callable[[], Awaitable[tuple[int, Any]]]
MAX_KEY_LENGTH = 255


class Idempotency:
    def __init__(self, store: IdempotencyStore) -> None:
        self.store = store

    async def run(self, user_id: str, operation: str, key: str | None, body: Any,
                  action: Action) -> tuple[int, Any]:
        """Run ``action`` once per (user, operation, key); return (status, body)."""
        if key is None:
            return await action()
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValidationFailed.field("Idempotency-Key", f"Must be 1..{MAX_KEY_LENGTH} characters")
        scope = f"{user_id}:{operation}"
        request_hash = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        stored = await self.store.get(scope, key)
        if stored is None:
            status, response = await action()
            if status >= 400:
                return status, response
            record = IdempotencyRecord(scope, key, request_hash, status, response, now_iso())
            if await self.store.put(record):
                return status, response
            stored = await self.store.get(scope, key)
            assert stored is not None
        if stored.request_hash != request_hash:
            raise IdempotencyMismatch("This Idempotency-Key was used with a different request")
        return stored.status, stored.body
