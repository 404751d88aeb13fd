"""Sessions: one per login, revocable, checked on every authenticated request.

A session is a login's refresh-token family (same id), and every access token
carries its id as ``sid``. Revoking a session revokes its refresh tokens, and
its access tokens fail ``authenticate`` from then on; its sockets are dropped
on every process through ``Revocations``.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import Store
from storage.records import SessionRecord

from ..clock import new_id, now_iso
from ..errors import NotFound, Unauthorized
from ..tokens import AccessClaims, TokenIssuer
from .models import SessionList, SessionView
from .revocations import Revocations

USER_AGENT_MAX = 256


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a login comes from, as the client's request tells it."""

    user_agent: str | None
    ip: str | None


class SessionService:
    """Creates, lists and revokes sessions, and authenticates access tokens."""

    def __init__(self, store: Store, tokens: TokenIssuer, revocations: Revocations) -> None:
        self.store = store
        self.tokens = tokens
        self.revocations = revocations

    async def authenticate(self, token: object) -> AccessClaims:
        """The claims of a valid access token whose session is active; Unauthorized otherwise.

        Read from the store every time, never cached: a revocation must hold
        at once, and this is one indexed point read. The session belongs to
        the token's user, which also proves that user exists (sessions are
        only made for existing users). Bans need nothing here: a ban revokes
        the user's sessions (``revoke_all``); refusing new logins of a banned
        user belongs in ``AccountService._sign_in``, which every login and
        refresh goes through.
        """
        claims = self.tokens.verify(token)
        session = await self.store.sessions.get(claims.session_id)
        if session is None or session.user_id != claims.user_id:
            raise Unauthorized("Unknown session")
        if session.revoked_at is not None:
            raise Unauthorized("Access token revoked")
        return claims

    async def start(self, user_id: str, client: ClientInfo) -> str:
        """Open a session for a login; its id (the new refresh-token family)."""
        now = now_iso()
        session = SessionRecord(
            id=new_id(),
            user_id=user_id,
            created_at=now,
            last_used_at=now,
            user_agent=client.user_agent[:USER_AGENT_MAX] if client.user_agent else None,
            ip=client.ip or None,
        )
        await self.store.sessions.create(session)
        return session.id

    async def resume(self, session_id: str, user_id: str) -> None:
        """A refresh uses the session: it must be active and the user's."""
        session = await self.store.sessions.get(session_id)
        if session is None or session.user_id != user_id or session.revoked_at is not None:
            raise Unauthorized("Invalid refresh token")
        await self.store.sessions.touch(session_id, now_iso())

    async def list_active(self, user_id: str, current_session_id: str) -> SessionList:
        """The user's active sessions, newest first, ``current`` marking the caller's."""
        sessions = await self.store.sessions.list_for_user(user_id)
        return SessionList(items=[SessionView.of(s, s.id == current_session_id) for s in sessions])

    async def revoke(self, user_id: str, session_id: str) -> None:
        """Revoke one of the user's own sessions (anyone else's is not found)."""
        session = await self.store.sessions.get(session_id)
        if session is None or session.user_id != user_id or session.revoked_at is not None:
            raise NotFound("Session not found")
        await self.end(session_id)

    async def revoke_all(self, user_id: str, except_id: str | None = None) -> None:
        """Revoke every active session of the user, but ``except_id`` if given
        (a password change keeps the session that made it)."""
        now = now_iso()
        revoked = await self.store.sessions.revoke_all_for_user(user_id, now, except_id)
        for session_id in revoked:
            await self.store.refresh_tokens.revoke_family(session_id, now)
        await self.revocations.announce(revoked)

    async def end(self, session_id: str) -> None:
        """Revoke a session whoever owns it: logout with its refresh token,
        or a refresh token presented twice (reuse means it leaked)."""
        now = now_iso()
        await self.store.refresh_tokens.revoke_family(session_id, now)
        if await self.store.sessions.revoke(session_id, now):
            await self.revocations.announce([session_id])
