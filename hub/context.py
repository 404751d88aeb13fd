"""The per-app service container that handlers and namespaces share."""

from __future__ import annotations

from dataclasses import dataclass, field

import socketio
from aiohttp import web

from storage import Store, create_store

from .accounts import AccountService
from .config import Settings
from .conversations import ConversationLimits, ConversationService
from .conversations.events import ConversationEvents
from .idempotency import Idempotency
from .passwords import Passwords
from .realtime.connections import ConnectionRegistry
from .realtime.server import create_socket_server
from .tokens import TokenIssuer


@dataclass
class Hub:
    """Everything a request or an event handler may need, built once per app."""

    settings: Settings
    store: Store
    tokens: TokenIssuer
    accounts: AccountService
    conversations: ConversationService
    sio: socketio.AsyncServer
    idempotency: Idempotency
    connections: ConnectionRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.connections = ConnectionRegistry(self._disconnect_expired)

    async def _disconnect_expired(self, eio_sid: str, sids: dict[str, str]) -> None:
        for namespace, sid in sids.items():
            await self.sio.emit("auth:expired", {}, to=sid, namespace=namespace)
            await self.sio.disconnect(sid, namespace=namespace)


HUB = web.AppKey("hub", Hub)


def build_hub(settings: Settings, store: Store | None = None) -> Hub:
    """Wire the domain services; the store is opened later, at startup."""
    settings.ensure_jwt_secret()
    store = store or create_store(settings)
    tokens = TokenIssuer(settings)
    passwords = Passwords(settings.password_hash_time_cost, settings.password_hash_memory_kib)
    accounts = AccountService(store, tokens, passwords, settings.refresh_token_ttl_s)
    sio = create_socket_server(settings)
    conversations = ConversationService(store, ConversationEvents(sio), ConversationLimits(
        max_text_length=settings.max_text_length, max_group_size=settings.max_group_size,
        edit_window_s=settings.edit_window_s, typing_expires_ms=settings.typing_expires_ms,
    ))
    return Hub(settings, store, tokens, accounts, conversations, sio, Idempotency(store.idempotency))
