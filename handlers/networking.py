"""REST side of /networking: lobbies, sessions, ratings and usage analytics."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_body, read_query
from hub.networking.models import (
    CreateLobby,
    Lobby,
    LobbyPage,
    LobbyQuery,
    Rating,
    RatingView,
    Session,
    Usage,
)

from .routing import Route, services_of, user_id_of


async def list_lobbies(request: web.Request) -> web.Response:
    user_id_of(request)
    query = read_query(request, LobbyQuery)
    return json_response(await services_of(request).networking.list_lobbies(query))


async def create_lobby(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateLobby)
    return json_response(
        await services_of(request).networking.create_lobby(caller, body), status=201
    )


async def get_lobby(request: web.Request) -> web.Response:
    user_id_of(request)
    return json_response(await services_of(request).networking.get_lobby(request.match_info["id"]))


async def get_session(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(
        await services_of(request).networking.get_session(caller, request.match_info["id"])
    )


async def leave_session(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(
        await services_of(request).networking.leave_session(caller, request.match_info["id"])
    )


async def rate_session(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, Rating)
    return json_response(
        await services_of(request).networking.rate(caller, request.match_info["id"], body)
    )


async def usage(request: web.Request) -> web.Response:
    return json_response(await services_of(request).networking.usage())


ROUTES: list[Route] = [
    Route(
        "GET",
        "/networking/lobbies",
        list_lobbies,
        "Speed-networking lobbies, newest first",
        "networking",
        query=LobbyQuery,
        response=LobbyPage,
    ),
    Route(
        "POST",
        "/networking/lobbies",
        create_lobby,
        "Create a lobby (admin)",
        "networking",
        role="admin",
        body=CreateLobby,
        response=Lobby,
        status=201,
        errors=(403,),
    ),
    Route(
        "GET",
        "/networking/lobbies/{id}",
        get_lobby,
        "One lobby, with live counts",
        "networking",
        response=Lobby,
    ),
    Route(
        "GET",
        "/networking/sessions/{id}",
        get_session,
        "A session the caller is in (the peer's profile stays masked)",
        "networking",
        response=Session,
        errors=(403,),
    ),
    Route(
        "POST",
        "/networking/sessions/{id}/leave",
        leave_session,
        "Leave a session (the peer is told peer_left and queued first)",
        "networking",
        response=Session,
        errors=(403,),
    ),
    Route(
        "POST",
        "/networking/sessions/{id}/rate",
        rate_session,
        "Rate a session; both choosing connect creates a direct conversation",
        "networking",
        body=Rating,
        response=RatingView,
        errors=(403, 409),
    ),
    Route(
        "GET",
        "/networking/analytics/usage",
        usage,
        "Sessions per lobby and duration, average rating, connect rate (admin)",
        "networking",
        role="admin",
        response=Usage,
        errors=(403,),
    ),
]
