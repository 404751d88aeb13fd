"""Speed networking: admin-made lobbies where waiting users are paired for short
one-to-one video sessions (signaled through /signaling).

The service (``service.py``) is made of lobbies, sessions, ratings, matching and
usage; it reaches clients through ``events.py`` and keeps queues behind the
``LobbyQueues`` port (``queues.py``: in memory; ``hub/cluster/lobby_queues.py``: in Redis).
"""

from .service import NetworkingService

__all__ = ["NetworkingService"]
