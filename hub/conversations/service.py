"""Conversations and messages: the rules behind both /conversations and REST."""

from __future__ import annotations

import html
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn

from storage import Store

if TYPE_CHECKING:
    from ..accounts.verification import VerifiedEmailRule
    from ..attachments import AttachmentService
    from ..notifications import NotificationService
    from ..offline.webhooks import WebhookEvents
    from ..safety.guard import ContactGuard, DmPolicy
    from .delivery import MessageBus
from storage.records import (
    AppendResult,
    BidRecord,
    ConversationRecord,
    ConversationType,
    ListPosition,
    MembershipRecord,
    MessageRecord,
)

from ..clock import new_id, now_iso, parse_iso, utc_now
from ..cursors import decode_cursor_parts, encode_cursor
from ..errors import Conflict, EditWindowClosed, Forbidden, NotFound, ValidationFailed
from .events import ConversationEvents
from .members import MemberLists
from .models import (
    AddParticipants,
    ContextRef,
    CreateConversation,
    EditMessage,
    History,
    ListConversations,
    MarkDelivered,
    MarkRead,
    MarkUnread,
    PinMessage,
    React,
    RemoveParticipant,
    SendMessage,
    Sync,
    Thread,
    Typing,
    UpdateConversation,
)
from .sequencer import Delivery
from .system_messages import SystemMessages
from .typing_state import TypingTracker
from .views import (
    Conversation,
    ConversationPage,
    DeletedMessage,
    Message,
    MessagePage,
    Nothing,
    PinnedMessages,
    ReadState,
    SearchHit,
    SearchPage,
    SyncedConversation,
    SyncResult,
    UnreadCounts,
    alike_viewers,
    conversation_view,
    message_view,
    reaction_views,
)


@dataclass(frozen=True)
class ConversationLimits:
    max_text_length: int = 4000
    max_group_size: int = 256
    edit_window_s: int = 900
    max_pinned_messages: int = 50
    max_reactions: int = 20  # distinct emoji per message
    typing_expires_ms: int = 6000


class ConversationService:
    """Owns membership checks, seq ordering, edits, read markers and fan-out.

    ``origin_sid`` is the socket that made the call (None for REST): it gets
    its result as the ack and is left out of the broadcast.
    """

    def __init__(
        self,
        store: Store,
        events: ConversationEvents,
        bus: MessageBus,
        attachments: AttachmentService,
        limits: ConversationLimits,
        notifications: NotificationService,
    ) -> None:
        self.notifications = notifications
        self.store = store
        self.events = events
        self.bus = bus
        self.attachments = attachments
        self.limits = limits
        self.typing_state = TypingTracker(self._typing_expired)
        self.member_lists = MemberLists(store)
        # The hub's own messages (participant and title changes here; calls
        # and marketplace events through hub/context.py's wiring).
        self.system_messages = SystemMessages(store, bus, self.member_lists)
        self.webhooks: WebhookEvents | None = None  # outbound webhooks (hub/context.py)
        # HUB_REQUIRE_VERIFIED_EMAIL (hub/context.py): who may send.
        self.verified_email: VerifiedEmailRule | None = None
        # HUB_CONTACT_MASKING and HUB_DM_POLICY (issue 20; hub/context.py).
        self.contact_guard: ContactGuard | None = None
        self.dm_policy: DmPolicy | None = None

    # Conversations

    async def create(
        self, user_id: str, request: CreateConversation, origin_sid: str | None = None
    ) -> Conversation:
        """A new conversation of the caller and ``participant_ids``, or the one
        that exists already: the pair's direct conversation, or a bid's (see
        ``_create_about_bid``). A job, bid or networking session context must
        be one the caller is a party to. Nobody starts a direct conversation
        with someone either of them blocked, nor a group with someone who
        blocked them (as ``add_participants``)."""
        others = list(dict.fromkeys(p for p in request.participant_ids if p != user_id))
        if not others:
            raise ValidationFailed.field("participant_ids", "Name at least one other user")
        kind = request.type or ("direct" if len(others) == 1 else "group")
        if kind == "direct" and len(others) != 1:
            raise ValidationFailed.field(
                "participant_ids", "A direct conversation has one other user"
            )
        if len(others) + 1 > self.limits.max_group_size:
            raise ValidationFailed.field(
                "participant_ids", f"At most {self.limits.max_group_size} participants"
            )
        await self._require_users(others, "participant_ids")
        if kind == "group":
            await self._require_not_blocked_by(user_id, others)
        context = request.context
        if self.dm_policy is not None:
            await self.dm_policy.check(user_id, others, context.model_dump() if context else None)
        if context is not None and context.type == "bid":
            return await self._create_about_bid(user_id, request, kind, others, origin_sid)
        if context is not None and context.type == "job":
            await self._require_job_party(user_id, context.id)
        if context is not None and context.type == "networking_session":
            await self._require_session_party(user_id, context.id)
        if kind == "direct":
            await self._require_unblocked(user_id, others[0])
        record, _ = await self._insert(user_id, kind, others, request.title, context, origin_sid)
        return await self._view(record, user_id)

    async def _create_about_bid(
        self,
        user_id: str,
        request: CreateConversation,
        kind: ConversationType,
        others: list[str],
        origin_sid: str | None,
    ) -> Conversation:
        """A bid has exactly one conversation, whichever path opens it first
        (a party while shortlisting, or accepting). If it exists it comes back,
        joined by whichever of the job's owner and the bidder it lacks (the
        request's other participants and title are then ignored). Otherwise
        the requested one is created; a direct request between a pair that
        already has a direct conversation becomes a group of the two, titled
        after the job like any bid group without a title."""
        assert request.context is not None
        bid = await self._bid_of_party(user_id, request.context.id)
        await self._require_unblocked(bid.owner_id, bid.freelancer_id)
        other = bid.freelancer_id if user_id == bid.owner_id else bid.owner_id
        if kind == "direct" and others != [other]:
            raise ValidationFailed.field(
                "participant_ids", "A direct conversation about a bid is with the bid's other party"
            )
        key = f"bid:{bid.id}"
        record, created = None, False
        if kind == "direct":
            record, created = await self._insert(
                user_id, "direct", others, request.title, request.context, origin_sid, key
            )
        # No direct request, or the pair's direct conversation is about something else.
        if record is None or record.context_key != key:
            job = await self.store.market.get_job(bid.job_id)
            title = request.title or (job.title[:200] if job else None)
            record, created = await self._insert(
                user_id, "group", others, title, request.context, origin_sid, key
            )
        if not created and record.type == "group":
            members = await self.store.conversations.member_ids(record.id)
            missing = [uid for uid in (bid.owner_id, bid.freelancer_id) if uid not in members]
            if missing:
                await self._join(record, missing, origin_sid, user_id)
        return await self._view(record, user_id)

    async def _insert(
        self,
        user_id: str,
        kind: ConversationType,
        others: list[str],
        title: str | None,
        context: ContextRef | None,
        origin_sid: str | None,
        context_key: str | None = None,
    ) -> tuple[ConversationRecord, bool]:
        """Store a new conversation, or get the one holding its direct or
        context key; only a new one is announced (``conversation:created``)."""
        now = now_iso()
        record = ConversationRecord(
            id=new_id(),
            type=kind,
            created_by=user_id,
            created_at=now,
            last_activity_at=now,
            title=title,
            context=context.model_dump() if context else None,
            direct_key=":".join(sorted([user_id, others[0]])) if kind == "direct" else None,
            context_key=context_key,
        )
        members = [MembershipRecord(record.id, uid, now) for uid in [user_id, *others]]
        record, created = await self.store.conversations.create(record, members)
        if created:
            for member in [user_id, *others]:
                await self.events.to_users(
                    "conversation:created", await self._view(record, member), [member], origin_sid
                )
        return record, created

    async def list_conversations(
        self, user_id: str, request: ListConversations
    ) -> ConversationPage:
        """The caller's conversations, pinned first (most recently pinned
        first), then latest activity first; a page at a time."""
        before = _list_position(request.cursor) if request.cursor else None
        rows = await self.store.conversations.list_for_user(
            user_id, archived=request.archived, before=before, limit=request.limit + 1
        )
        page = rows[: request.limit]
        items = [await self._view(conv, user_id, membership) for conv, membership in page]
        next_cursor = None
        if len(rows) > request.limit:
            last = ListPosition.of(*page[-1])
            next_cursor = encode_cursor(last.pinned_at or _UNPINNED, last.last_activity_at, last.id)
        return {"items": items, "next_cursor": next_cursor}

    async def get(self, user_id: str, conversation_id: str) -> Conversation:
        conversation, membership = await self._member(user_id, conversation_id)
        return await self._view(conversation, user_id, membership)

    async def update(
        self, user_id: str, request: UpdateConversation, origin_sid: str | None = None
    ) -> Conversation:
        """A new title (shared) or the caller's own flags. A new pin is dated,
        since the list orders pins by it; pinning a pinned conversation again
        keeps its date, and unpinning clears it."""
        conversation, membership = await self._member(user_id, request.conversation_id)
        own = request.model_dump(include={"pinned", "archived", "muted"}, exclude_none=True)
        if own.get("pinned", membership.pinned) != membership.pinned:
            own["pinned_at"] = now_iso() if own["pinned"] else None
        if own:
            await self.store.conversations.update_membership(conversation.id, user_id, own)
        if request.title is not None and request.title != conversation.title:
            conversation = (
                await self.store.conversations.update(conversation.id, {"title": request.title})
                or conversation
            )
            await self._broadcast_updated(conversation, origin_sid)
            await self.system_messages.title(conversation.id, user_id, request.title)
        elif own:
            await self.events.to_users(
                "conversation:updated",
                await self._view(conversation, user_id),
                [user_id],
                origin_sid,
            )
        return await self._view(conversation, user_id)

    async def add_participants(
        self, user_id: str, request: AddParticipants, origin_sid: str | None = None
    ) -> Conversation:
        """Only participants add participants, and nobody adds a user who
        blocked them (one blocker refuses the whole call: nobody is added)."""
        conversation, _ = await self._member(user_id, request.conversation_id)
        self._require_group(conversation)
        current = await self.store.conversations.member_ids(conversation.id)
        new = [uid for uid in dict.fromkeys(request.user_ids) if uid not in current]
        if len(current) + len(new) > self.limits.max_group_size:
            raise ValidationFailed.field(
                "user_ids", f"At most {self.limits.max_group_size} participants"
            )
        await self._require_users(new, "user_ids")
        await self._require_not_blocked_by(user_id, new)
        if self.dm_policy is not None and new:
            await self.dm_policy.check(user_id, new, conversation.context)
        if new:
            await self._join(conversation, new, origin_sid, user_id)
        return await self._view(conversation, user_id)

    async def _join(
        self,
        conversation: ConversationRecord,
        user_ids: list[str],
        origin_sid: str | None,
        actor_id: str,
    ) -> None:
        """Add ``user_ids`` to a group. Only those this call added are
        announced, so concurrent adds of one user tell everyone once: the new
        members get ``conversation:created``, the others ``conversation:updated``,
        and a system message says who ``actor_id`` added."""
        now = now_iso()
        added = await self.store.conversations.add_members(
            [MembershipRecord(conversation.id, uid, now) for uid in user_ids]
        )
        for member in added:
            await self.events.to_users(
                "conversation:created", await self._view(conversation, member), [member], origin_sid
            )
        if added:
            await self._broadcast_updated(conversation, origin_sid, skip=set(added))
            await self.system_messages.participants(conversation.id, actor_id, "added", added)

    async def remove_participant(
        self, user_id: str, request: RemoveParticipant, origin_sid: str | None = None
    ) -> Conversation:
        conversation, _ = await self._member(user_id, request.conversation_id)
        self._require_group(conversation)
        if request.user_id != user_id and user_id != conversation.created_by:
            raise Forbidden("Only the creator can remove someone else")
        if not await self.store.conversations.remove_member(conversation.id, request.user_id):
            raise NotFound("Not a participant")
        if self.typing_state.stop(conversation.id, request.user_id):
            # Nothing would ever end the indicator for the others otherwise.
            await self._emit_typing(conversation.id, request.user_id, False)
        await self.events.to_users(
            "conversation:removed",
            {"conversation_id": conversation.id, "user_id": request.user_id},
            [request.user_id],
            origin_sid,
        )
        await self._broadcast_updated(conversation, origin_sid)
        left = request.user_id == user_id
        await self.system_messages.participants(
            conversation.id, user_id, "left" if left else "removed", [request.user_id]
        )
        if left:  # no longer a member: no personal state left
            conversation = await self.store.conversations.get(conversation.id) or conversation
            members = await self.store.conversations.members(conversation.id)
            return conversation_view(
                conversation, MembershipRecord(conversation.id, user_id, ""), members, 0
            )
        return await self._view(conversation, user_id)

    # Messages

    async def send(
        self, user_id: str, request: SendMessage, origin_sid: str | None = None
    ) -> Message:
        if self.verified_email is not None:
            await self.verified_email.require(user_id)
        text = self._clean_text(request.text)
        original_text = None
        if self.contact_guard is not None:
            screened = await self.contact_guard.screen(
                user_id,
                text,
                lambda: self._member_ids(request.conversation_id),
                request.conversation_id,
            )
            text, original_text = screened.text, screened.original_text
        if request.reply_to is not None:
            await self._check_reply(user_id, request.conversation_id, request.reply_to)
        if request.thread_root_id is not None:
            await self._check_thread_root(user_id, request.conversation_id, request.thread_root_id)
        record = MessageRecord(
            id=new_id(),
            conversation_id=request.conversation_id,
            sender_id=user_id,
            client_msg_id=request.client_msg_id,
            text=text,
            created_at=now_iso(),
            reply_to=request.reply_to,
            thread_root_id=request.thread_root_id,
            original_text=original_text,
            flagged=original_text is not None,
        )
        if request.mentions:
            record.mentions = await self._check_mentions(user_id, request)
        if request.attachments:
            resent = await self._attach(user_id, request, record)
            if resent is not None:
                return message_view(resent, user_id)
        # The store checks membership and blocks in the same step as the write.
        appended = await self._append(record)
        if appended is None:
            await self._refuse_send(user_id, request.conversation_id)
        message = appended.message
        if message.conversation_id != request.conversation_id:
            raise ValidationFailed.field(
                "client_msg_id", "This client_msg_id was used in another conversation"
            )
        view = message_view(message)
        if appended.created:
            members = await self.member_lists.get(message.conversation_id, appended.members_version)
            await self.bus.publish(
                Delivery(message.conversation_id, message.seq, view, members, origin_sid)
            )
            if self.typing_state.stop(message.conversation_id, user_id):
                # The message ends the sender's indicator: the others are told.
                await self._emit_typing(message.conversation_id, user_id, False)
            if message.mentions:
                await self._notify_mentioned(message, view, members)
            if self.webhooks is not None:  # nothing unless an endpoint subscribes
                self.webhooks.publish_message(view, members, user_id)
        if message.original_text is not None:
            # The sender's ack says why the recipients see "[contact hidden]".
            return {**view, "masked": True}
        return view

    async def _member_ids(self, conversation_id: str) -> list[str]:
        """The participants as stored (not the cache, which may lag a join):
        read only for a text with contact details."""
        return list(await self.store.conversations.member_ids(conversation_id))

    async def _check_mentions(self, user_id: str, request: SendMessage) -> list[str]:
        """``request.mentions`` without duplicates and without the sender, each a
        participant: checked against the cached participant list (any version;
        read again only when it lacks someone), so a valid mention costs no query."""
        mentions = [m for m in dict.fromkeys(request.mentions) if m != user_id]
        conversation_id = request.conversation_id
        members = self.member_lists.latest(conversation_id)
        if members is None or not set(mentions) <= set(members):
            members = await self.store.conversations.member_ids(conversation_id)
        present = set(members)
        outsiders = [m for m in mentions if m not in present]
        if outsiders:
            await self._member(user_id, conversation_id)  # outsiders learn nothing
            message = "Only participants of this conversation can be mentioned"
            raise ValidationFailed(
                message,
                {"fields": [{"field": "mentions", "message": message}], "user_ids": outsiders},
            )
        return mentions

    async def _notify_mentioned(
        self, message: MessageRecord, view: Message, members: list[str]
    ) -> None:
        """A ``mention`` notification to each mentioned user still a participant
        when the message was written."""
        present = set(members)
        data = {"conversation_id": message.conversation_id, "message": view}
        for mentioned in message.mentions:
            if mentioned in present:
                await self.notifications.notify(mentioned, "mention", dict(data))

    async def _attach(
        self, user_id: str, request: SendMessage, record: MessageRecord
    ) -> MessageRecord | None:
        """Claim the named uploads for ``record``; for a resend whose
        attachments went with the original, that original instead."""
        try:
            record.attachments = await self.attachments.claim(
                user_id, request.conversation_id, request.attachments, record.id
            )
        except ValidationFailed:
            original = await self._sent_with(request.attachments[0])
            if original and (original.sender_id, original.client_msg_id) == (
                user_id,
                request.client_msg_id,
            ):
                return original
            raise
        return None

    async def _sent_with(self, attachment_id: str) -> MessageRecord | None:
        upload = await self.store.uploads.get(attachment_id)
        if upload is None or upload.message_id is None:
            return None
        return await self.store.messages.get(upload.message_id)

    async def _append(self, record: MessageRecord) -> AppendResult | None:
        """Append ``record``; its claimed attachments go back if it was not written."""
        try:
            appended = await self.store.messages.append(record)
        except BaseException:
            if record.attachments:
                await self.attachments.release(record.id)
            raise
        if record.attachments and (appended is None or not appended.created):
            await self.attachments.release(record.id)
        return appended

    async def _check_reply(self, user_id: str, conversation_id: str, reply_to: str) -> None:
        await self._member(user_id, conversation_id)  # outsiders learn nothing of the message
        replied = await self.store.messages.get(reply_to)
        if replied is None or replied.conversation_id != conversation_id:
            raise ValidationFailed.field("reply_to", "No such message in this conversation")

    async def _check_thread_root(self, user_id: str, conversation_id: str, root_id: str) -> None:
        await self._member(user_id, conversation_id)
        root = await self.store.messages.get(root_id)
        if root is None or root.conversation_id != conversation_id:
            raise ValidationFailed.field("thread_root_id", "No such message in this conversation")
        if root.thread_root_id is not None:
            raise ValidationFailed.field(
                "thread_root_id", "A reply cannot start a thread: reply in its root's thread"
            )

    async def _refuse_send(self, user_id: str, conversation_id: str) -> NoReturn:
        """Why the store refused an append: no such conversation, not a
        participant, or a blocked direct pair."""
        conversation, _ = await self._member(user_id, conversation_id)
        if conversation.type == "direct":
            raise Forbidden("You cannot message this user")
        raise Conflict("The participants changed while sending; try again")

    async def edit(
        self, user_id: str, request: EditMessage, origin_sid: str | None = None
    ) -> Message:
        message = await self._own_message(user_id, request.message_id)
        if utc_now() - parse_iso(message.created_at) > timedelta(seconds=self.limits.edit_window_s):
            raise EditWindowClosed("The edit window for this message has closed")
        text = self._clean_text(request.text)
        changes: dict[str, object] = {"text": text, "edited_at": now_iso()}
        if self.contact_guard is not None:
            screened = await self.contact_guard.screen(
                user_id,
                text,
                lambda: self._member_ids(message.conversation_id),
                message.conversation_id,
            )
            if screened.masked:
                changes.update(
                    text=screened.text, original_text=screened.original_text, flagged=True
                )
        updated = await self.store.messages.update(message.id, changes)
        assert updated is not None  # _own_message found it; messages are never removed
        await self._emit_message("message:edit", updated, origin_sid)
        if "original_text" in changes:
            return {**message_view(updated, user_id), "masked": True}
        return message_view(updated, user_id)

    async def _emit_message(
        self, event: str, message: MessageRecord, origin_sid: str | None
    ) -> None:
        """``event`` with the Message to every participant, each seeing their
        own ``me`` in its reactions."""
        members = await self.store.conversations.member_ids(message.conversation_id)
        for viewer, alike in alike_viewers(message.reactions, members):
            await self.events.to_users(event, message_view(message, viewer), alike, origin_sid)

    async def delete(
        self, user_id: str, message_id: str, origin_sid: str | None = None
    ) -> DeletedMessage:
        message = await self._own_message(user_id, message_id)
        await self.store.messages.update(
            message.id,
            # A deleted message keeps no reactions and leaves the pins in the same write.
            {
                "text": "",
                "attachments": [],
                "mentions": [],
                "reactions": [],
                "deleted": True,
                "edited_at": now_iso(),
                **_UNPIN,
            },
        )
        if message.pinned:
            await self.store.messages.unpin(message.id)  # frees its place in the limit
        members = await self.store.conversations.member_ids(message.conversation_id)
        await self.events.to_users(
            "message:delete",
            {
                "conversation_id": message.conversation_id,
                "message_id": message.id,
                "seq": message.seq,
            },
            members,
            origin_sid,
        )
        return {"message_id": message.id}

    async def pin(
        self, user_id: str, request: PinMessage, origin_sid: str | None = None
    ) -> Message:
        """Pin or unpin a message: any participant, at most
        ``max_pinned_messages`` per conversation (the store counts and writes
        in one step). Pinning a pinned message, or unpinning one that is not,
        changes and emits nothing. Every participant gets ``message:pinned``."""
        message = await self.store.messages.get(request.message_id)
        if message is None:
            raise NotFound("No such message")
        await self._member(user_id, message.conversation_id)
        if request.pinned:
            if message.deleted:
                raise _deleted_pin()
            limit = self.limits.max_pinned_messages
            change = await self.store.messages.pin(message.id, user_id, now_iso(), limit)
            if change is None:
                current = await self.store.messages.get(message.id)
                if current is None:
                    raise NotFound("No such message")
                if current.deleted:
                    raise _deleted_pin()
                raise ValidationFailed.field(
                    "message_id", f"At most {limit} pinned messages per conversation"
                )
        else:
            change = await self.store.messages.unpin(message.id)
            if change is None:
                raise NotFound("No such message")
        view = message_view(change.message, user_id)
        if change.changed:
            members = await self.store.conversations.member_ids(message.conversation_id)
            await self.events.to_users(
                "message:pinned",
                {
                    "conversation_id": message.conversation_id,
                    "message_id": message.id,
                    "pinned": request.pinned,
                    "by_user_id": user_id,
                },
                members,
                origin_sid,
            )
        return view

    async def pins(self, user_id: str, conversation_id: str) -> PinnedMessages:
        """The conversation's pinned messages, most recently pinned first."""
        await self._member(user_id, conversation_id)
        return {"items": await self._pins(conversation_id, user_id)}

    async def _pins(self, conversation_id: str, viewer_id: str) -> list[Message]:
        pinned = await self.store.messages.pinned(conversation_id, self.limits.max_pinned_messages)
        return [message_view(m, viewer_id) for m in pinned]

    async def react(
        self, user_id: str, request: React, *, add: bool, origin_sid: str | None = None
    ) -> Message:
        """Add or remove the caller's reaction: any participant, at most
        ``max_reactions`` distinct emoji per message (the store reads and
        writes in one step). Adding one made already, or removing one not
        made, changes and emits nothing. Every participant gets
        ``message:reaction`` with the reactions as they see them (``me``)."""
        message = await self.store.messages.get(request.message_id)
        if message is None:
            raise NotFound("No such message")
        await self._member(user_id, message.conversation_id)
        if add and message.deleted:
            raise _deleted_reaction()
        change = await self.store.messages.react(
            message.id, user_id, request.emoji, add=add, max_distinct=self.limits.max_reactions
        )
        if change is None:
            current = await self.store.messages.get(message.id)
            if current is None:
                raise NotFound("No such message")
            if current.deleted:
                raise _deleted_reaction()
            raise ValidationFailed.field(
                "emoji", f"At most {self.limits.max_reactions} different reactions per message"
            )
        if change.changed:
            await self._emit_reactions(change.message, user_id, request.emoji, add, origin_sid)
        return message_view(change.message, user_id)

    async def _emit_reactions(
        self, message: MessageRecord, user_id: str, emoji: str, added: bool, origin_sid: str | None
    ) -> None:
        """``message:reaction`` to each participant with their own ``me``."""
        members = await self.store.conversations.member_ids(message.conversation_id)
        for viewer, alike in alike_viewers(message.reactions, members):
            data = {
                "conversation_id": message.conversation_id,
                "message_id": message.id,
                "seq": message.seq,
                "reactions": reaction_views(message.reactions, viewer),
                "user_id": user_id,
                "emoji": emoji,
                "added": added,
            }
            await self.events.to_users("message:reaction", data, alike, origin_sid)

    async def thread(self, user_id: str, request: Thread) -> MessagePage:
        """The replies in a message's thread, ascending seq (not the root itself)."""
        root = await self.store.messages.get(request.message_id)
        if root is None:
            raise NotFound("No such message")
        await self._member(user_id, root.conversation_id)
        limit = request.limit
        replies = await self.store.messages.thread(
            root.id, after_seq=request.after_seq or 0, limit=limit + 1
        )
        return {
            "items": [message_view(m, user_id) for m in replies[:limit]],
            "has_more": len(replies) > limit,
        }

    async def history(self, user_id: str, request: History) -> MessagePage:
        await self._member(user_id, request.conversation_id)
        return await self._page(
            request.conversation_id, request.after_seq, request.before_seq, request.limit, user_id
        )

    async def sync(self, user_id: str, request: Sync) -> SyncResult:
        items: list[SyncedConversation] = []
        for cursor in request.cursors:
            conversation, _ = await self._member(user_id, cursor.conversation_id)
            page = await self._page(conversation.id, cursor.after_seq, None, request.limit, user_id)
            changes, rev, more_changes = await self._changes(
                conversation, cursor.after_rev, request.limit, user_id
            )
            items.append(
                {
                    "conversation_id": conversation.id,
                    "messages": page["items"],
                    "changes": changes,
                    "rev": rev,
                    "has_more": page["has_more"] or more_changes,
                    # Pins of older messages are not in the page: the whole list is.
                    "pins": await self._pins(conversation.id, user_id),
                }
            )
        return {"items": items}

    async def _changes(
        self, conversation: ConversationRecord, after_rev: int | None, limit: int, viewer_id: str
    ) -> tuple[list[Message], int, bool]:
        """The messages changed after ``after_rev``, the rev to send next time,
        and whether more changes wait. Without ``after_rev``: none, and the
        conversation's rev as it was when the page was read."""
        if after_rev is None:
            return [], conversation.last_rev, False
        changed = await self.store.messages.changed(
            conversation.id, after_rev=after_rev, limit=limit + 1
        )
        more = len(changed) > limit
        changed = changed[:limit]
        # The last change returned, not the conversation's rev: a change whose
        # rev is taken but not yet visible must still come next time.
        rev = changed[-1].rev if changed else after_rev
        return [message_view(m, viewer_id) for m in changed], rev, more

    async def mark_read(
        self, user_id: str, request: MarkRead, origin_sid: str | None = None
    ) -> ReadState:
        conversation, membership = await self._member(user_id, request.conversation_id)
        seq = min(request.seq, conversation.last_seq)
        read_seq = await self.store.conversations.advance_read(conversation.id, user_id, seq)
        if read_seq > membership.read_seq:
            members = await self.store.conversations.member_ids(conversation.id)
            await self.events.to_users(
                "message:read",
                {
                    "conversation_id": conversation.id,
                    "user_id": user_id,
                    "seq": read_seq,
                    "read_at": now_iso(),
                },
                members,
                origin_sid,
            )
        unread = await self.store.messages.count_unread(conversation.id, user_id, read_seq)
        return {"conversation_id": conversation.id, "read_seq": read_seq, "unread_count": unread}

    async def mark_delivered(
        self, user_id: str, request: MarkDelivered, origin_sid: str | None = None
    ) -> Nothing:
        """The caller's devices received up to ``seq``. The marker only moves
        forward; when it moves, the other participants get ``message:delivered``
        (the caller's own devices have no use for it)."""
        conversation, membership = await self._member(user_id, request.conversation_id)
        if request.seq > conversation.last_seq:
            raise ValidationFailed.field(
                "seq", f"Beyond the conversation's last message (seq {conversation.last_seq})"
            )
        delivered = await self.store.conversations.advance_delivered(
            conversation.id, user_id, request.seq
        )
        if delivered > membership.delivered_seq:
            members = await self.store.conversations.member_ids(conversation.id)
            await self.events.to_users(
                "message:delivered",
                {
                    "conversation_id": conversation.id,
                    "user_id": user_id,
                    "seq": delivered,
                    "delivered_at": now_iso(),
                },
                [m for m in members if m != user_id],
                origin_sid,
            )
        return {}

    async def mark_unread(
        self, user_id: str, request: MarkUnread, origin_sid: str | None = None
    ) -> Conversation:
        """Unread from ``seq`` on: the read marker goes back to ``seq - 1``. A
        message already unread (``seq`` above the marker) leaves it where it
        is; the marker never moves forward here. The caller's other devices get
        ``conversation:updated``; the other participants are not told (their
        ``receipts`` show the marker on the next read, and its delivered
        marker keeps what was read)."""
        conversation, membership = await self._member(user_id, request.conversation_id)
        if not 1 <= request.seq <= conversation.last_seq:
            raise ValidationFailed.field(
                "seq",
                f"Must be the seq of a message here (1..{conversation.last_seq})"
                if conversation.last_seq
                else "This conversation has no messages yet",
            )
        read_seq = await self.store.conversations.rewind_read(
            conversation.id, user_id, request.seq - 1
        )
        view = await self._view(conversation, user_id)
        if read_seq < membership.read_seq:
            await self.events.to_users("conversation:updated", view, [user_id], origin_sid)
        return view

    async def unread_counts(self, user_id: str) -> UnreadCounts:
        """Unread messages in each of the caller's conversations, and their
        total. A muted conversation keeps its count but stays out of the total,
        which is what a badge shows."""
        counts, total = {}, 0
        for membership in await self.store.conversations.memberships_of(user_id):
            count = await self.store.messages.count_unread(
                membership.conversation_id, user_id, membership.read_seq
            )
            counts[membership.conversation_id] = count
            if not membership.muted:
                total += count
        return {"total": total, "conversations": counts}

    async def search(
        self, user_id: str, query: str, conversation_id: str | None, cursor: str | None, limit: int
    ) -> SearchPage:
        if conversation_id is not None:
            await self._member(user_id, conversation_id)
        offset = _decode_offset(cursor)
        hits = await self.store.messages.search(
            user_id, query, conversation_id=conversation_id, offset=offset, limit=limit + 1
        )
        items: list[SearchHit] = [
            {"message": message_view(m, user_id), "highlight": _safe_highlight(h)}
            for m, h in hits[:limit]
        ]
        next_cursor = str(offset + limit) if len(hits) > limit else None
        return {"items": items, "next_cursor": next_cursor}

    # Typing

    async def typing(self, user_id: str, request: Typing, origin_sid: str | None = None) -> Nothing:
        conversation, _ = await self._member(user_id, request.conversation_id)
        expires_ms = self.limits.typing_expires_ms
        if request.typing:
            self.typing_state.start(conversation.id, user_id, expires_ms / 1000)
        elif not self.typing_state.stop(conversation.id, user_id):
            return {}
        await self._emit_typing(conversation.id, user_id, request.typing)
        return {}

    async def stop_typing_everywhere(self, user_id: str) -> None:
        """The user's last socket left: end their typing indicators now."""
        for conversation_id in self.typing_state.conversations_of(user_id):
            if self.typing_state.stop(conversation_id, user_id):
                await self._emit_typing(conversation_id, user_id, False)

    async def _typing_expired(self, conversation_id: str, user_id: str) -> None:
        await self._emit_typing(conversation_id, user_id, False)

    async def _emit_typing(self, conversation_id: str, user_id: str, typing: bool) -> None:
        members = await self.store.conversations.member_ids(conversation_id)
        await self.events.to_users(
            "typing",
            {
                "conversation_id": conversation_id,
                "user_id": user_id,
                "typing": typing,
                "expires_in_ms": self.limits.typing_expires_ms,
            },
            [m for m in members if m != user_id],
        )

    # Helpers

    async def _member(
        self, user_id: str, conversation_id: str
    ) -> tuple[ConversationRecord, MembershipRecord]:
        conversation, membership = await self.store.conversations.get_for_member(
            conversation_id, user_id
        )
        if conversation is None:
            raise NotFound("No such conversation")
        if membership is None:
            raise Forbidden("You are not a participant of this conversation")
        return conversation, membership

    async def _own_message(self, user_id: str, message_id: str) -> MessageRecord:
        message = await self.store.messages.get(message_id)
        if message is None:
            raise NotFound("No such message")
        await self._member(user_id, message.conversation_id)
        if message.sender_id != user_id or message.kind != "text":
            raise Forbidden("Only the sender can change a message")
        if message.deleted:
            raise Conflict("This message was deleted")
        return message

    async def _view(
        self,
        conversation: ConversationRecord,
        user_id: str,
        membership: MembershipRecord | None = None,
    ) -> Conversation:
        membership = membership or await self.store.conversations.membership(
            conversation.id, user_id
        )
        assert membership is not None
        members = await self.store.conversations.members(conversation.id)
        unread = await self.store.messages.count_unread(
            conversation.id, user_id, membership.read_seq
        )
        mentions = await self.store.messages.count_unread_mentions(
            conversation.id, user_id, membership.read_seq
        )
        return conversation_view(conversation, membership, members, unread, mentions)

    async def _broadcast_updated(
        self,
        conversation: ConversationRecord,
        origin_sid: str | None,
        skip: AbstractSet[str] = frozenset(),
    ) -> None:
        conversation = await self.store.conversations.get(conversation.id) or conversation
        for member in await self.store.conversations.member_ids(conversation.id):
            if member not in skip:
                await self.events.to_users(
                    "conversation:updated",
                    await self._view(conversation, member),
                    [member],
                    origin_sid,
                )

    async def _page(
        self,
        conversation_id: str,
        after_seq: int | None,
        before_seq: int | None,
        limit: int,
        viewer_id: str,
    ) -> MessagePage:
        rows = await self.store.messages.range(
            conversation_id, after_seq=after_seq, before_seq=before_seq, limit=limit + 1
        )
        has_more = len(rows) > limit
        if has_more:
            rows = rows[:limit] if after_seq is not None else rows[1:]
        return {"items": [message_view(m, viewer_id) for m in rows], "has_more": has_more}

    async def _require_unblocked(self, user_id: str, other_id: str) -> None:
        if await self.store.blocks.exists_between(user_id, other_id):
            raise Forbidden("You cannot start a conversation with this user")

    async def _require_not_blocked_by(self, user_id: str, user_ids: list[str]) -> None:
        """Refuse when any of ``user_ids`` blocked ``user_id`` (one query for
        all). Who did is not said: the caller learns no more than that."""
        if user_ids and await self.store.blocks.blockers_among(user_id, user_ids):
            raise Forbidden("Someone you named has blocked you")

    async def _require_session_party(self, user_id: str, session_id: str) -> None:
        """One of the networking session's two users."""
        session = await self.store.networking.get_session(session_id)
        if session is None:
            raise NotFound("No such networking session")
        if user_id not in (session.offerer_id, session.answerer_id):
            raise Forbidden("Only the session's two users can talk about it")

    async def _bid_of_party(self, user_id: str, bid_id: str) -> BidRecord:
        bid = await self.store.market.get_bid(bid_id)
        if bid is None:
            raise NotFound("No such bid")
        if user_id not in (bid.owner_id, bid.freelancer_id):
            raise Forbidden("Only the job's owner and the bidder can talk about this bid")
        return bid

    async def _require_job_party(self, user_id: str, job_id: str) -> None:
        """The job's owner, its freelancer, or someone who bid on it."""
        job = await self.store.market.get_job(job_id)
        if job is None or job.status == "deleted":
            raise NotFound("No such job")
        if user_id in (job.owner_id, job.freelancer_id):
            return
        if not await self.store.market.list_bids(job.id, freelancer_id=user_id, limit=1):
            raise Forbidden("Only the job's owner and its bidders can talk about this job")

    async def _require_users(self, user_ids: list[str], field: str) -> None:
        found = {u.id for u in await self.store.users.get_many(user_ids)}
        missing = [uid for uid in user_ids if uid not in found]
        if missing:
            raise ValidationFailed.field(field, f"Unknown users: {', '.join(missing[:5])}")

    @staticmethod
    def _require_group(conversation: ConversationRecord) -> None:
        if conversation.type != "group":
            raise ValidationFailed.field(
                "conversation_id", "Only group conversations change members"
            )

    def _clean_text(self, text: str) -> str:
        text = text.strip()
        if not 1 <= len(text) <= self.limits.max_text_length:
            raise ValidationFailed.field(
                "text", f"Text must be 1..{self.limits.max_text_length} characters after trimming"
            )
        return text


_UNPIN = {"pinned": False, "pinned_at": None, "pinned_by": None}


def _deleted_reaction() -> ValidationFailed:
    return ValidationFailed.field("message_id", "A deleted message cannot get reactions")


def _deleted_pin() -> ValidationFailed:
    return ValidationFailed.field("message_id", "A deleted message cannot be pinned")


def _safe_highlight(highlight: str) -> str:
    """HTML-escape an excerpt but keep its ``<mark>`` tags, so clients can render it."""
    escaped = html.escape(highlight, quote=False)
    return escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")


# The pinned_at part of a conversation:list cursor past the pinned conversations.
_UNPINNED = "-"


def _list_position(cursor: str) -> ListPosition:
    """The place in the conversation list a ``conversation:list`` cursor marks.
    Cursors made before pinned conversations listed first (issue 17) have two
    parts, a place among the unpinned: they still page on."""
    try:
        pinned_at, at, last_id = decode_cursor_parts(cursor, 3)
    except ValidationFailed:
        at, last_id = decode_cursor_parts(cursor, 2)
        return ListPosition(None, at, last_id)
    return ListPosition(None if pinned_at == _UNPINNED else pinned_at, at, last_id)


def _decode_offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    # ASCII digits only ("²".isdigit() is true), and small enough for the database.
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 12:
        raise ValidationFailed.field("cursor", "Invalid cursor")
    return int(cursor)
