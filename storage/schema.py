"""What every engine reads off the records the same way: a record's fields,
which of them a change may set, and the marketplace tables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from .records import (
    BidRecord,
    BulkChange,
    Change,
    DepositRecord,
    JobRecord,
    MilestoneRecord,
    PayoutRecord,
    ReviewRecord,
)


def field_names(record_type: type) -> tuple[str, ...]:
    """The fields of a record dataclass, in declaration order."""
    names = _FIELD_NAMES.get(record_type)
    if names is None:
        names = _FIELD_NAMES[record_type] = tuple(f.name for f in fields(record_type))
    return names


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def check_changes(record_type: type, changes: Iterable[str], frozen: set[str]) -> None:
    """Raise ValueError unless every name in ``changes`` is a field of
    ``record_type`` that may change (not in ``frozen``)."""
    named = set(changes)
    unknown = (named - set(field_names(record_type))) | (named & frozen)
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")


# The marketplace: one table (collection) per record type.
TABLE_OF: dict[type, str] = {
    JobRecord: "jobs",
    BidRecord: "bids",
    MilestoneRecord: "milestones",
    ReviewRecord: "reviews",
    DepositRecord: "deposits",
    PayoutRecord: "payouts",
}
RECORD_OF: dict[str, type] = {table: record for record, table in TABLE_OF.items()}
# Tables whose rows change state (each has a ``version`` field).
CHANGEABLE = frozenset({"jobs", "bids", "milestones", "deposits", "payouts"})


def record_of(table: str) -> type:
    """The record type of a marketplace table; ValueError for any other name,
    so a table name reaching a query is always one of the store's own."""
    try:
        return RECORD_OF[table]
    except KeyError:
        raise ValueError(f"unknown table {table!r}") from None


def check_fields(table: str, names: Iterable[str]) -> None:
    """Raise ValueError unless every name is a field of ``table``'s records."""
    unknown = set(names) - set(field_names(record_of(table)))
    if unknown:
        raise ValueError(f"{table} has no fields {sorted(unknown)}")


def check_change(change: Change | BulkChange) -> None:
    """Raise ValueError unless ``change`` names a table whose rows change and
    only fields of it, never setting ``id`` or ``version`` directly."""
    if change.table not in CHANGEABLE:
        raise ValueError(f"{change.table!r} rows do not change")
    if isinstance(change, Change):
        written: set[str] = set(change.set) | set(change.add)
        check_fields(change.table, [*change.expect, *written, *change.at_least])
    else:
        written = set(change.set)
        check_fields(change.table, [*change.where, *written])
    if {"id", "version"} & written:
        raise ValueError("id and version are not set directly")


def is_many(value: Any) -> bool:
    """A condition value that means "any of these" (``Change.expect``, ``BulkChange.where``)."""
    return isinstance(value, (list, tuple, set, frozenset))
