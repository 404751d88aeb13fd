"""Presence: online/away/busy/offline with a grace period, across processes.

``service.py`` is the domain; it keeps state behind the ``PresenceBackend``
port (``backends.py``: in memory; ``hub/cluster/presence.py``: in Redis)."""

from .service import PresenceService

__all__ = ["PresenceService"]
