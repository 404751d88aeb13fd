"""The wire shapes of uploads and attachments (PROTOCOL.md, "Attachments")."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from ..schema import Body, Id


class CreateUpload(Body):
    conversation_id: Id
    # Only shown to people (Content-Disposition); the bytes are stored by id.
    name: Annotated[str, Field(min_length=1, max_length=255)]
    size: Annotated[int, Field(ge=0, le=10**12)]  # the client's word: checked on the bytes
    mime: Annotated[str, Field(min_length=3, max_length=127, pattern=r"^[\w.+-]+/[\w.+-]+$")]


class UploadTicket(TypedDict):
    """Where to PUT an upload's bytes, and until when."""

    id: str
    upload_url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_at: str


class Attachment(TypedDict):
    """A checked file: what the bytes are, and where participants fetch them
    (``url`` answers with a redirect to a short-lived signed URL)."""

    id: str
    name: str
    size: int
    mime: str
    sha256: str
    width: NotRequired[int]
    height: NotRequired[int]
    url: str
    thumbnail_url: NotRequired[str]
    scan_status: Literal["pending", "clean", "infected", "not_scanned"]
