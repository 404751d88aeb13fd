"""The notification inbox (the same notifications arrive live on /notifications)."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_query
from hub.notifications.models import (
    Notification,
    NotificationListQuery,
    NotificationPage,
    ReadAll,
    UnreadNotifications,
)

from .routing import Route, services_of, user_id_of


async def list_notifications(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, NotificationListQuery)
    return json_response(
        await services_of(request).notifications.list(
            caller, query.unread_only, query.cursor, query.limit
        )
    )


async def read_notification(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(
        await services_of(request).notifications.mark_read(caller, request.match_info["id"])
    )


async def read_all_notifications(request: web.Request) -> web.Response:
    return json_response(
        await services_of(request).notifications.mark_all_read(user_id_of(request))
    )


async def unread_notifications(request: web.Request) -> web.Response:
    return json_response(await services_of(request).notifications.unread_count(user_id_of(request)))


ROUTES: list[Route] = [
    Route(
        "GET",
        "/notifications",
        list_notifications,
        "The caller's notifications, newest first",
        "notifications",
        query=NotificationListQuery,
        response=NotificationPage,
    ),
    Route(
        "POST",
        "/notifications/read-all",
        read_all_notifications,
        "Mark every notification read",
        "notifications",
        response=ReadAll,
    ),
    Route(
        "GET",
        "/notifications/unread-count",
        unread_notifications,
        "How many notifications are unread",
        "notifications",
        response=UnreadNotifications,
    ),
    Route(
        "POST",
        "/notifications/{id}/read",
        read_notification,
        "Mark one notification read",
        "notifications",
        response=Notification,
        errors=(403,),
    ),
]
