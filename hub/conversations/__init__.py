"""Conversations: membership, messages with ordered delivery, read markers, typing."""

from .service import ConversationLimits, ConversationService

__all__ = ["ConversationLimits", "ConversationService"]
