"""One-click unsubscribe from email digests (RFC 8058). The link in each mail's
List-Unsubscribe header carries a signed token, which is the only credential:
a GET shows a page with a confirm button (mail scanners open links, so a GET
changes nothing), a POST turns the user's email off."""

from __future__ import annotations

from aiohttp import web

from hub.errors import HubError
from hub.http import json_response, read_query
from hub.offline.templates import unsubscribe_page
from hub.offline.unsubscribe import Unsubscribed, UnsubscribeQuery

from .routing import Route, services_of

HTML = "text/html"


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type=HTML, charset="utf-8")


def _wants_html(request: web.Request) -> bool:
    return HTML in request.headers.get("Accept", "")


async def unsubscribe_page_handler(request: web.Request) -> web.Response:
    query = read_query(request, UnsubscribeQuery)
    try:
        services_of(request).email_unsubscribe.check(query.token)
    except HubError as exc:
        return _html(unsubscribe_page(done=False, problem=exc.message), exc.status)
    return _html(unsubscribe_page(done=False, action=request.path_qs))


async def unsubscribe(request: web.Request) -> web.Response:
    query = read_query(request, UnsubscribeQuery)
    try:
        await services_of(request).email_unsubscribe.unsubscribe(query.token)
    except HubError as exc:
        if not _wants_html(request):
            raise
        return _html(unsubscribe_page(done=False, problem=exc.message), exc.status)
    if _wants_html(request):  # the confirm button of the page
        return _html(unsubscribe_page(done=True))
    return json_response(Unsubscribed(email=False))


unsubscribe_page_handler.__name__ = "unsubscribe_page"

ROUTES: list[Route] = [
    Route(
        "GET",
        "/email/unsubscribe",
        unsubscribe_page_handler,
        "The page of an email's unsubscribe link (text/html)",
        "email",
        auth=False,
        query=UnsubscribeQuery,
        errors=(403,),
        html=True,
        description="An HTML page with a button that POSTs to the same URL; it changes "
        "nothing itself. A bad or expired token: 403 with an HTML page saying so.",
    ),
    Route(
        "POST",
        "/email/unsubscribe",
        unsubscribe,
        "One-click unsubscribe from email digests (RFC 8058)",
        "email",
        auth=False,
        query=UnsubscribeQuery,
        response=Unsubscribed,
        errors=(403,),
        description="The URL of a digest's List-Unsubscribe header, POSTed by the mail "
        "client with the body List-Unsubscribe=One-Click (any body is accepted); the "
        "token in the query is the only credential. Turns email off in the user's "
        "notification settings; again, nothing changes. 403 (details.reason: invalid or "
        "expired) for a bad token; with Accept: text/html the answers are pages.",
    ),
]
