"""Payloads of /networking events, REST bodies and queries, and the shapes sent back."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from ..clock import iso, parse_iso
from ..schema import Body, Cursor, Id, IntChoice, Query

Stars = Annotated[int, Field(ge=1, le=5)]
Note = Annotated[str, Field(max_length=1000)]
Iso = Annotated[str, Field(min_length=10, max_length=40)]


def _iso(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        moment = parse_iso(value)
    except ValueError as exc:
        raise ValueError("must be an ISO 8601 time, like 2026-11-22T10:00:00.000Z") from exc
    if moment.tzinfo is None:
        raise ValueError("must carry a time zone (Z for UTC)")
    return iso(moment)


class CreateLobby(Body):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    topic: Annotated[str, Field(min_length=1, max_length=100)]
    duration_minutes: Annotated[Literal[2, 5], IntChoice]
    starts_at: Iso | None = None
    ends_at: Iso | None = None

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _times(cls, value: str | None) -> str | None:
        return _iso(value)

    @model_validator(mode="after")
    def _window(self) -> CreateLobby:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class LobbyQuery(Query):
    duration: Literal["2", "5"] | None = None
    topic: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    cursor: Cursor | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class LobbyRef(Body):
    lobby_id: Id


class SessionRef(Body):
    session_id: Id


class Rating(Body):
    stars: Stars
    note: Note | None = None
    connect: bool


class RateSession(Rating):
    session_id: Id


# What the service answers (REST responses, in the OpenAPI document, and acks).

LobbyStatus = Literal["scheduled", "open", "closed"]
Role = Literal["offerer", "answerer"]
EndReason = Literal["time_up", "peer_left", "peer_no_show", "lobby_closed"]


class LobbyJoined(BaseModel):
    lobby_id: str
    waiting: int


class LobbyLeft(BaseModel):
    lobby_id: str


class Lobby(BaseModel):
    id: str
    title: str
    topic: str
    duration_minutes: int
    starts_at: str | None
    ends_at: str | None
    status: LobbyStatus
    created_by: str
    created_at: str
    waiting: int
    active_sessions: int


class LobbyPage(BaseModel):
    items: list[Lobby]
    next_cursor: str | None


class Peer(BaseModel):
    """What a peer sees of the other before both choose to connect: no id, no email."""

    display_name: str
    headline: str
    avatar_url: str | None


class MaskedPeer(Peer):
    user_id: str | None = Field(None, description="Only once both chose to connect")


class RatingView(BaseModel):
    session_id: str
    stars: int
    note: str | None
    connect: bool
    created_at: str
    connected: bool
    conversation_id: str | None


class Session(BaseModel):
    id: str
    lobby_id: str
    status: Literal["active", "ended"]
    role: Role
    polite: bool
    peer: MaskedPeer
    starts_at: str
    ends_at: str
    ended_at: str | None
    end_reason: str | None
    connected: bool
    conversation_id: str | None
    my_rating: RatingView | None


class UsageRow(BaseModel):
    sessions: int
    ratings: int
    average_rating: float | None
    connections: int
    connect_rate: float | None


class LobbyUsage(UsageRow):
    lobby_id: str
    title: str
    topic: str
    duration_minutes: int


class DurationUsage(UsageRow):
    duration_minutes: int


class Usage(BaseModel):
    lobbies: list[LobbyUsage]
    by_duration: list[DurationUsage]
    total: UsageRow
