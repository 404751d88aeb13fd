"""Persistence behind one store API (the ports: interfaces, records, errors),
with a SQLite and a MongoDB engine (the adapters; storage/engines.py picks one)."""

from __future__ import annotations

from .errors import DuplicateError, StorageError
from .interfaces import Store

__all__ = ["DuplicateError", "StorageError", "Store"]
