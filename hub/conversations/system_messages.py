"""System and card messages: what the hub itself writes into a conversation.

The domain code that causes an event calls one method here, once, after the
event is stored: participant changes and title changes (``ConversationService``),
calls (``signaling.calls``) and a bid's marketplace events (``hub.marketplace``).
Each becomes a message with ``kind`` ``"system"`` or ``"card"``, the
conversation's next ``seq``, a human-readable ``text`` and a machine-readable
``card`` (docs/protocol.md, "System and card messages"), and reaches the
participants as ``message:new`` exactly as a sent message does: through the
message bus, which keeps ``seq`` order and crosses processes.

The stored ``sender_id`` is the actor, the user whose action caused the event
(the wire shows ``sender_id`` null and ``actor_id``): it counts as unread for
everyone else and not for the actor, as their own messages do. Unlike a sent
message it does not move the actor's read marker (a release clicked on the
dashboard says nothing about having read the chat). The store skips the
membership and block checks of a text message for it (the actor may be an
admin, or a participant who just left).

Events that happen once have a deterministic ``client_msg_id`` (``key``), so
writing one twice returns the original; repeatable ones (a participant added
again later, a new title) get a fresh one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from storage import Store
from storage.records import MessageKind, MessageRecord

from ..clock import new_id, now_iso
from .members import MemberLists
from .sequencer import Delivery
from .views import Message, message_view

if TYPE_CHECKING:
    from .delivery import MessageBus

log = logging.getLogger(__name__)


class SystemMessages:
    """Writes system and card messages and delivers them as ``message:new``."""

    def __init__(self, store: Store, bus: MessageBus, member_lists: MemberLists) -> None:
        self.store = store
        self.bus = bus
        self.member_lists = member_lists

    async def write(
        self,
        conversation_id: str,
        actor_id: str,
        kind: MessageKind,
        text: str,
        card: dict[str, Any],
        key: str | None = None,
    ) -> Message | None:
        """Append one system or card message and deliver it to every current
        participant (all their sockets, the actor's too: their call was not
        answered with this message). ``key`` names a one-time event: writing
        it again returns the original and delivers nothing. None when the
        conversation is gone, or the write failed: the event that caused it
        is stored already, so a failure here is logged, never raised."""
        assert kind != "text"
        try:
            return await self._write(conversation_id, actor_id, kind, text, card, key)
        except Exception:
            log.exception("no %s message for %s in %s", kind, card.get("type"), conversation_id)
            return None

    async def _write(
        self,
        conversation_id: str,
        actor_id: str,
        kind: MessageKind,
        text: str,
        card: dict[str, Any],
        key: str | None,
    ) -> Message | None:
        record = MessageRecord(
            id=new_id(),
            conversation_id=conversation_id,
            sender_id=actor_id,
            client_msg_id="",
            text=text,
            created_at=now_iso(),
            kind=kind,
            card=card,
        )
        record.client_msg_id = key or f"system:{record.id}"
        appended = await self.store.messages.append(record)
        if appended is not None and appended.message.kind == "text":
            # The actor sent a text message under this key before the event:
            # clients choose their keys freely. The event still gets its message.
            record.client_msg_id = f"{key}:{record.id}"
            appended = await self.store.messages.append(record)
        if appended is None:
            return None
        message = appended.message
        view = message_view(message)
        if appended.created:
            members = await self.member_lists.get(conversation_id, appended.members_version)
            await self.bus.publish(Delivery(conversation_id, message.seq, view, members))
        return view

    async def names(self, *user_ids: str) -> list[str]:
        """Display names, in the order given (a deleted account: "Someone")."""
        found = {u.id: u.display_name for u in await self.store.users.get_many(list(user_ids))}
        return [found.get(uid, "Someone") for uid in user_ids]

    # Conversations

    async def participants(
        self, conversation_id: str, actor_id: str, state: str, user_ids: list[str]
    ) -> Message | None:
        """``state``: ``added``, ``removed`` or ``left`` (the actor removed themself)."""
        actor, *names = await self.names(actor_id, *user_ids)
        if state == "added":
            text = f"{actor} added {_join(names)}"
        elif state == "left":
            text = f"{actor} left"
        else:
            text = f"{actor} removed {_join(names)}"
        card = {"type": "participants", "ref": None, "state": state, "user_ids": user_ids}
        return await self.write(conversation_id, actor_id, "system", text, card)

    async def title(self, conversation_id: str, actor_id: str, title: str) -> Message | None:
        (actor,) = await self.names(actor_id)
        card = {"type": "title", "ref": None, "state": "changed", "title": title}
        text = f"{actor} changed the title to “{title}”"
        return await self.write(conversation_id, actor_id, "system", text, card)

    # Calls

    async def call(
        self,
        conversation_id: str,
        actor_id: str,
        call_id: str,
        state: str,
        media: str,
        duration_s: int = 0,
    ) -> Message | None:
        """``state``: ``missed`` (nobody answered) or ``ended`` (after ``duration_s``)."""
        what = "video call" if media == "video" else "audio call"
        card: dict[str, Any] = {"type": "call", "ref": {"type": "call", "id": call_id}}
        card["state"] = state
        if state == "ended":
            card["duration_s"] = duration_s
            text = f"{what.capitalize()} ended · {_duration(duration_s)}"
        else:
            text = f"Missed {what}"
        key = f"call:{call_id}:{state}"
        return await self.write(conversation_id, actor_id, "system", text, card, key)

    # The marketplace

    async def market(
        self,
        conversation_id: str,
        actor_id: str,
        ref: tuple[str, str],
        state: str,
        text: str,
        *,
        key: str | None = None,
        amount: int | None = None,
        currency: str | None = None,
        title: str | None = None,
    ) -> Message | None:
        """A ``card`` message about a job, bid or milestone (``ref``: type, id)
        in the bid's conversation; ``key`` defaults to ``card:<type>:<id>:<state>``."""
        ref_type, ref_id = ref
        card: dict[str, Any] = {"type": ref_type, "ref": {"type": ref_type, "id": ref_id}}
        card["state"] = state
        if amount is not None:
            card["amount"], card["currency"] = amount, currency
        if title is not None:
            card["title"] = title
        key = key or f"card:{ref_type}:{ref_id}:{state}"
        return await self.write(conversation_id, actor_id, "card", text, card, key)


def money(amount: int, currency: str) -> str:
    """Minor units for reading (``USD 100.01``); the card keeps the integer."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{currency} {sign}{whole:,}.{cents:02d}"


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
