"""Web Push subscriptions, one per device (issue 18; docs/push.md)."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_body
from hub.offline.models import PushSubscribe, PushSubscription, VapidKey

from .routing import Route, services_of, user_id_of


async def push_vapid_public_key(request: web.Request) -> web.Response:
    user_id_of(request)
    return json_response({"key": services_of(request).push.public_key()})


async def subscribe_push(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, PushSubscribe)
    return json_response(await services_of(request).push.subscribe(caller, body), status=201)


async def unsubscribe_push(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    await services_of(request).push.unsubscribe(caller, request.match_info["id"])
    return web.Response(status=204)


ROUTES: list[Route] = [
    Route(
        "GET",
        "/push/vapid-public-key",
        push_vapid_public_key,
        "The hub's VAPID public key, for pushManager.subscribe's applicationServerKey",
        "push",
        response=VapidKey,
        errors=(503,),
    ),
    Route(
        "POST",
        "/push/subscriptions",
        subscribe_push,
        "Subscribe this device to Web Push",
        "push",
        body=PushSubscribe,
        response=PushSubscription,
        status=201,
        errors=(503,),
        description=(
            "The body is the browser's `PushSubscription.toJSON()`, optionally with a "
            "`user_agent`. Posting an endpoint stored already updates that subscription "
            "(its id stays; it moves to the caller). The endpoint must be https (http "
            "only to a loopback host while the hub runs in development); `keys.p256dh` "
            "must be an uncompressed P-256 point (65 bytes) and `keys.auth` 16 bytes, "
            "both base64url: else 422 `validation_failed`."
        ),
    ),
    Route(
        "DELETE",
        "/push/subscriptions/{id}",
        unsubscribe_push,
        "Unsubscribe a device (the caller's own subscriptions only)",
        "push",
        status=204,
    ),
]
