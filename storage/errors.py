"""Errors every storage engine raises the same way."""


class StorageError(Exception):
    """The database could not do what was asked."""


class DuplicateError(StorageError):
    """A unique key (email, client message id, ...) already exists."""
