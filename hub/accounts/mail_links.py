"""Account mails (issue 19): forgot/reset password and email verification.

Each mails the user a single-use link whose token the store keeps only as a
SHA-256 hash, with an expiry. ``forgot`` answers the same, in the same time,
whether the account exists or not: the request path only checks the per-address
rate limit and queues the rest (looking the user up, the token, the mail) in
the background.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from storage import Store
from storage.records import AccountTokenPurpose, AccountTokenRecord, UserRecord

from ..clock import iso, now_iso, utc_now
from ..errors import NotFound, RateLimited, Unavailable, ValidationFailed
from ..offline import templates
from ..offline.mailer import Mail, Postman
from ..passwords import Passwords
from ..ratelimit import Limit, RateLimiter
from .models import PrivateUser
from .sessions import SessionService

log = logging.getLogger(__name__)

INVALID_TOKEN = "This link is invalid, has expired or was already used"
# Expired tokens are deleted this long after they expired (on each new token).
PURGE_AFTER = timedelta(days=1)
PER_ADDRESS = Limit(5, 3600.0)  # HUB_RATE_LIMIT_ACCOUNT_EMAIL


@dataclass(frozen=True, slots=True)
class MailLinkPolicy:
    """Where links point (``public_url`` + ``/#/reset?token=`` or
    ``/#/verify?token=``, the web client's screens), how long tokens live,
    and how many mails of a kind one address may be sent."""

    public_url: str
    reset_ttl_s: int = 3600
    verification_ttl_s: int = 24 * 3600
    per_address: Limit = PER_ADDRESS


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountMails:
    """Forgot/reset password and email verification, for REST's ``/auth``."""

    def __init__(
        self,
        store: Store,
        passwords: Passwords,
        sessions: SessionService,
        postman: Postman | None,
        limiter: RateLimiter | None,
        policy: MailLinkPolicy,
    ) -> None:
        self.store = store
        self.passwords = passwords
        self.sessions = sessions
        self.postman = postman  # None: no SMTP server in production, no mail
        self.limiter = limiter  # None: HUB_RATE_LIMITS=off
        self.policy = policy
        self._tasks: set[asyncio.Task[None]] = set()

    # --- password reset -----------------------------------------------------------------

    async def forgot(self, email: str) -> None:
        """``POST /auth/password/forgot``: mail a reset link if an account has
        this address. Answers alike either way; 429 past the per-address limit."""
        await self._limit("password_reset", email)
        self._background(self._send_reset(email))

    async def reset(self, token: str, new_password: str) -> None:
        """``POST /auth/password/reset``: set the password of the token's user
        (the token is used once, atomically) and revoke every session of theirs."""
        password_hash = await self.passwords.hash(new_password)
        now = now_iso()
        record = await self.store.account_tokens.consume(hash_token(token), "password_reset", now)
        user = await self._user_of(record)
        # The link reached the mailbox: that proves the address as well.
        await self.store.users.update(
            user.id, {"password_hash": password_hash, "email_verified": True, "updated_at": now}
        )
        await self.store.account_tokens.discard(user.id, "password_reset", now)
        await self.sessions.revoke_all(user.id)

    async def _send_reset(self, email: str) -> None:
        user = await self.store.users.get_by_email(email)
        if user is None:
            return  # nothing to send, and nothing told
        token = await self._new_token(user, "password_reset", self.policy.reset_ttl_s)
        if token is None:
            return
        content = templates.password_reset(
            name=user.display_name,
            reset_url=f"{self.policy.public_url}/#/reset?token={token}",
            valid_s=self.policy.reset_ttl_s,
        )
        await self._deliver(user, content, "password_reset")

    # --- email verification -------------------------------------------------------------

    async def request_verification(self, user_id: str) -> None:
        """``POST /auth/email/verify-request``: mail the caller a verification
        link (nothing when already verified); 429 past the per-address limit,
        503 when the hub sends no mail."""
        user = await self.store.users.get(user_id)
        if user is None:
            raise NotFound("User not found")
        if user.email_verified:
            return
        if self.postman is None:
            raise Unavailable("This hub sends no email (HUB_SMTP_URL is not set)")
        await self._limit("email_verification", user.email)
        self._background(self._send_verification(user))

    async def verify(self, token: str) -> PrivateUser:
        """``POST /auth/email/verify``: the token's user, now verified."""
        now = now_iso()
        record = await self.store.account_tokens.consume(
            hash_token(token), "email_verification", now
        )
        user = await self._user_of(record)
        updated = await self.store.users.update(
            user.id, {"email_verified": True, "updated_at": now}
        )
        if updated is None:
            raise ValidationFailed.field("token", INVALID_TOKEN)
        return PrivateUser.of(updated)

    async def _send_verification(self, user: UserRecord) -> None:
        token = await self._new_token(user, "email_verification", self.policy.verification_ttl_s)
        if token is None:
            return
        content = templates.email_verification(
            name=user.display_name,
            verify_url=f"{self.policy.public_url}/#/verify?token={token}",
            valid_s=self.policy.verification_ttl_s,
        )
        await self._deliver(user, content, "email_verification")

    # --- shared -------------------------------------------------------------------------

    async def drain(self) -> None:
        """Wait until the queued mails are sent (each is bounded by the SMTP
        timeout): on shutdown, and in tests before checking that none came."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _limit(self, kind: str, email: str) -> None:
        if self.limiter is None:
            return
        # The address hashed: no email in Redis keys.
        key = f"rl:account-mail:{kind}:{hash_token(email)[:32]}"
        decision = await self.limiter.hit(key, self.policy.per_address)
        if not decision.allowed:
            raise RateLimited(decision.retry_after_ms)

    async def _new_token(
        self, user: UserRecord, purpose: AccountTokenPurpose, ttl_s: int
    ) -> str | None:
        """A new token for ``user`` (only its hash stored); None when no mail can go."""
        if self.postman is None:
            log.warning("account mail (%s) not sent: HUB_SMTP_URL is not set", purpose)
            return None
        token = secrets.token_urlsafe(32)
        now = utc_now()
        await self.store.account_tokens.purge(iso(now - PURGE_AFTER))
        await self.store.account_tokens.create(
            AccountTokenRecord(
                token_hash=hash_token(token),
                purpose=purpose,
                user_id=user.id,
                email=user.email,
                created_at=iso(now),
                expires_at=iso(now + timedelta(seconds=ttl_s)),
            )
        )
        return token

    async def _deliver(self, user: UserRecord, content: templates.Rendered, kind: str) -> None:
        assert self.postman is not None
        await self.postman.deliver(Mail(to=user.email, content=content), kind)

    async def _user_of(self, record: AccountTokenRecord | None) -> UserRecord:
        """The user a used token was mailed to, if the address is still theirs."""
        user = await self.store.users.get(record.user_id) if record is not None else None
        if record is None or user is None or user.email != record.email:
            raise ValidationFailed.field("token", INVALID_TOKEN)
        return user

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:  # the store or a template: logged, never raised to anyone
            log.exception("account mail not sent")
