"""Records to wire shapes (plain dicts: this is the hot path)."""

from __future__ import annotations

from typing import Any

from storage.records import ConversationRecord, MembershipRecord, MessageRecord

MESSAGE_FIELDS = (
    "id",
    "conversation_id",
    "seq",
    "sender_id",
    "client_msg_id",
    "text",
    "attachments",
    "reply_to",
    "created_at",
    "edited_at",
    "deleted",
)


def message_view(message: MessageRecord | dict[str, Any]) -> dict[str, Any]:
    if isinstance(message, dict):
        return {name: message[name] for name in MESSAGE_FIELDS}
    return {name: getattr(message, name) for name in MESSAGE_FIELDS}


def conversation_view(
    conversation: ConversationRecord,
    membership: MembershipRecord,
    members: list[MembershipRecord],
    unread_count: int,
) -> dict[str, Any]:
    """The viewer's view: ``membership`` is the viewer's own, ``members`` every
    participant's (in join order), which gives ``participant_ids`` and ``read_seqs``."""
    last = conversation.last_message
    return {
        "id": conversation.id,
        "type": conversation.type,
        "participant_ids": [m.user_id for m in members],
        "read_seqs": {m.user_id: m.read_seq for m in members},
        "title": conversation.title,
        "context": conversation.context,
        "created_by": conversation.created_by,
        "created_at": conversation.created_at,
        "last_message": message_view(last) if last else None,
        "last_seq": conversation.last_seq,
        "read_seq": membership.read_seq,
        "unread_count": unread_count,
        "pinned": membership.pinned,
        "archived": membership.archived,
        "muted": membership.muted,
    }
