"""WebRTC signaling: calls, the ``signal`` relay, ICE servers and the echo device check.

The hub never carries media between users: it owns call state and relays
offers, answers and candidates between the two engaged sockets. The one media
peer it runs itself is the echo check (aiortc), which sends a caller's own
tracks and data-channel messages straight back.
"""

from .namespace import NAMESPACE, SignalingNamespace
from .service import SignalingService

__all__ = ["NAMESPACE", "SignalingNamespace", "SignalingService"]
