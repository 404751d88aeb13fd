"""``HUB_REQUIRE_VERIFIED_EMAIL`` (issue 19): with it on, sending messages,
bidding and posting jobs answer 403 ``email_unverified`` until the user has
verified their email. The services that do those call this rule."""

from __future__ import annotations

from storage import Store
from storage.records import UserRecord

from ..errors import EmailUnverified

CACHE_MAX = 100_000
MESSAGE = "Verify your email address first (POST /auth/email/verify-request)"


class VerifiedEmailRule:
    def __init__(self, store: Store, required: bool) -> None:
        self.store = store
        self.required = required
        # Users seen verified: a verified email stays verified (the hub has no
        # way to change an address), so a message send reads the user once.
        self._verified: set[str] = set()

    def check(self, user: UserRecord) -> None:
        """For a caller already read: raise EmailUnverified if the rule says so."""
        if self.required and not user.email_verified:
            raise EmailUnverified(MESSAGE)

    async def require(self, user_id: str) -> None:
        if not self.required or user_id in self._verified:
            return
        user = await self.store.users.get(user_id)
        if user is None or not user.email_verified:
            raise EmailUnverified(MESSAGE)
        if len(self._verified) >= CACHE_MAX:
            self._verified.clear()
        self._verified.add(user_id)
