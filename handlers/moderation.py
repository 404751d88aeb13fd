"""Trust and safety REST (issue 20): ``/reports`` for every user, the
``/admin`` moderation queue, actions, the user list with suspensions and bans,
the dispute queue and the audit log. The rules are in ``hub/moderation``."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from hub.http import json_response, read_body, read_query
from hub.moderation.models import (
    AuditPage,
    AuditQuery,
    BanUser,
    CreateReport,
    DisputePage,
    DisputeQuery,
    ModeratedUser,
    ModeratedUserPage,
    ModeratedUserQuery,
    Report,
    ReportContext,
    ReportPage,
    ReportQuery,
    ResolveReport,
    SuspendUser,
)

from .routing import Handler, Route, by_id_action, services_of, user_id_of


async def create_report(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateReport)
    return json_response(await services_of(request).moderation.report(caller, body), status=201)


async def list_reports(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, ReportQuery)
    return json_response(await services_of(request).moderation.reports(caller, query))


def _by_id_with_body(method: str, body: type[BaseModel], name: str) -> Handler:
    """A route naming a report or user by ``{id}`` with a body:
    ``moderation.<method>(caller, id, body)``, 401 before the body is read.
    ``name`` becomes the handler's name (the OpenAPI operationId)."""

    async def handler(request: web.Request) -> web.Response:
        caller = user_id_of(request)
        payload = await read_body(request, body)
        action = getattr(services_of(request).moderation, method)
        return json_response(await action(caller, request.match_info["id"], payload))

    handler.__name__ = name
    return handler


async def list_moderated_users(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, ModeratedUserQuery)
    return json_response(await services_of(request).moderation.users(caller, query))


resolve_report = _by_id_with_body("resolve", ResolveReport, "resolve_report")
report_context = by_id_action("moderation", "context", "report_context")
suspend_user = _by_id_with_body("suspend", SuspendUser, "suspend_user")
ban_user = _by_id_with_body("ban", BanUser, "ban_user")
unban_user = by_id_action("moderation", "unban", "unban_user")
moderated_user = by_id_action("moderation", "user", "moderated_user")


async def list_disputes(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, DisputeQuery)
    return json_response(await services_of(request).moderation.disputes(caller, query))


async def audit_log(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, AuditQuery)
    return json_response(await services_of(request).moderation.audit_log(caller, query))


ROUTES: list[Route] = [
    Route(
        "POST",
        "/reports",
        create_report,
        "Report a message, user, conversation or job",
        "moderation",
        body=CreateReport,
        response=Report,
        status=201,
        errors=(404, 409),
        description=(
            "One report per reporter and target (a second is 409 `conflict`). A target"
            " the caller cannot see (a message or conversation they are not in, a hidden"
            " job, an unknown user) is 404. Reporting a message lets moderators read the"
            " conversation's messages around it."
        ),
    ),
    Route(
        "GET",
        "/admin/reports",
        list_reports,
        "The moderation queue (admin)",
        "moderation",
        role="admin",
        query=ReportQuery,
        response=ReportPage,
        errors=(403,),
    ),
    Route(
        "POST",
        "/admin/reports/{id}/resolve",
        resolve_report,
        "Act on a report: dismiss, warn, delete the message, suspend or ban (admin)",
        "moderation",
        role="admin",
        body=ResolveReport,
        response=Report,
        errors=(403, 404, 409),
        description=(
            "`suspend` needs `until`, a time in the future (a past one is 422). A report"
            " is resolved once (409 after). Every action is in the audit log."
        ),
    ),
    Route(
        "GET",
        "/admin/reports/{id}/context",
        report_context,
        "The reported message with the 20 before and after it (admin; audited)",
        "moderation",
        role="admin",
        response=ReportContext,
        errors=(403, 404),
    ),
    Route(
        "GET",
        "/admin/users",
        list_moderated_users,
        "Every user with their moderation state, banned and suspended ones too (admin)",
        "moderation",
        role="admin",
        query=ModeratedUserQuery,
        response=ModeratedUserPage,
        errors=(403,),
        description=(
            "Newest first. `q`: every word in the display name, headline, a skill or the"
            " email; `status`: `active`, `suspended` (until a later time) or `banned`."
            " Not audited (no conversation is read); the reason of a ban or suspension"
            " is in the audit log (`GET /admin/audit?target_id=`)."
        ),
    ),
    Route(
        "GET",
        "/admin/users/{id}",
        moderated_user,
        "A user with their moderation state (admin)",
        "moderation",
        role="admin",
        response=ModeratedUser,
        errors=(403, 404),
    ),
    Route(
        "POST",
        "/admin/users/{id}/suspend",
        suspend_user,
        "Suspend a user until a time (admin)",
        "moderation",
        role="admin",
        body=SuspendUser,
        response=ModeratedUser,
        errors=(403, 404),
        description=(
            "The user's sockets are disconnected at once on every process, login and"
            " refresh answer 403 `account_suspended` until `until` (a past time is 422),"
            " they leave the directory and their open bids are withdrawn."
        ),
    ),
    Route(
        "POST",
        "/admin/users/{id}/ban",
        ban_user,
        "Ban a user (admin)",
        "moderation",
        role="admin",
        body=BanUser,
        response=ModeratedUser,
        errors=(403, 404),
        description="As a suspension without an end, until `/unban`; webhook `user.banned`.",
    ),
    Route(
        "POST",
        "/admin/users/{id}/unban",
        unban_user,
        "Lift a user's ban or suspension (admin)",
        "moderation",
        role="admin",
        response=ModeratedUser,
        errors=(403, 404),
        body_optional=True,
    ),
    Route(
        "GET",
        "/admin/disputes",
        list_disputes,
        "Disputed milestones with both sides' notes (admin; audited)",
        "moderation",
        role="admin",
        query=DisputeQuery,
        response=DisputePage,
        errors=(403,),
    ),
    Route(
        "GET",
        "/admin/audit",
        audit_log,
        "The audit log of admin actions (admin)",
        "moderation",
        role="admin",
        query=AuditQuery,
        response=AuditPage,
        errors=(403,),
    ),
]
