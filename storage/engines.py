"""Choosing the engine: the composition root calls this, nothing else does, so
no domain code depends on an engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .interfaces import Store

if TYPE_CHECKING:
    from hub.config import Settings


def create_store(settings: Settings) -> Store:
    """The engine the database URL names (not yet opened)."""
    if settings.uses_mongodb:
        from .mongo import MongoStore

        return MongoStore.from_url(settings.database_url, settings.mongodb_write_concern)
    from .sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path(), synchronous=settings.sqlite_synchronous)
