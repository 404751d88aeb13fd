"""Payloads of /conversations events and REST bodies, and the shapes sent back."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..accounts.models import Body, HttpUrl, configured

Id = Annotated[str, Field(min_length=1, max_length=64)]
Seq = Annotated[int, Field(ge=0, le=2**53)]
Limit = Annotated[int, Field(ge=1, le=100)]
# A hard cap before the configurable text limit is checked, so huge strings fail fast.
RawText = Annotated[str, Field(max_length=100_000, json_schema_extra=configured("max_text_length"))]


class ContextRef(Body):
    """What a conversation is about. A job or bid must be one the creator is a
    party to (its owner; for a job also a bidder or its freelancer, for a bid
    its bidder). A bid has exactly one conversation: creating another with its
    context returns that one."""

    type: Literal["job", "bid", "networking_session"]
    id: Id


class Attachment(Body):
    url: HttpUrl
    name: Annotated[str, Field(min_length=1, max_length=255)]
    size: Annotated[int, Field(ge=0, le=10**12)]
    mime: Annotated[str, Field(min_length=1, max_length=127)]


class CreateConversation(Body):
    participant_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]
    type: Literal["direct", "group"] | None = None
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    context: ContextRef | None = None


class ListConversations(Body):
    cursor: Annotated[str, Field(max_length=200)] | None = None
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


class SendMessage(Body):
    conversation_id: Id
    client_msg_id: Id
    text: RawText
    attachments: Annotated[list[Attachment], Field(max_length=10)] = Field(default_factory=list)
    reply_to: Id | None = None


class EditMessage(Body):
    message_id: Id
    text: RawText


class DeleteMessage(Body):
    message_id: Id


class History(Body):
    conversation_id: Id
    before_seq: Seq | None = None
    after_seq: Seq | None = None
    limit: Limit = 50


class MarkRead(Body):
    conversation_id: Id
    seq: Seq


class Typing(Body):
    conversation_id: Id
    typing: bool


class SyncCursor(Body):
    conversation_id: Id
    after_seq: Seq


class Sync(Body):
    cursors: Annotated[list[SyncCursor], Field(min_length=1, max_length=500)]
    limit: Limit = 100


_DIGITS = re.compile(r"-?[0-9]{1,19}")
_BOOLEANS = {"true": True, "false": False}


def _int_text(text: str) -> object:
    # Anything else stays text, which the strict int field refuses (422).
    return int(text) if _DIGITS.fullmatch(text) else text


def _bool_text(text: str) -> object:
    return _BOOLEANS.get(text, text)


def _text_parser(annotation: Any) -> Callable[[str], object] | None:
    """How a query field of this type reads its text, if it is not a string."""
    union = get_origin(annotation) in (Union, UnionType)
    options = get_args(annotation) if union else (annotation,)
    bare = {
        get_args(option)[0] if get_origin(option) is Annotated else option for option in options
    }
    if bool in bare:
        return _bool_text
    if int in bare:
        return _int_text
    return None


class Query(BaseModel):
    """Query strings: every value arrives as text. An int field takes digits only
    (``5``, not ``5.0``) and a bool field ``true`` or ``false``; past that the model
    is as strict as a body. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)
    _parsers: ClassVar[dict[str, Callable[[str], object]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._parsers = {
            name: parser
            for name, field in cls.model_fields.items()
            if (parser := _text_parser(field.annotation)) is not None
        }

    @model_validator(mode="before")
    @classmethod
    def _parse_text(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            key: cls._parsers[key](value)
            if key in cls._parsers and isinstance(value, str)
            else value
            for key, value in data.items()
        }


# Cursors are base64url text, never anything a browser has to percent-encode.
Cursor = Annotated[
    str,
    Field(
        max_length=200, pattern=r"^[A-Za-z0-9_=-]*$", description="next_cursor of the previous page"
    ),
]


class ConversationListQuery(Query):
    cursor: Cursor | None = None
    limit: Limit = 20
    archived: bool | None = None


class HistoryQuery(Query):
    before_seq: Seq | None = None
    after_seq: Seq | None = None
    limit: Limit = 50


class SearchQuery(Query):
    q: Annotated[str, Field(min_length=1, max_length=200)]
    conversation_id: Id | None = None
    cursor: Annotated[str, Field(max_length=20)] | None = None
    limit: Limit = 20


class RestSendMessage(Body):
    """POST /conversations/{id}/messages; ``client_msg_id`` defaults to the Idempotency-Key."""

    client_msg_id: Id | None = None
    text: RawText
    attachments: Annotated[list[Attachment], Field(max_length=10)] = Field(default_factory=list)
    reply_to: Id | None = None


class RestUpdateConversation(Body):
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    pinned: bool | None = None
    archived: bool | None = None
    muted: bool | None = None


class RestAddParticipants(Body):
    user_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]


class RestEditMessage(Body):
    text: RawText


class RestMarkRead(Body):
    seq: Seq


# Shapes sent to clients (documented in OpenAPI; views build them as plain dicts).


class Message(BaseModel):
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


class Conversation(BaseModel):
    id: str
    type: Literal["direct", "group"]
    participant_ids: list[str]
    read_seqs: dict[str, int] = Field(
        description="Every participant's read marker, by user id (the viewer's is read_seq)"
    )
    title: str | None
    context: dict[str, str] | None
    created_by: str
    created_at: str
    last_message: Message | None
    last_seq: int
    read_seq: int
    unread_count: int
    pinned: bool
    archived: bool
    muted: bool


class ConversationPage(BaseModel):
    items: list[Conversation]
    next_cursor: str | None


class MessagePage(BaseModel):
    items: list[Message]
    has_more: bool


class ReadState(BaseModel):
    conversation_id: str
    read_seq: int
    unread_count: int


class UnreadCounts(BaseModel):
    total: int
    conversations: dict[str, int]


class SearchHit(BaseModel):
    message: Message
    highlight: str


class SearchPage(BaseModel):
    items: list[SearchHit]
    next_cursor: str | None


class DeletedMessage(BaseModel):
    message_id: str
