"""Files in conversations: uploads checked on the bytes, attached to messages,
served to participants through short-lived signed URLs (docs/attachments.md)."""

from .service import AttachmentLimits, AttachmentService

__all__ = ["AttachmentLimits", "AttachmentService"]
