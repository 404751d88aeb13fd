"""Marketplace notifications: stored in an inbox and pushed on /notifications."""

from .service import NotificationService

__all__ = ["NotificationService"]
