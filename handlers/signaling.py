"""REST side of /signaling: ICE servers and the signal relay fallback."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_body
from hub.schema import validate
from signaling.models import IceServers, LiveIce, LiveSdp, RelayAccepted, Signal

from .routing import Route, services_of, user_id_of


async def ice_servers(request: web.Request) -> web.Response:
    return json_response(services_of(request).signaling.ice_servers(user_id_of(request)))


async def relay_offer(request: web.Request) -> web.Response:
    return await _relay_sdp(request, "offer")


async def relay_answer(request: web.Request) -> web.Response:
    return await _relay_sdp(request, "answer")


async def relay_ice(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, LiveIce)
    signal = validate(
        Signal,
        {
            **body.model_dump(exclude={"candidate"}),
            "type": "candidate",
            "candidate": body.candidate.model_dump(),
        },
    )
    return await _relay(request, caller, signal)


async def _relay_sdp(request: web.Request, kind: str) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, LiveSdp)
    return await _relay(request, caller, validate(Signal, {**body.model_dump(), "type": kind}))


async def _relay(request: web.Request, caller: str, signal: Signal) -> web.Response:
    """The same relay and checks as the ``signal`` event; the sender is the
    token's user, and the signal goes to the peer's engaged socket."""
    return json_response(await services_of(request).signaling.relay(caller, None, None, signal))


ROUTES: list[Route] = [
    Route(
        "GET",
        "/rtc/ice-servers",
        ice_servers,
        "STUN/TURN servers for WebRTC, with ephemeral TURN credentials",
        "signaling",
        response=IceServers,
    ),
    Route(
        "POST",
        "/live/signaling/offer",
        relay_offer,
        "Relay an offer to the peer (REST fallback of the signal event)",
        "signaling",
        body=LiveSdp,
        response=RelayAccepted,
        errors=(403,),
    ),
    Route(
        "POST",
        "/live/signaling/answer",
        relay_answer,
        "Relay an answer to the peer (REST fallback of the signal event)",
        "signaling",
        body=LiveSdp,
        response=RelayAccepted,
        errors=(403,),
    ),
    Route(
        "POST",
        "/live/signaling/ice",
        relay_ice,
        "Relay an ICE candidate to the peer (REST fallback of the signal event)",
        "signaling",
        body=LiveIce,
        response=RelayAccepted,
        errors=(403,),
    ),
]
