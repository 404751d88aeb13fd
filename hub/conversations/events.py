"""Where conversation events go: every socket of each addressed user."""

from __future__ import annotations

from ..emitter import Emitter, UserEvents

NAMESPACE = "/conversations"


class ConversationEvents(UserEvents):
    """Emits on /conversations to users' rooms."""

    def __init__(self, emitter: Emitter) -> None:
        super().__init__(emitter, NAMESPACE)
