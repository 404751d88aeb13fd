"""Presence: online/away/busy/offline with a grace period, across processes."""

from .service import PresenceService

__all__ = ["PresenceService"]
