"""Payloads of /signaling events and of the REST fallback."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.schema import Body, Id

MAX_SDP_BYTES = 64 * 1024
# Checked after the pydantic model, so a too-long SDP is a clear validation_failed
# on ``sdp``; this outer bound only keeps absurd strings from being parsed at all.
RawSdp = Annotated[str, Field(min_length=1, max_length=4 * MAX_SDP_BYTES)]


class Candidate(Body):
    """An ICE candidate as ``RTCIceCandidate.toJSON()`` gives it."""

    candidate: Annotated[str, Field(max_length=1024)]
    sdpMid: Annotated[str, Field(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1024)] | None = None
    usernameFragment: Annotated[str, Field(max_length=256)] | None = None


class Target(Body):
    """Exactly one of ``call_id`` or ``session_id`` (the other absent or null)."""

    # The JSON Schema of that rule: exactly one of the two is a string.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": [name], "properties": {name: {"type": "string"}}}
                for name in ("call_id", "session_id")
            ]
        }
    )

    call_id: Id | None = None
    session_id: Id | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Target:
        if (self.call_id is None) == (self.session_id is None):
            raise ValueError("send exactly one of call_id or session_id")
        return self


class Signal(Target):
    type: Literal["offer", "answer", "candidate"]
    sdp: RawSdp | None = None
    candidate: Candidate | None = None
    # The sender is always the socket's user: these are accepted and ignored,
    # so a client that echoes a received signal back is not refused.
    from_user_id: Any = Field(None, exclude=True)
    from_: Any = Field(None, alias="from", exclude=True)

    @model_validator(mode="after")
    def _body_fits_type(self) -> Signal:
        if self.type == "candidate" and self.candidate is None:
            raise ValueError("a candidate signal needs candidate")
        if self.type != "candidate" and self.sdp is None:
            raise ValueError(f"an {self.type} signal needs sdp")
        return self


class CallInvite(Body):
    conversation_id: Id
    media: Literal["audio", "video"]


class CallRef(Body):
    call_id: Id


class EchoStart(Body):
    sdp: RawSdp


# REST fallback bodies: POST /live/signaling/offer|answer and /ice.


class LiveSdp(Target):
    sdp: RawSdp


class LiveIce(Target):
    candidate: Candidate


class RelayAccepted(BaseModel):
    """The REST fallback's answer: the signal was relayed (like the ``signal`` ack)."""


def _absent(value: object) -> bool:
    return value is None


class IceServer(BaseModel):
    """A STUN entry is ``{urls}`` alone: the TURN fields are left out, not null."""

    urls: list[str]
    username: str | None = Field(None, exclude_if=_absent)
    credential: str | None = Field(None, exclude_if=_absent)


class IceServers(BaseModel):
    ice_servers: list[IceServer]
    ttl: int


# What the call operations answer (acks).

CallStatus = Literal["ringing", "active", "ended", "declined", "cancelled", "missed"]


class Call(BaseModel):
    id: str
    conversation_id: str
    caller_id: str
    callee_ids: list[str]
    media: Literal["audio", "video"]
    state: CallStatus
    created_at: str
    answered_by: str | None
    answered_at: str | None
    ended_at: str | None
    end_reason: str | None


class AcceptedCall(Call):
    polite: bool = Field(description="Perfect negotiation: the callee is the polite peer")


class EchoAnswer(BaseModel):
    sdp: str
