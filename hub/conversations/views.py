"""Records to wire shapes, and the shapes themselves.

TypedDicts, not models: a message view is built for every send and every
delivery, the hot path, and a dict costs nothing more. They are also what
OpenAPI documents (pydantic reads TypedDicts, from ``typing_extensions`` on
Python 3.11), so each shape is written once."""

from __future__ import annotations

from typing import Annotated, Any, cast

from pydantic import Field
from typing_extensions import TypedDict

from storage.records import ConversationRecord, ConversationType, MembershipRecord, MessageRecord


class Message(TypedDict):
    id: str
    conversation_id: str
    seq: int
    sender_id: str
    client_msg_id: str
    text: str
    attachments: list[dict[str, Any]]
    reply_to: str | None
    created_at: str
    edited_at: str | None
    deleted: bool
    mentions: Annotated[list[str], Field(description="Ids of the participants it mentions")]
    pinned: bool
    pinned_at: str | None
    pinned_by: str | None


class Receipt(TypedDict):
    """How far one participant received and read: a message of seq ``n`` is
    delivered to them when ``n <= delivered_seq``, read when ``n <= read_seq``."""

    user_id: str
    delivered_seq: Annotated[
        int, Field(description="Never below the highest read marker they ever had")
    ]
    read_seq: int


class Conversation(TypedDict):
    """As one participant (the viewer) sees it."""

    id: str
    type: ConversationType
    participant_ids: list[str]
    read_seqs: Annotated[
        dict[str, int],
        Field(description="Every participant's read marker, by user id (the viewer's is read_seq)"),
    ]
    receipts: Annotated[
        list[Receipt],
        Field(description="Every participant's delivered and read markers, in join order"),
    ]
    title: str | None
    context: dict[str, str] | None
    created_by: str
    created_at: str
    last_message: Message | None
    last_seq: int
    read_seq: int
    unread_count: int
    unread_mentions: Annotated[
        int,
        Field(description="Messages after read_seq that mention the viewer, deleted ones excluded"),
    ]
    pinned: bool
    archived: bool
    muted: bool


class ConversationPage(TypedDict):
    items: list[Conversation]
    next_cursor: str | None


class MessagePage(TypedDict):
    items: list[Message]
    has_more: bool


class SyncedConversation(TypedDict):
    conversation_id: str
    messages: list[Message]
    has_more: bool
    pins: Annotated[
        list[Message],
        Field(
            description="The conversation's pinned messages now, most recently pinned first:"
            " pins and unpins of older messages made while away"
        ),
    ]


class SyncResult(TypedDict):
    items: list[SyncedConversation]


class ReadState(TypedDict):
    conversation_id: str
    read_seq: int
    unread_count: int


class UnreadCounts(TypedDict):
    total: Annotated[
        int, Field(description="The sum over the conversations the caller has not muted")
    ]
    conversations: Annotated[
        dict[str, int],
        Field(description="Every conversation of the caller by id, muted ones included"),
    ]


class SearchHit(TypedDict):
    message: Message
    highlight: str


class SearchPage(TypedDict):
    items: list[SearchHit]
    next_cursor: str | None


class DeletedMessage(TypedDict):
    message_id: str


class PinnedMessages(TypedDict):
    items: Annotated[list[Message], Field(description="Most recently pinned first")]


class Nothing(TypedDict):
    """The ack data of an event with nothing to say back (``typing``)."""


def message_view(message: MessageRecord) -> Message:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "client_msg_id": message.client_msg_id,
        "text": message.text,
        "attachments": message.attachments,
        "reply_to": message.reply_to,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "deleted": message.deleted,
        "mentions": message.mentions,
        "pinned": message.pinned,
        "pinned_at": message.pinned_at,
        "pinned_by": message.pinned_by,
    }


# Message fields a snapshot stored before them lacks, with the value they had.
_ADDED_LATER: dict[str, Any] = {
    "pinned": False,
    "pinned_at": None,
    "pinned_by": None,
    "mentions": [],
}


def stored_message_view(message: dict[str, Any]) -> Message:
    """A conversation's ``last_message``, stored as a snapshot of the message."""
    stored = {**_ADDED_LATER, **message}
    return cast(Message, {name: stored[name] for name in Message.__annotations__})


def conversation_view(
    conversation: ConversationRecord,
    membership: MembershipRecord,
    members: list[MembershipRecord],
    unread_count: int,
    unread_mentions: int = 0,
) -> Conversation:
    """The viewer's view: ``membership`` is the viewer's own, ``members`` every
    participant's (in join order), which gives ``participant_ids``, ``read_seqs`` and
    ``receipts``."""
    last = conversation.last_message
    return {
        "id": conversation.id,
        "type": conversation.type,
        "participant_ids": [m.user_id for m in members],
        "read_seqs": {m.user_id: m.read_seq for m in members},
        "receipts": [
            {
                "user_id": m.user_id,
                "delivered_seq": max(m.delivered_seq, m.read_seq),
                "read_seq": m.read_seq,
            }
            for m in members
        ],
        "title": conversation.title,
        "context": conversation.context,
        "created_by": conversation.created_by,
        "created_at": conversation.created_at,
        "last_message": stored_message_view(last) if last else None,
        "last_seq": conversation.last_seq,
        "read_seq": membership.read_seq,
        "unread_count": unread_count,
        "unread_mentions": unread_mentions,
        "pinned": membership.pinned,
        "archived": membership.archived,
        "muted": membership.muted,
    }
