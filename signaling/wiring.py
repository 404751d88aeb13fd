"""Builds the video services (calls, echo, networking) for a hub: memory state for
one process, Redis-backed state when ``HUB_REDIS_URL`` is set."""

from __future__ import annotations

import socketio
from redis.asyncio import Redis

from hub.config import Settings
from hub.conversations import ConversationService
from hub.networking.queues import LobbyQueues, MemoryLobbyQueues, RedisLobbyQueues
from hub.networking.service import NetworkingService
from hub.notifications import NotificationService
from storage import Store

from .echo import EchoService
from .service import SignalingService
from .state import CallState, MemoryCallState, RedisCallState


def build_video(
    settings: Settings,
    store: Store,
    redis: Redis | None,
    sio: socketio.AsyncServer,
    conversations: ConversationService,
    notifications: NotificationService,
) -> tuple[SignalingService, EchoService, NetworkingService]:
    state: CallState
    queues: LobbyQueues
    if redis is not None:
        state, queues = RedisCallState(redis), RedisLobbyQueues(redis)
    else:
        state, queues = MemoryCallState(), MemoryLobbyQueues()
    signaling = SignalingService(settings, store, sio, state)
    networking = NetworkingService(
        settings, store, sio, queues, conversations, signaling.ice_servers, notifications
    )
    signaling.networking = networking
    return signaling, EchoService(settings), networking
