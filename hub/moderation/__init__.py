"""Trust and safety, the moderation half (issue 20): reports, the admin queue,
actions, suspensions and bans, the dispute queue and the append-only audit log."""

from .audit import AuditLog
from .service import ModerationService

__all__ = ["AuditLog", "ModerationService"]
