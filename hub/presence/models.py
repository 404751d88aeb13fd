"""Payloads of the /presence namespace."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..schema import Body, Id

MAX_IDS_PER_CALL = 500


class UserIds(Body):
    user_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_IDS_PER_CALL)]


class SetStatus(Body):
    status: Literal["online", "away", "busy"]
