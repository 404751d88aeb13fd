"""``Idempotency-Key``: a REST request that creates or moves something can be
retried, concurrently too, and is carried out once.

- Scope: the key belongs to the user and the route; 1..255 characters; it
  expires 24 h after the request that claimed it.
- The first request with a key claims it: a pending record, unique on
  (scope, key). Requests arriving meanwhile with the same key wait for it
  (polling, up to ``wait_s``) and replay its response byte for byte; if it is
  still running by then they get 409 ``conflict`` and may retry.
- The same key with another request (path or body) is 422
  ``idempotency_mismatch``.
- The claim is committed in the same transaction as what the request writes
  to the marketplace (``Transition.claim``, see ``Claims.attach``): a request
  whose key was taken over meanwhile (it ran past ``lease_s``) writes nothing.
- A request that fails before committing anything gives its key back, so a
  corrected retry runs; once it committed, its response, error or not, is the
  key's.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import orjson

from storage.interfaces import IdempotencyStore
from storage.records import IdempotencyRecord, KeyClaim, Transition

from .clock import iso, utc_now
from .errors import Conflict, IdempotencyMismatch, ValidationFailed

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
KEY_TTL = timedelta(hours=24)
PENDING, COMMITTED = 0, 1  # record statuses below an HTTP status


@dataclass(frozen=True, slots=True)
class Reply:
    """A response as sent, kept to be replayed byte for byte."""

    status: int
    content_type: str
    body: bytes

    def stored(self) -> dict[str, str]:
        return {"content_type": self.content_type, "text": self.body.decode()}

    @classmethod
    def of(cls, record: IdempotencyRecord) -> Reply:
        return cls(record.status, record.body["content_type"], record.body["text"].encode())


@dataclass(slots=True)
class Claim:
    """The request being served: its key claim (``key`` None when the client
    sent no key) and whether it has committed anything yet."""

    scope: str
    key: str | None
    token: str
    committed: bool = False


_current: ContextVar[Claim | None] = ContextVar("idempotency_claim", default=None)


class Idempotency:
    def __init__(
        self,
        store: IdempotencyStore,
        wait_s: float = 5.0,
        poll_s: float = 0.02,
        lease_s: float = 300.0,
    ) -> None:
        self.store = store
        self.wait_s = wait_s
        self.poll_s = poll_s
        self.lease_s = lease_s
        self._sweeper: asyncio.Task[None] | None = None

    async def run(
        self,
        user_id: str,
        operation: str,
        key: str | None,
        request: Any,
        action: Callable[[], Awaitable[Reply]],
    ) -> Reply:
        """Serve ``action`` once per (user, operation, key): ``request`` is what
        identifies it (path and body), compared on a replay."""
        scope = f"{user_id}:{operation}"
        if key is None:
            return await self._serve(Claim(scope, None, ""), action)
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValidationFailed.field(
                "Idempotency-Key", f"Must be 1..{MAX_KEY_LENGTH} characters"
            )
        request_hash = hashlib.sha256(
            orjson.dumps(request, option=orjson.OPT_SORT_KEYS)
        ).hexdigest()
        claimed = await self._claim(scope, key, request_hash)
        if isinstance(claimed, Reply):
            return claimed
        claim = Claim(scope, key, claimed.created_at)
        try:
            reply = await self._serve(claim, action)
        except BaseException:
            if not claim.committed:
                # Shielded: a cancelled request must still give its key back.
                await asyncio.shield(self.store.release(scope, key, claim.token))
            raise
        if reply.status >= 400 and not claim.committed:
            await self.store.release(scope, key, claim.token)
        elif not await self.store.complete(scope, key, claim.token, reply.status, reply.stored()):
            log.warning("idempotency key %r of %s was taken over while its request ran", key, scope)
        return reply

    @staticmethod
    async def _serve(claim: Claim, action: Callable[[], Awaitable[Reply]]) -> Reply:
        token = _current.set(claim)
        try:
            return await action()
        finally:
            _current.reset(token)

    async def _claim(self, scope: str, key: str, request_hash: str) -> IdempotencyRecord | Reply:
        """The record this request now holds the key with, or the reply to replay."""
        deadline = time.monotonic() + self.wait_s
        while True:
            now = utc_now()
            record = IdempotencyRecord(scope, key, request_hash, PENDING, None, iso(now))
            if await self.store.reserve(record):
                return record
            stored = await self.store.get(scope, key)
            if stored is None:
                continue  # given back in between: try again
            lease_over = stored.created_at < iso(now - timedelta(seconds=self.lease_s))
            if (stored.status == PENDING and lease_over) or stored.created_at < iso(now - KEY_TTL):
                # Its request died before committing anything, or it expired.
                if await self.store.take_over(
                    record,
                    pending_before=iso(now - timedelta(seconds=self.lease_s)),
                    any_before=iso(now - KEY_TTL),
                ):
                    return record
                continue
            if stored.request_hash != request_hash:
                raise IdempotencyMismatch("This Idempotency-Key was used with a different request")
            if stored.status > COMMITTED:
                return Reply.of(stored)
            if stored.status == COMMITTED and lease_over:
                raise Conflict(
                    "The request with this Idempotency-Key was carried out but its "
                    "response was lost; read the resource for its result"
                )
            if time.monotonic() >= deadline:
                raise Conflict(
                    "A request with this Idempotency-Key is still in progress; retry it shortly"
                )
            await asyncio.sleep(self.poll_s)

    async def start(self, purge_every_s: float = 3600.0) -> None:
        """Delete expired keys now and then (they are never replayed anyway)."""
        self._sweeper = asyncio.create_task(self._purge(purge_every_s), name="idempotency-purge")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)

    async def _purge(self, every_s: float) -> None:
        while True:
            try:
                await self.store.purge(iso(utc_now() - KEY_TTL))
            except Exception as exc:  # the store is down: try again next time
                log.warning("idempotency keys not purged: %s", exc)
            await asyncio.sleep(every_s)


def attach_claim(transition: Transition) -> Transition:
    """``transition`` as the marketplace must apply it: under the claim of the
    request being served, which the store commits with it (the first time
    only). Money moves only in such a request (or for a provider's event):
    a route that moves money cannot be served without idempotency."""
    claim = _current.get()
    if claim is None:
        if transition.movement is not None and transition.event_id is None:
            raise RuntimeError("money moved outside an idempotent request")
        return transition
    if claim.key is None or claim.committed:
        return transition
    return replace(transition, claim=KeyClaim(claim.scope, claim.key, claim.token))


def mark_committed() -> None:
    """Record that the request being served has committed a transition."""
    claim = _current.get()
    if claim is not None:
        claim.committed = True
