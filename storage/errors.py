"""Errors every storage engine raises the same way."""


class StorageError(Exception):
    """The database could not do what was asked."""


class DuplicateError(StorageError):
    """A unique key (email, client message id, ...) already exists."""


class ClaimLost(StorageError):
    """A transition's Idempotency-Key claim no longer holds the key: the
    request ran past its lease and another took the key over."""

    def __init__(self, scope: str, key: str) -> None:
        super().__init__(f"idempotency key {key!r} of {scope} is held by another request")


class ConditionFailed(StorageError):
    """A conditional change did not apply: the row is gone or no longer in the
    expected state (someone else changed it first)."""

    def __init__(self, table: str, row_id: str) -> None:
        super().__init__(f"{table} {row_id} is not in the expected state")
        self.table = table
        self.row_id = row_id


class InsufficientBalance(StorageError):
    """A posting would take a user's balance below zero."""

    def __init__(self, owner_id: str, account: str, currency: str) -> None:
        super().__init__(f"{owner_id} {account} {currency} would go below zero")
        self.owner_id = owner_id
        self.account = account
        self.currency = currency


class UnbalancedMovement(StorageError):
    """A movement's postings do not sum to zero per currency."""
