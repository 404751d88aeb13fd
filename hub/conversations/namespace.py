"""The /conversations namespace: thin event handlers over ConversationService."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..emitter import user_room
from ..realtime import Caller, HubNamespace, event
from .events import NAMESPACE
from .models import (
    AddParticipants,
    ConversationRef,
    CreateConversation,
    DeleteMessage,
    EditMessage,
    History,
    ListConversations,
    MarkDelivered,
    MarkRead,
    MarkUnread,
    PinMessage,
    React,
    RemoveParticipant,
    SendMessage,
    Sync,
    Thread,
    Typing,
    UpdateConversation,
)
from .views import (
    Conversation,
    ConversationPage,
    DeletedMessage,
    Message,
    MessagePage,
    Nothing,
    PinnedMessages,
    ReadState,
    SyncResult,
)

if TYPE_CHECKING:
    from ..offline import Reachability
    from ..realtime.gate import SocketGate
    from .service import ConversationService

    class Door(SocketGate, Protocol):
        """What this namespace needs from the composition root."""

        @property
        def conversations(self) -> ConversationService: ...

        @property
        def reach(self) -> Reachability: ...


class ConversationsNamespace(HubNamespace):
    """Each socket joins its user's room, which is where conversation events go."""

    def __init__(self, hub: Door) -> None:
        super().__init__(NAMESPACE, hub)
        self.service = hub.conversations
        self.reach = hub.reach

    async def on_user_connected(self, caller: Caller) -> None:
        await self.enter_room(caller.sid, user_room(caller.user_id))
        await self.reach.connected(caller.user_id, caller.sid)

    async def on_user_disconnected(self, caller: Caller) -> None:
        await self.reach.disconnected(caller.user_id, caller.sid)
        # The user's room, not a scan of every socket: a mass disconnect must
        # not cost O(sockets) per socket.
        if not self.others_in_room(user_room(caller.user_id), caller.sid):
            await self.service.stop_typing_everywhere(caller.user_id)

    @event("conversation:create", CreateConversation, limit="conversation_change")
    async def create(self, caller: Caller, payload: CreateConversation) -> Conversation:
        return await self.service.create(caller.user_id, payload, caller.sid)

    @event("conversation:list", ListConversations, limit="conversation_read")
    async def list_conversations(
        self, caller: Caller, payload: ListConversations
    ) -> ConversationPage:
        return await self.service.list_conversations(caller.user_id, payload)

    @event("conversation:get", ConversationRef, limit="conversation_read")
    async def get(self, caller: Caller, payload: ConversationRef) -> Conversation:
        return await self.service.get(caller.user_id, payload.conversation_id)

    @event("conversation:update", UpdateConversation, limit="conversation_change")
    async def update(self, caller: Caller, payload: UpdateConversation) -> Conversation:
        return await self.service.update(caller.user_id, payload, caller.sid)

    @event("conversation:add_participants", AddParticipants, limit="conversation_change")
    async def add_participants(self, caller: Caller, payload: AddParticipants) -> Conversation:
        return await self.service.add_participants(caller.user_id, payload, caller.sid)

    @event("conversation:remove_participant", RemoveParticipant, limit="conversation_change")
    async def remove_participant(self, caller: Caller, payload: RemoveParticipant) -> Conversation:
        return await self.service.remove_participant(caller.user_id, payload, caller.sid)

    @event("message:send", SendMessage, limit="message_send")
    async def send(self, caller: Caller, payload: SendMessage) -> Message:
        return await self.service.send(caller.user_id, payload, caller.sid)

    @event("message:edit", EditMessage, limit="conversation_change")
    async def edit(self, caller: Caller, payload: EditMessage) -> Message:
        return await self.service.edit(caller.user_id, payload, caller.sid)

    @event("message:delete", DeleteMessage, limit="conversation_change")
    async def delete(self, caller: Caller, payload: DeleteMessage) -> DeletedMessage:
        return await self.service.delete(caller.user_id, payload.message_id, caller.sid)

    @event("message:pin", PinMessage, limit="conversation_change")
    async def pin(self, caller: Caller, payload: PinMessage) -> Message:
        return await self.service.pin(caller.user_id, payload, caller.sid)

    @event("reaction:add", React, limit="conversation_change")
    async def add_reaction(self, caller: Caller, payload: React) -> Message:
        return await self.service.react(caller.user_id, payload, add=True, origin_sid=caller.sid)

    @event("reaction:remove", React, limit="conversation_change")
    async def remove_reaction(self, caller: Caller, payload: React) -> Message:
        return await self.service.react(caller.user_id, payload, add=False, origin_sid=caller.sid)

    @event("message:thread", Thread, limit="conversation_read")
    async def thread(self, caller: Caller, payload: Thread) -> MessagePage:
        return await self.service.thread(caller.user_id, payload)

    @event("conversation:pins", ConversationRef, limit="conversation_read")
    async def pins(self, caller: Caller, payload: ConversationRef) -> PinnedMessages:
        return await self.service.pins(caller.user_id, payload.conversation_id)

    @event("message:history", History, limit="conversation_read")
    async def history(self, caller: Caller, payload: History) -> MessagePage:
        return await self.service.history(caller.user_id, payload)

    @event("message:read", MarkRead, limit="conversation_read")
    async def read(self, caller: Caller, payload: MarkRead) -> ReadState:
        return await self.service.mark_read(caller.user_id, payload, caller.sid)

    @event("message:delivered", MarkDelivered, limit="conversation_read")
    async def delivered(self, caller: Caller, payload: MarkDelivered) -> Nothing:
        return await self.service.mark_delivered(caller.user_id, payload, caller.sid)

    @event("conversation:mark_unread", MarkUnread, limit="conversation_read")
    async def mark_unread(self, caller: Caller, payload: MarkUnread) -> Conversation:
        return await self.service.mark_unread(caller.user_id, payload, caller.sid)

    @event("typing", Typing, limit="typing")
    async def typing(self, caller: Caller, payload: Typing) -> Nothing:
        return await self.service.typing(caller.user_id, payload, caller.sid)

    @event("sync", Sync, limit="conversation_read")
    async def sync(self, caller: Caller, payload: Sync) -> SyncResult:
        return await self.service.sync(caller.user_id, payload)
