"""``/admin/webhooks``: outbound webhook endpoints for integrators (admins only)."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_body, read_query
from hub.offline.webhooks import (
    DeliveriesQuery,
    RegisteredWebhook,
    RegisterWebhook,
    WebhookDeliveryPage,
    WebhookEndpointList,
)

from .routing import Route, services_of, user_id_of


async def register_webhook(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, RegisterWebhook)
    created = await services_of(request).webhooks.register(caller, body)
    return json_response(created, status=201)


async def list_webhooks(request: web.Request) -> web.Response:
    return json_response(await services_of(request).webhooks.list())


async def delete_webhook(request: web.Request) -> web.Response:
    await services_of(request).webhooks.delete(request.match_info["id"])
    return web.Response(status=204)


async def webhook_deliveries(request: web.Request) -> web.Response:
    query = read_query(request, DeliveriesQuery)
    page = await services_of(request).webhooks.deliveries(
        request.match_info["id"], query.cursor, query.limit
    )
    return json_response(page)


EVENTS_NOTE = (
    "Events: exact names (message.created, message.undelivered, notification.created,"
    " job.*, bid.*, milestone.* names, user.banned, report.created) or `prefix.*`."
    " Deliveries are signed with the secret, shown only in this answer"
    " (docs/integrators.md)."
)

ROUTES: list[Route] = [
    Route(
        "POST",
        "/admin/webhooks",
        register_webhook,
        "Register a webhook endpoint (admin)",
        "admin",
        role="admin",
        body=RegisterWebhook,
        response=RegisteredWebhook,
        status=201,
        errors=(403,),
        description=EVENTS_NOTE,
    ),
    Route(
        "GET",
        "/admin/webhooks",
        list_webhooks,
        "The webhook endpoints, without their secrets (admin)",
        "admin",
        role="admin",
        response=WebhookEndpointList,
        errors=(403,),
    ),
    Route(
        "DELETE",
        "/admin/webhooks/{id}",
        delete_webhook,
        "Delete a webhook endpoint, its undelivered events and its log (admin)",
        "admin",
        role="admin",
        status=204,
        errors=(403, 404),
    ),
    Route(
        "GET",
        "/admin/webhooks/{id}/deliveries",
        webhook_deliveries,
        "An endpoint's delivery attempts, newest first (admin)",
        "admin",
        role="admin",
        query=DeliveriesQuery,
        response=WebhookDeliveryPage,
        errors=(403, 404),
    ),
]
