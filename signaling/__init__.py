"""WebRTC signaling: calls, the ``signal`` relay, ICE servers and the echo device check.

The hub never carries media between users: it owns call state and relays
offers, answers and candidates between the two engaged sockets. The one media
peer it runs itself is the echo check (aiortc), which sends a caller's own
tracks and data-channel messages straight back.

Layers: ``namespace.py`` is the door; ``service.py`` (``calls.py``, ``relay.py``,
``ice.py``) and ``echo.py`` the domain; call state sits behind the ``CallState``
port (``state.py``: in memory; ``hub/cluster/call_state.py``: in Redis). hub/context.py
builds all of it.
"""

from .calls import NAMESPACE
from .namespace import SignalingNamespace
from .service import SignalingService

__all__ = ["NAMESPACE", "SignalingNamespace", "SignalingService"]
