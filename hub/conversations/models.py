"""Payloads of /conversations events and REST bodies, and the shapes sent back."""

from __future__ import annotations

from typing import Annotated, Literal

import emoji
from pydantic import AfterValidator, Field

from ..schema import (
    Body,
    Cursor,
    Id,
    Limit,
    Query,
    Seq,
    configured,
    rest_body,
    rest_query,
)

# A hard cap before the configurable text limit is checked, so huge strings fail fast.
RawText = Annotated[str, Field(max_length=100_000, json_schema_extra=configured("max_text_length"))]


class ContextRef(Body):
    """What a conversation is about. A job or bid must be one the creator is a
    party to (its owner; for a job also a bidder or its freelancer, for a bid
    its bidder). A bid has exactly one conversation: creating another with its
    context returns that one."""

    type: Literal["job", "bid", "networking_session"]
    id: Id


class CreateConversation(Body):
    participant_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]
    type: Literal["direct", "group"] | None = None
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    context: ContextRef | None = None


class ListConversations(Body):
    cursor: Cursor | None = None
    limit: Limit = 20
    archived: bool | None = None


class ConversationRef(Body):
    conversation_id: Id


class UpdateConversation(Body):
    conversation_id: Id
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    pinned: bool | None = None
    archived: bool | None = None
    muted: bool | None = None


class AddParticipants(Body):
    conversation_id: Id
    user_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]


class RemoveParticipant(Body):
    conversation_id: Id
    user_id: Id


def _one_emoji(value: str) -> str:
    """One emoji (ZWJ sequences, flags and skin tones included), or a known
    ``:short_name:``, which becomes its emoji so that both count as one reaction."""
    if len(value) > 2 and value.startswith(":") and value.endswith(":"):
        value = emoji.emojize(value, language="alias")
        if not emoji.is_emoji(value):
            raise ValueError("Unknown emoji short name")
    elif not emoji.is_emoji(value):
        raise ValueError("Must be one emoji or a :short_name:")
    return value


Emoji = Annotated[
    str,
    Field(min_length=1, max_length=64, description="One emoji or a :short_name:"),
    AfterValidator(_one_emoji),
]


class SendMessage(Body):
    conversation_id: Id
    client_msg_id: Id
    text: RawText
    # Completed uploads of the sender in this conversation (POST /uploads).
    attachments: Annotated[list[Id], Field(max_length=10)] = Field(default_factory=list)
    reply_to: Id | None = None
    # Participants the message mentions: each gets a ``mention`` notification.
    # Duplicates collapse; the sender's own id is dropped.
    mentions: Annotated[list[Id], Field(max_length=50)] = Field(default_factory=list)
    # A reply in the thread of this message (of the same conversation, not a reply).
    thread_root_id: Id | None = None


class EditMessage(Body):
    message_id: Id
    text: RawText


class DeleteMessage(Body):
    message_id: Id


class PinMessage(Body):
    """Pin or unpin a message in its conversation (any participant; at most
    ``max_pinned_messages`` pinned per conversation)."""

    message_id: Id
    pinned: bool


class React(Body):
    """Add or remove the caller's reaction (at most ``max_reactions`` distinct
    emoji per message)."""

    message_id: Id
    emoji: Emoji


class Thread(Body):
    """The replies in a message's thread, ascending ``seq``."""

    message_id: Id
    after_seq: Seq | None = None
    limit: Limit = 50


class History(Body):
    conversation_id: Id
    before_seq: Seq | None = None
    after_seq: Seq | None = None
    limit: Limit = 50


class MarkRead(Body):
    conversation_id: Id
    seq: Seq


class MarkDelivered(Body):
    """The caller's devices received the conversation up to ``seq`` (at most
    its ``last_seq``)."""

    conversation_id: Id
    seq: Seq


class MarkUnread(Body):
    """Mark unread from ``seq`` on: the read marker goes back to ``seq - 1``
    (``seq`` is 1..``last_seq``)."""

    conversation_id: Id
    seq: Seq


class Typing(Body):
    conversation_id: Id
    typing: bool


class SyncCursor(Body):
    conversation_id: Id
    after_seq: Seq
    # The ``rev`` of this conversation from the previous sync: the messages
    # changed since then come back in ``changes``. Omitted: no changes, only
    # the current ``rev`` to start from.
    after_rev: Seq | None = None


class Sync(Body):
    cursors: Annotated[list[SyncCursor], Field(min_length=1, max_length=500)]
    limit: Limit = 100


class SearchQuery(Query):
    q: Annotated[str, Field(min_length=1, max_length=200)]
    conversation_id: Id | None = None
    cursor: Annotated[str, Field(max_length=20)] | None = None
    limit: Limit = 20


# The REST twins of the socket operations above: the same fields, less what the
# URL path carries (GET /conversations/{id}/messages, POST .../messages, ...).
ConversationListQuery = rest_query(ListConversations, "ConversationListQuery")
HistoryQuery = rest_query(History, "HistoryQuery", path=("conversation_id",))
ThreadQuery = rest_query(Thread, "ThreadQuery", path=("message_id",))
RestSendMessage = rest_body(
    SendMessage,
    "RestSendMessage",
    path=("conversation_id",),
    optional=("client_msg_id",),
    doc="POST /conversations/{id}/messages; ``client_msg_id`` defaults to the Idempotency-Key.",
)
RestUpdateConversation = rest_body(
    UpdateConversation, "RestUpdateConversation", path=("conversation_id",)
)
RestAddParticipants = rest_body(AddParticipants, "RestAddParticipants", path=("conversation_id",))
RestEditMessage = rest_body(EditMessage, "RestEditMessage", path=("message_id",))
RestMarkRead = rest_body(MarkRead, "RestMarkRead", path=("conversation_id",))
RestMarkDelivered = rest_body(MarkDelivered, "RestMarkDelivered", path=("conversation_id",))
RestMarkUnread = rest_body(MarkUnread, "RestMarkUnread", path=("conversation_id",))
