"""Who is behind each Engine.IO connection, which session it is of, and when
its token runs out."""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

ExpiryCallback = Callable[[str, dict[str, str]], Awaitable[None]]

# How long this process remembers that it heard a session revoked: longer than
# any store read of a connect that began before the revocation was stored.
REVOKED_MEMORY_S = 60.0


@dataclass(slots=True)
class Connection:
    user_id: str
    session_id: str  # the session of the newest token given (connect or auth:refresh)
    expires_at: float  # when the newest token seen on this connection runs out
    sids: dict[str, str] = field(default_factory=dict)  # namespace -> sid
    # The token verified at the first namespace connect, so that the same
    # token on the connection's other namespaces is not verified again.
    token_digest: bytes = b""
    token_expires_at: float = 0.0


def token_digest(token: str) -> bytes:
    """A collision-resistant fingerprint of a token, smaller than the token."""
    return hashlib.blake2b(token.encode(), digest_size=16).digest()


class ConnectionRegistry:
    """One record per client connection (Engine.IO session), shared by every
    namespace it opens, so that ``auth:refresh`` on any namespace extends all,
    and indexed by session, so that a revoked session's connections are found.

    Token expiry uses one timer for the whole process, not one per
    connection: connections are kept in buckets by the whole second their
    token runs out (JWT ``exp`` is whole seconds), and the timer is armed
    for the earliest bucket.
    """

    def __init__(self, on_expiry: ExpiryCallback) -> None:
        self._connections: dict[str, Connection] = {}
        self._on_expiry = on_expiry
        self._expiring: dict[int, set[str]] = {}  # second -> eio sids due then
        self._seconds: list[int] = []  # heap of the keys of _expiring (maybe stale)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_second: int | None = None
        self._by_session: dict[str, set[str]] = {}  # session id -> eio sids
        self._revoked: dict[str, float] = {}  # session id -> heard at (monotonic), oldest first
        self._expiring_now: set[asyncio.Future[None]] = set()  # referenced until done

    def get(self, eio_sid: str) -> Connection | None:
        return self._connections.get(eio_sid)

    def verified(self, eio_sid: str, token: str) -> Connection | None:
        """The connection, if ``token`` is the one already verified on it, has
        not expired since and its session was not revoked lately; None means:
        verify the token."""
        connection = self._connections.get(eio_sid)
        if (
            connection is None
            or connection.token_expires_at <= time.time()
            or not hmac.compare_digest(connection.token_digest, token_digest(token))
            or self.revoked_lately(connection.session_id)
        ):
            return None
        return connection

    def attach(
        self,
        eio_sid: str,
        namespace: str,
        sid: str,
        user_id: str,
        session_id: str,
        expires_at: float,
        token: str | None = None,
    ) -> None:
        """Record a namespace socket; ``token`` (verified, of ``session_id``,
        expiring at ``expires_at``) is remembered for the connection's other
        namespaces."""
        connection = self._connections.get(eio_sid)
        if connection is None:
            connection = self._connections[eio_sid] = Connection(user_id, session_id, expires_at)
            self._by_session.setdefault(session_id, set()).add(eio_sid)
            self._schedule(eio_sid, expires_at)
        elif connection.session_id != session_id:
            self._move(eio_sid, connection, session_id, token, expires_at)
        connection.sids[namespace] = sid
        if token is not None and not connection.token_digest:
            connection.token_digest = token_digest(token)
            connection.token_expires_at = expires_at
        self.extend(eio_sid, expires_at)

    def refreshed(self, eio_sid: str, session_id: str, token: str, expires_at: float) -> None:
        """``auth:refresh`` gave the connection a newer token, maybe of another
        session of its user (a new login): the connection follows it."""
        connection = self._connections.get(eio_sid)
        if connection is None:
            return  # disconnected meanwhile
        if connection.session_id != session_id:
            self._move(eio_sid, connection, session_id, token, expires_at)
        self.extend(eio_sid, expires_at)

    def detach(self, eio_sid: str, namespace: str) -> None:
        connection = self._connections.get(eio_sid)
        if connection is None:
            return
        connection.sids.pop(namespace, None)
        if not connection.sids:
            self._unschedule(eio_sid, connection.expires_at)
            self._unindex(eio_sid, connection.session_id)
            del self._connections[eio_sid]

    def revoke(self, session_ids: list[str]) -> list[dict[str, str]]:
        """Sessions were revoked: the namespace sockets (namespace -> sid) of
        every connection of theirs, for the caller to disconnect.

        Also remembered for a while, so that a connect whose session check
        began before the revocation was stored is refused when it ends
        (``revoked_lately``) rather than attached after this list was made.
        """
        now = time.monotonic()
        for session_id in session_ids:
            self._revoked.pop(session_id, None)
            self._revoked[session_id] = now
        while self._revoked:
            oldest = next(iter(self._revoked))
            if self._revoked[oldest] > now - REVOKED_MEMORY_S:
                break
            del self._revoked[oldest]
        return [
            dict(self._connections[eio_sid].sids)
            for session_id in session_ids
            for eio_sid in self._by_session.get(session_id, ())
        ]

    def revoked_lately(self, session_id: str) -> bool:
        """Whether this process heard of the session's revocation lately."""
        heard = self._revoked.get(session_id)
        return heard is not None and heard > time.monotonic() - REVOKED_MEMORY_S

    def _move(
        self,
        eio_sid: str,
        connection: Connection,
        session_id: str,
        token: str | None,
        expires_at: float,
    ) -> None:
        """Re-index the connection under another session, whose ``token`` is
        now the one remembered as verified (the old one's session may end)."""
        self._unindex(eio_sid, connection.session_id)
        connection.session_id = session_id
        self._by_session.setdefault(session_id, set()).add(eio_sid)
        connection.token_digest = token_digest(token) if token is not None else b""
        connection.token_expires_at = expires_at

    def _unindex(self, eio_sid: str, session_id: str) -> None:
        same_session = self._by_session.get(session_id)
        if same_session is not None:
            same_session.discard(eio_sid)
            if not same_session:
                del self._by_session[session_id]

    def extend(self, eio_sid: str, expires_at: float) -> None:
        """Move the connection's deadline to a newer token's expiry (never earlier)."""
        connection = self._connections[eio_sid]
        if expires_at <= connection.expires_at:
            return
        self._unschedule(eio_sid, connection.expires_at)
        connection.expires_at = expires_at
        self._schedule(eio_sid, expires_at)

    def _schedule(self, eio_sid: str, expires_at: float) -> None:
        second = math.ceil(expires_at)
        due = self._expiring.get(second)
        if due is None:
            due = self._expiring[second] = set()
            heapq.heappush(self._seconds, second)
        due.add(eio_sid)
        if self._timer_second is None or second < self._timer_second:
            self._arm(second)

    def _unschedule(self, eio_sid: str, expires_at: float) -> None:
        second = math.ceil(expires_at)
        due = self._expiring.get(second)
        if due is not None:
            due.discard(eio_sid)
            if not due:
                del self._expiring[second]  # its heap entry goes when it comes up

    def _arm(self, second: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, second - time.time())
        self._timer = asyncio.get_running_loop().call_later(delay, self._expire_due)
        self._timer_second = second

    def _expire_due(self) -> None:
        """The timer: hand every connection whose token ran out to on_expiry."""
        self._timer = self._timer_second = None
        now = time.time()
        while self._seconds and self._seconds[0] <= now:
            second = heapq.heappop(self._seconds)
            for eio_sid in self._expiring.pop(second, ()):
                connection = self._connections.get(eio_sid)
                if connection is not None and connection.expires_at <= now:
                    task = asyncio.ensure_future(self._on_expiry(eio_sid, dict(connection.sids)))
                    self._expiring_now.add(task)
                    task.add_done_callback(self._expiring_now.discard)
        if self._seconds:
            self._arm(self._seconds[0])
