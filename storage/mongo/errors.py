"""PyMongo's errors as ``storage.errors``: the one translation of the Mongo engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import DuplicateKeyError

from ..errors import DuplicateError


@contextmanager
def duplicates_raised() -> Iterator[None]:
    """A unique index refusing a write, inside the block, raises DuplicateError."""
    try:
        yield
    except DuplicateKeyError as exc:
        raise DuplicateError(str(exc)) from exc
