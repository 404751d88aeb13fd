"""Records to wire shapes, and the shapes themselves.

TypedDicts, not models: a message view is built for every send and every
delivery, the hot path, and a dict costs nothing more. They are also what
OpenAPI documents (pydantic reads TypedDicts, from ``typing_extensions`` on
Python 3.11), so each shape is written once."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired, cast

from pydantic import Field
from typing_extensions import TypedDict

from storage.records import (
    ConversationRecord,
    ConversationType,
    MembershipRecord,
    MessageKind,
    MessageRecord,
)
from storage.schema import field_names


class Reaction(TypedDict):
    emoji: Annotated[str, Field(description="One emoji, or a :short_name:")]
    count: int
    me: Annotated[bool, Field(description="Whether the viewer is among those who reacted")]


class CardRef(TypedDict):
    type: Annotated[str, Field(description="job, bid, milestone, call or user")]
    id: str


class Card(TypedDict):
    """What a system or card message is about (docs/protocol.md lists the types)."""

    type: str
    ref: CardRef | None
    state: str
    amount: NotRequired[Annotated[int, Field(description="Minor units of currency")]]
    currency: NotRequired[str]
    title: NotRequired[str | None]
    duration_s: NotRequired[int]
    user_ids: NotRequired[list[str]]


class Message(TypedDict):
    id: str
    conversation_id: str
    seq: int
    kind: Annotated[
        MessageKind, Field(description="text from a participant, system or card from the hub")
    ]
    sender_id: Annotated[str | None, Field(description="null for system and card messages")]
    actor_id: Annotated[
        str | None,
        Field(description="For system and card messages, the user whose action caused it"),
    ]
    card: Card | None
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
    reactions: Annotated[
        list[Reaction], Field(description="In the order each emoji was first used")
    ]
    thread_root_id: Annotated[
        str | None, Field(description="For a reply in a thread, the thread's first message")
    ]
    reply_count: Annotated[int, Field(description="For a thread's first message, its replies")]
    last_reply_at: str | None
    masked: NotRequired[
        Annotated[
            bool,
            Field(
                description="Only in the sender's ack: contact details in the text were"
                " replaced by [contact hidden] for the recipients (HUB_CONTACT_MASKING)"
            ),
        ]
    ]


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
    changes: Annotated[
        list[Message],
        Field(
            description="Messages changed after the cursor's after_rev (edited, deleted, pinned,"
            " reacted to, replied to), as they are now, ascending by change"
        ),
    ]
    rev: Annotated[
        int, Field(description="Send as after_rev next time: the changes up to it are in hand")
    ]
    has_more: Annotated[
        bool, Field(description="More messages or changes wait: sync again from here")
    ]
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


def message_view(message: MessageRecord, viewer_id: str | None = None) -> Message:
    """The wire shape; ``viewer_id`` decides each reaction's ``me``."""
    written = message.kind == "text"
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "kind": message.kind,
        "sender_id": message.sender_id if written else None,
        "actor_id": None if written else message.sender_id,
        "card": cast(Card | None, message.card),
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
        "reactions": reaction_views(message.reactions, viewer_id),
        "thread_root_id": message.thread_root_id,
        "reply_count": message.reply_count,
        "last_reply_at": message.last_reply_at,
    }


def reaction_views(reactions: list[dict[str, Any]], viewer_id: str | None) -> list[Reaction]:
    return [
        {"emoji": r["emoji"], "count": len(r["user_ids"]), "me": viewer_id in r["user_ids"]}
        for r in reactions
    ]


def alike_viewers(
    reactions: list[dict[str, Any]], user_ids: list[str]
) -> list[tuple[str | None, list[str]]]:
    """``user_ids`` grouped by what they see of ``reactions`` (which ``me`` is
    true), each group with one of them to build its view for: everyone who
    reacted to nothing sees the same, so an event reaches a large group in
    a few emits, not one per participant."""
    groups: dict[tuple[bool, ...], tuple[str | None, list[str]]] = {}
    for user_id in user_ids:
        mine = tuple(user_id in r["user_ids"] for r in reactions)
        members = groups.setdefault(mine, (user_id if any(mine) else None, []))[1]
        members.append(user_id)
    return list(groups.values())


def stored_message_view(message: dict[str, Any], viewer_id: str | None = None) -> Message:
    """A conversation's ``last_message``, stored as a snapshot of the message
    (fields added since it was stored take their defaults)."""
    known = _MESSAGE_FIELDS.intersection(message)
    return message_view(MessageRecord(**{name: message[name] for name in known}), viewer_id)


_MESSAGE_FIELDS = frozenset(field_names(MessageRecord))


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
        "last_message": stored_message_view(last, membership.user_id) if last else None,
        "last_seq": conversation.last_seq,
        "read_seq": membership.read_seq,
        "unread_count": unread_count,
        "unread_mentions": unread_mentions,
        "pinned": membership.pinned,
        "archived": membership.archived,
        "muted": membership.muted,
    }
