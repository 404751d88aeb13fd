"""Contact masking and the business messaging policy (issue 20), as the
conversation service applies them. docs/trust-and-safety.md has the rules.

Masking costs nothing more than the detector for a message without contact
details: the store is read (participants, roles, the pair's accepted bid) only
when the detector found something. A pair with an accepted bid is remembered
for a while (it only ever gains one); a pair without one is read again at the
next message with contact details, so the first message after the award
passes.

The detector itself (20-50 us for a line with a digit or a dot) is skipped in
a direct conversation known to need no screening: its two participants never
change, so once its pair is known not to be a client and a freelancer without
an accepted bid, that holds (remembered like an accepted bid).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from storage import Store

from ..errors import ContactDetails, Forbidden
from .contacts import find_contacts, mask

MaskingMode = Literal["off", "mask", "block"]

# A bid in one of these is an accepted bid between its owner and freelancer.
ACCEPTED_BIDS = ["accepted"]


@dataclass(frozen=True, slots=True)
class Screened:
    """The text to store and show, and the sender's own when it was masked."""

    text: str
    original_text: str | None = None

    @property
    def masked(self) -> bool:
        return self.original_text is not None


class ContactGuard:
    """``HUB_CONTACT_MASKING``: off, mask (default) or block."""

    def __init__(
        self,
        store: Store,
        mode: MaskingMode = "mask",
        *,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 50_000,
    ) -> None:
        self.store = store
        self.mode = mode
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_entries = max_entries
        self._roles: dict[str, tuple[str, float]] = {}
        self._awarded: dict[tuple[str, str], float] = {}
        # conversation id -> (verdict, expiry): True when it is a direct
        # conversation that needs no screening.
        self._unscreened: dict[str, tuple[bool, float]] = {}

    async def screen(
        self,
        sender_id: str,
        text: str,
        member_ids: Callable[[], Awaitable[list[str]]],
        conversation_id: str | None = None,
    ) -> Screened:
        """``text`` masked (or ContactDetails raised) when it holds contact
        details and the sender and another participant are a client and a
        freelancer with no accepted bid between them. ``member_ids`` is an
        async callable giving the conversation's participants, called only
        when there is something to mask."""
        if self.mode == "off":
            return Screened(text)
        if conversation_id is not None and await self._needs_no_screening(conversation_id):
            return Screened(text)
        spans = find_contacts(text)
        if not spans:
            return Screened(text)
        members = await member_ids()
        if sender_id not in members or not await self._guarded(sender_id, members):
            return Screened(text)
        if self.mode == "block":
            raise ContactDetails(
                "Contact details cannot be shared before a bid is accepted: "
                "keep the conversation on the platform until then"
            )
        return Screened(mask(text, spans), original_text=text)

    async def _needs_no_screening(self, conversation_id: str) -> bool:
        """A direct conversation whose two participants are not a client and a
        freelancer without an accepted bid (read once, then remembered)."""
        now = self.clock()
        cached = self._unscreened.get(conversation_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        conversation = await self.store.conversations.get(conversation_id)
        verdict = False
        if conversation is not None and conversation.direct_key:
            first, second = conversation.direct_key.split(":")
            verdict = not await self._guarded(first, [first, second])
        self._trim(self._unscreened)
        # A group's participants change: its "no" is kept as briefly as a "yes".
        self._unscreened[conversation_id] = (verdict, now + self.ttl_s)
        return verdict

    async def _guarded(self, sender_id: str, members: list[str]) -> bool:
        """Whether the sender and any other participant are a client and a
        freelancer without an accepted bid between them."""
        roles = await self.roles([sender_id, *members])
        mine = roles.get(sender_id)
        if mine not in ("client", "freelancer"):
            return False
        wanted = "freelancer" if mine == "client" else "client"
        for other in members:
            if other == sender_id or roles.get(other) != wanted:
                continue
            owner, freelancer = (sender_id, other) if mine == "client" else (other, sender_id)
            if not await self._has_accepted_bid(owner, freelancer):
                return True
        return False

    async def roles(self, user_ids: Iterable[str]) -> dict[str, str]:
        now = self.clock()
        known: dict[str, str] = {}
        missing: list[str] = []
        for uid in dict.fromkeys(user_ids):
            cached = self._roles.get(uid)
            if cached is not None and cached[1] > now:
                known[uid] = cached[0]
            else:
                missing.append(uid)
        if missing:
            self._trim(self._roles)
            for user in await self.store.users.get_many(missing):
                known[user.id] = user.role
                self._roles[user.id] = (user.role, now + self.ttl_s)
        return known

    async def _has_accepted_bid(self, owner_id: str, freelancer_id: str) -> bool:
        key = (owner_id, freelancer_id)
        expires = self._awarded.get(key)
        if expires is not None and expires > self.clock():
            return True
        if await self.store.market.bids_between(owner_id, freelancer_id, status=ACCEPTED_BIDS):
            self._trim(self._awarded)
            self._awarded[key] = self.clock() + self.ttl_s
            return True
        return False

    def _trim(self, cache: dict[Any, Any]) -> None:
        if len(cache) >= self.max_entries:
            cache.clear()


class DmPolicy:
    """``HUB_DM_POLICY``: under ``business`` a freelancer may bring a client into
    a conversation (create, or add to a group) only about a job they bid on
    (or were hired for) or one of their bids, that client being the job's
    owner. Clients, admins and freelancer-to-freelancer conversations are not
    restricted."""

    def __init__(self, store: Store, guard: ContactGuard, business: bool) -> None:
        self.store = store
        self.guard = guard
        self.business = business

    async def check(self, user_id: str, others: list[str], context: dict[str, Any] | None) -> None:
        if not self.business:
            return
        roles = await self.guard.roles([user_id, *others])
        if roles.get(user_id) != "freelancer":
            return
        clients = {uid for uid in others if roles.get(uid) == "client"}
        if not clients:
            return
        owner = await self._owner_through(user_id, context)
        if owner is None or clients != {owner}:
            raise Forbidden(
                "A freelancer can message a client only about a job they bid on: "
                "start the conversation from your bid or that job"
            )

    async def _owner_through(self, user_id: str, context: dict[str, Any] | None) -> str | None:
        """The owner of the job or bid ``context`` names, if the freelancer
        ``user_id`` bid on that job (or is its bidder or hired freelancer)."""
        if context is None:
            return None
        if context.get("type") == "bid":
            bid = await self.store.market.get_bid(str(context.get("id")))
            return bid.owner_id if bid is not None and bid.freelancer_id == user_id else None
        if context.get("type") == "job":
            job = await self.store.market.get_job(str(context.get("id")))
            if job is None:
                return None
            if job.freelancer_id == user_id or await self.store.market.list_bids(
                job.id, freelancer_id=user_id, limit=1
            ):
                return job.owner_id
        return None
