"""Speed networking: admin-made lobbies where waiting users are paired for short
one-to-one video sessions (signaled through /signaling)."""

from .service import NetworkingService

__all__ = ["NetworkingService"]
