"""The caller's notification settings (issue 18): push, email digests, quiet hours."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_body
from hub.offline.models import NotificationSettings, NotificationSettingsChange
from hub.offline.preferences import settings_view

from .routing import Route, services_of, user_id_of


async def get_notification_settings(request: web.Request) -> web.Response:
    record = await services_of(request).preferences.get(user_id_of(request))
    return json_response(settings_view(record))


async def update_notification_settings(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, NotificationSettingsChange)
    changes = {
        name: value
        for name, value in body.model_dump(include=body.model_fields_set).items()
        if value is not None or name == "quiet_hours"  # null clears quiet hours only
    }
    record = await services_of(request).preferences.update(caller, changes)
    return json_response(settings_view(record))


ROUTES: list[Route] = [
    Route(
        "GET",
        "/users/me/notification-settings",
        get_notification_settings,
        "The caller's notification settings",
        "users",
        response=NotificationSettings,
    ),
    Route(
        "PATCH",
        "/users/me/notification-settings",
        update_notification_settings,
        "Change the caller's notification settings",
        "users",
        body=NotificationSettingsChange,
        response=NotificationSettings,
        description=(
            "Fields left out stay as they are; `quiet_hours: null` clears them. "
            "Quiet hours hold back pushes from `start` to `end` (local times in the "
            "IANA zone `tz`; 22:00 to 07:00 crosses midnight). A conversation the "
            "caller muted sends nothing offline at all, mentions included."
        ),
    ),
]
