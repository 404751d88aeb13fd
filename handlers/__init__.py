"""Thin REST handlers: parse, call the domain service, shape the response.

``ROUTES`` is the single list of operations: it registers them under
``/api/v1`` and generates the OpenAPI document, so the two never disagree.
"""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import (
    AuthResult, BlockEntry, BlockList, LoginRequest, LogoutRequest, PrivateUser, ProfileUpdate,
    PublicUser, RefreshRequest, RegisterRequest, RoleUpdate,
)

from hub.conversations.models import (
    Conversation, ConversationListQuery, ConversationPage, CreateConversation, DeletedMessage,
    HistoryQuery, Message, MessagePage, ReadState, RestAddParticipants, RestEditMessage,
    RestMarkRead, RestSendMessage, RestUpdateConversation, SearchPage, SearchQuery, UnreadCounts,
)

from . import admin, auth, conversations, health, users
from .openapi import API_PREFIX, build_openapi, openapi_handler
from .routing import Route, hub_of

ROUTES: list[Route] = [
    Route("GET", "/healthz", health.healthz, "Liveness", "health", auth=False),
    Route("GET", "/readyz", health.readyz, "Readiness: storage (and Redis) answer", "health",
          auth=False, errors=(503,)),
    Route("POST", "/auth/register", auth.register, "Create an account", "auth", auth=False,
          body=RegisterRequest, response=AuthResult, status=201, errors=(409,)),
    Route("POST", "/auth/login", auth.login, "Log in", "auth", auth=False,
          body=LoginRequest, response=AuthResult, errors=(401,)),
    Route("POST", "/auth/refresh", auth.refresh, "Rotate a refresh token", "auth", auth=False,
          body=RefreshRequest, response=AuthResult, errors=(401,)),
    Route("POST", "/auth/logout", auth.logout, "Revoke a refresh token's family", "auth",
          auth=False, body=LogoutRequest, status=204),
    Route("GET", "/auth/me", auth.me, "The caller's own account", "auth", response=PrivateUser),
    Route("PATCH", "/users/me", users.update_me, "Update the caller's profile", "users",
          body=ProfileUpdate, response=PrivateUser),
    Route("GET", "/users/me/blocks", users.list_blocks, "Users the caller blocked", "users",
          response=BlockList),
    Route("GET", "/users/{id}", users.get_user, "A public profile", "users", response=PublicUser),
    Route("POST", "/users/{id}/block", users.block, "Block a user", "users",
          response=BlockEntry),
    Route("DELETE", "/users/{id}/block", users.unblock, "Unblock a user", "users", status=204),
    Route("PATCH", "/admin/users/{id}", admin.set_role, "Change a user's role (admin)", "admin",
          body=RoleUpdate, response=PrivateUser, errors=(403,)),
    Route("GET", "/conversations", conversations.list_conversations,
          "The caller's conversations, latest activity first", "conversations",
          query=ConversationListQuery, response=ConversationPage),
    Route("POST", "/conversations", conversations.create_conversation,
          "Create a conversation (a direct one is returned if it exists)", "conversations",
          body=CreateConversation, response=Conversation, status=201, errors=(403,)),
    Route("GET", "/conversations/{id}", conversations.get_conversation, "One conversation",
          "conversations", response=Conversation, errors=(403,)),
    Route("PATCH", "/conversations/{id}", conversations.update_conversation,
          "Change the title or the caller's pinned/archived/muted", "conversations",
          body=RestUpdateConversation, response=Conversation, errors=(403,)),
    Route("POST", "/conversations/{id}/participants", conversations.add_participants,
          "Add participants (group)", "conversations", body=RestAddParticipants,
          response=Conversation, errors=(403,)),
    Route("DELETE", "/conversations/{id}/participants/{user_id}",
          conversations.remove_participant, "Remove a participant (self or creator; group)",
          "conversations", response=Conversation, errors=(403,)),
    Route("GET", "/conversations/{id}/messages", conversations.list_messages,
          "Message history, ascending seq", "messages", query=HistoryQuery,
          response=MessagePage, errors=(403,)),
    Route("POST", "/conversations/{id}/messages", conversations.send_message,
          "Send a message (Idempotency-Key supported)", "messages", body=RestSendMessage,
          response=Message, status=201, errors=(403,), idempotent=True),
    Route("POST", "/conversations/{id}/read", conversations.mark_read,
          "Move the caller's read marker forward", "messages", body=RestMarkRead,
          response=ReadState, errors=(403,)),
    Route("GET", "/messages/unread-count", conversations.unread_count,
          "Unread messages per conversation and in total", "messages", response=UnreadCounts),
    Route("GET", "/messages/search", conversations.search_messages,
          "Full-text search in the caller's conversations", "messages", query=SearchQuery,
          response=SearchPage, errors=(403,)),
    Route("PATCH", "/messages/{id}", conversations.edit_message,
          "Edit a message (sender, within the edit window)", "messages", body=RestEditMessage,
          response=Message, errors=(403, 409)),
    Route("DELETE", "/messages/{id}", conversations.delete_message,
          "Soft-delete a message (sender)", "messages", response=DeletedMessage, errors=(403, 409)),
]

UNVERSIONED = ("/healthz", "/readyz")

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def prometheus_metrics(request: web.Request) -> web.Response:
    """Prometheus exposition of this process's metrics (scraped, not part of the API)."""
    return web.Response(body=hub_of(request).metrics.render(),
                        headers={"Content-Type": PROMETHEUS_TEXT})


def setup_routes(app: web.Application) -> None:
    for route in ROUTES:
        app.router.add_route(route.method, API_PREFIX + route.path, route.handler)
        if route.path in UNVERSIONED:
            app.router.add_route(route.method, route.path, route.handler)
    document = build_openapi(ROUTES, version="0.1.0")
    app.router.add_get(API_PREFIX + "/openapi.json", openapi_handler(document))
    # Not in ROUTES: it is unversioned only, plain text, and for scrapers, not
    # API clients, so it stays out of the OpenAPI document.
    app.router.add_get("/metrics", prometheus_metrics)
