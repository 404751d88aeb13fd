"""REST mirror of /conversations: same service, same events."""

from __future__ import annotations

import hashlib

from aiohttp import web
from pydantic import BaseModel

from hub.clock import new_id
from hub.conversations.models import (
    AddParticipants,
    ConversationListQuery,
    CreateConversation,
    EditMessage,
    History,
    HistoryQuery,
    ListConversations,
    MarkDelivered,
    MarkRead,
    MarkUnread,
    PinMessage,
    React,
    RemoveParticipant,
    RestAddParticipants,
    RestEditMessage,
    RestMarkDelivered,
    RestMarkRead,
    RestMarkUnread,
    RestSendMessage,
    RestUpdateConversation,
    SearchQuery,
    SendMessage,
    Thread,
    ThreadQuery,
    UpdateConversation,
)
from hub.conversations.views import (
    Conversation,
    ConversationPage,
    DeletedMessage,
    Message,
    MessagePage,
    Nothing,
    PinnedMessages,
    ReadState,
    SearchPage,
    UnreadCounts,
)
from hub.http import json_response, read_body, read_query
from hub.schema import operation, validate

from .routing import Handler, Route, by_id_action, services_of, user_id_of


async def list_conversations(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, ConversationListQuery)
    page = await services_of(request).conversations.list_conversations(
        caller, operation(ListConversations, query)
    )
    return json_response(page)


async def create_conversation(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateConversation)
    return json_response(await services_of(request).conversations.create(caller, body), status=201)


def body_action(
    method: str, body: type[BaseModel], operation_model: type[BaseModel], id_field: str, name: str
) -> Handler:
    """The handler of a route that names a thing by ``{id}`` and takes a body:
    the body plus the id make the socket twin's payload, which
    ``conversations.<method>(caller, payload)`` carries out. ``name`` becomes
    the handler's name (the route's OpenAPI operationId)."""

    async def handler(request: web.Request) -> web.Response:
        caller = user_id_of(request)  # 401 before the body is read
        rest = await read_body(request, body)
        payload = operation(operation_model, rest, **{id_field: request.match_info["id"]})
        action = getattr(services_of(request).conversations, method)
        return json_response(await action(caller, payload))

    handler.__name__ = name
    return handler


get_conversation = by_id_action("conversations", "get", "get_conversation")
update_conversation = body_action(
    "update", RestUpdateConversation, UpdateConversation, "conversation_id", "update_conversation"
)
add_participants = body_action(
    "add_participants", RestAddParticipants, AddParticipants, "conversation_id", "add_participants"
)
edit_message = body_action("edit", RestEditMessage, EditMessage, "message_id", "edit_message")
mark_read = body_action("mark_read", RestMarkRead, MarkRead, "conversation_id", "mark_read")
mark_delivered = body_action(
    "mark_delivered", RestMarkDelivered, MarkDelivered, "conversation_id", "mark_delivered"
)
mark_unread = body_action(
    "mark_unread", RestMarkUnread, MarkUnread, "conversation_id", "mark_unread"
)


async def remove_participant(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    payload = validate(
        RemoveParticipant,
        {"conversation_id": request.match_info["id"], "user_id": request.match_info["user_id"]},
    )
    return json_response(
        await services_of(request).conversations.remove_participant(caller, payload)
    )


async def list_messages(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, HistoryQuery)
    history = operation(History, query, conversation_id=request.match_info["id"])
    return json_response(await services_of(request).conversations.history(caller, history))


async def send_message(request: web.Request) -> web.Response:
    """``Idempotency-Key`` doubles as the client_msg_id when the body has none."""
    caller = user_id_of(request)
    body = await read_body(request, RestSendMessage)
    key = request.headers.get("Idempotency-Key")
    hub = services_of(request)
    client_msg_id = body.model_dump()["client_msg_id"] or _client_msg_id_for(key) or new_id()
    payload = operation(
        SendMessage, body, conversation_id=request.match_info["id"], client_msg_id=client_msg_id
    )
    return json_response(await hub.conversations.send(caller, payload), status=201)


def _client_msg_id_for(key: str | None) -> str | None:
    """The key itself when it fits a client_msg_id (64 characters); a digest of it
    otherwise, since an Idempotency-Key may be up to 255 characters long."""
    if not key or len(key) <= 64:
        return key
    return "idem-" + hashlib.sha256(key.encode()).hexdigest()[:59]


async def delete_message(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(
        await services_of(request).conversations.delete(caller, request.match_info["id"])
    )


async def pin_message(request: web.Request) -> web.Response:
    return await _pin(request, pinned=True)


async def unpin_message(request: web.Request) -> web.Response:
    return await _pin(request, pinned=False)


async def _pin(request: web.Request, *, pinned: bool) -> web.Response:
    caller = user_id_of(request)
    payload = validate(PinMessage, {"message_id": request.match_info["id"], "pinned": pinned})
    return json_response(await services_of(request).conversations.pin(caller, payload))


list_pins = by_id_action("conversations", "pins", "list_pins")


async def add_reaction(request: web.Request) -> web.Response:
    return await _react(request, add=True)


async def remove_reaction(request: web.Request) -> web.Response:
    return await _react(request, add=False)


async def _react(request: web.Request, *, add: bool) -> web.Response:
    caller = user_id_of(request)
    payload = validate(
        React, {"message_id": request.match_info["id"], "emoji": request.match_info["emoji"]}
    )
    return json_response(await services_of(request).conversations.react(caller, payload, add=add))


async def message_thread(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, ThreadQuery)
    thread = operation(Thread, query, message_id=request.match_info["id"])
    return json_response(await services_of(request).conversations.thread(caller, thread))


async def unread_count(request: web.Request) -> web.Response:
    return json_response(
        await services_of(request).conversations.unread_counts(user_id_of(request))
    )


async def search_messages(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, SearchQuery)
    page = await services_of(request).conversations.search(
        caller, query.q, query.conversation_id, query.cursor, query.limit
    )
    return json_response(page)


ROUTES: list[Route] = [
    Route(
        "GET",
        "/conversations",
        list_conversations,
        "The caller's conversations: pinned first (latest pin first), then latest activity first",
        "conversations",
        query=ConversationListQuery,
        response=ConversationPage,
    ),
    Route(
        "POST",
        "/conversations",
        create_conversation,
        "Create a conversation (a direct one is returned if it exists)",
        "conversations",
        body=CreateConversation,
        response=Conversation,
        status=201,
        errors=(403,),
    ),
    Route(
        "GET",
        "/conversations/{id}",
        get_conversation,
        "One conversation",
        "conversations",
        response=Conversation,
        errors=(403,),
    ),
    Route(
        "PATCH",
        "/conversations/{id}",
        update_conversation,
        "Change the title or the caller's pinned/archived/muted",
        "conversations",
        body=RestUpdateConversation,
        response=Conversation,
        errors=(403,),
    ),
    Route(
        "POST",
        "/conversations/{id}/participants",
        add_participants,
        "Add participants (group)",
        "conversations",
        body=RestAddParticipants,
        response=Conversation,
        errors=(403,),
    ),
    Route(
        "DELETE",
        "/conversations/{id}/participants/{user_id}",
        remove_participant,
        "Remove a participant (self or creator; group)",
        "conversations",
        response=Conversation,
        errors=(403,),
    ),
    Route(
        "GET",
        "/conversations/{id}/messages",
        list_messages,
        "Message history, ascending seq",
        "messages",
        query=HistoryQuery,
        response=MessagePage,
        errors=(403,),
    ),
    Route(
        "POST",
        "/conversations/{id}/messages",
        send_message,
        "Send a message",
        "messages",
        body=RestSendMessage,
        response=Message,
        status=201,
        errors=(403, 409),
    ),
    Route(
        "POST",
        "/conversations/{id}/read",
        mark_read,
        "Move the caller's read marker forward",
        "messages",
        body=RestMarkRead,
        response=ReadState,
        errors=(403,),
    ),
    Route(
        "POST",
        "/conversations/{id}/delivered",
        mark_delivered,
        "Move the caller's delivered marker forward (at most to last_seq)",
        "messages",
        body=RestMarkDelivered,
        response=Nothing,
        errors=(403,),
    ),
    Route(
        "POST",
        "/conversations/{id}/unread",
        mark_unread,
        "Mark unread from seq on: the caller's read marker moves back to seq - 1",
        "messages",
        body=RestMarkUnread,
        response=Conversation,
        errors=(403,),
    ),
    Route(
        "GET",
        "/messages/unread-count",
        unread_count,
        "Unread messages per conversation, and their total over the unmuted ones",
        "messages",
        response=UnreadCounts,
    ),
    Route(
        "GET",
        "/messages/search",
        search_messages,
        "Full-text search in the caller's conversations",
        "messages",
        query=SearchQuery,
        response=SearchPage,
        errors=(403,),
    ),
    Route(
        "PATCH",
        "/messages/{id}",
        edit_message,
        "Edit a message (sender, within the edit window)",
        "messages",
        body=RestEditMessage,
        response=Message,
        errors=(403, 409),
    ),
    Route(
        "DELETE",
        "/messages/{id}",
        delete_message,
        "Soft-delete a message (sender)",
        "messages",
        response=DeletedMessage,
        errors=(403, 409),
    ),
    Route(
        "POST",
        "/messages/{id}/pin",
        pin_message,
        "Pin a message in its conversation (any participant; at most 50 per conversation)",
        "messages",
        response=Message,
        errors=(403,),
        description="Pinning a pinned message changes nothing. A deleted message, or a"
        " 51st pin in the conversation, is 422 validation_failed.",
    ),
    Route(
        "DELETE",
        "/messages/{id}/pin",
        unpin_message,
        "Unpin a message (any participant; unpinning one that is not pinned changes nothing)",
        "messages",
        response=Message,
        errors=(403,),
    ),
    Route(
        "POST",
        "/messages/{id}/reactions/{emoji}",
        add_reaction,
        "React to a message (any participant; at most 20 different emoji per message)",
        "messages",
        response=Message,
        errors=(403,),
        description="{emoji} is one emoji (percent-encoded) or a :short_name:, which becomes"
        " its emoji. Adding a reaction the caller made already changes nothing. A deleted"
        " message, an unknown emoji, or a 21st different emoji is 422 validation_failed.",
    ),
    Route(
        "DELETE",
        "/messages/{id}/reactions/{emoji}",
        remove_reaction,
        "Take back the caller's reaction (removing one not made changes nothing)",
        "messages",
        response=Message,
        errors=(403,),
    ),
    Route(
        "GET",
        "/messages/{id}/thread",
        message_thread,
        "The replies in a message's thread, ascending seq",
        "messages",
        query=ThreadQuery,
        response=MessagePage,
        errors=(403,),
    ),
    Route(
        "GET",
        "/conversations/{id}/pins",
        list_pins,
        "The conversation's pinned messages, most recently pinned first",
        "messages",
        response=PinnedMessages,
        errors=(403,),
    ),
]
