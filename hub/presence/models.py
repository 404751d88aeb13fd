"""Payloads of the /presence namespace, and the state it answers with."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..schema import Body, Id

MAX_IDS_PER_CALL = 500


class UserIds(Body):
    user_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_IDS_PER_CALL)]


class SetStatus(Body):
    status: Literal["online", "away", "busy"]


class PresenceState(BaseModel):
    """One user's presence: the ``presence`` event, and each item of the acks."""

    user_id: str
    status: Literal["online", "away", "busy", "offline"]
    last_seen_at: str | None
