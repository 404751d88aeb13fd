"""Socket.IO: the server, the authenticated base namespace, connection tracking."""

from .namespace import Caller, HubNamespace, event

__all__ = ["Caller", "HubNamespace", "event"]
