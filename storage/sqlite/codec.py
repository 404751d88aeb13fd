"""Records to SQLite rows and back: the one codec of the SQLite engine.

How a field is stored follows from its type in ``storage.records``, so a new
field needs nothing here: a ``list``, ``dict`` or ``Any`` field is a TEXT
column of JSON (``None`` of an optional field is NULL, of an ``Any`` field the
JSON ``null``), a ``bool`` field an INTEGER 0/1 column, and anything else is
stored as it is.
"""

from __future__ import annotations

import sqlite3
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints, overload

import orjson

from ..schema import field_names

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class _Columns:
    names: tuple[str, ...]
    json: frozenset[str]
    null_when_none: frozenset[str]  # optional fields: None is NULL, not JSON null
    bools: frozenset[str]


def _columns(record_type: type) -> _Columns:
    columns = _COLUMNS.get(record_type)
    if columns is None:
        hints = get_type_hints(record_type)
        names = field_names(record_type)
        columns = _COLUMNS[record_type] = _Columns(
            names=names,
            json=frozenset(name for name in names if _is_json(hints[name])),
            null_when_none=frozenset(n for n in names if type(None) in get_args(hints[n])),
            bools=frozenset(name for name in names if hints[name] is bool),
        )
    return columns


_COLUMNS: dict[type, _Columns] = {}


def _is_json(hint: Any) -> bool:
    if hint is Any or hint in (list, dict):
        return True
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_is_json(arg) for arg in get_args(hint) if arg is not type(None))
    return origin in (list, dict)


def values(record_type: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (fields of ``record_type``, say a change) as SQL parameters."""
    columns = _columns(record_type)
    return {
        name: (
            orjson.dumps(value).decode()
            if name in columns.json and not (value is None and name in columns.null_when_none)
            else value
        )
        for name, value in data.items()
    }


def to_row(record: Any, *, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every field of ``record`` but ``leave_out``, as SQL parameters by name.
    (Not ``asdict``: it deep-copies, a tenth of a message send's CPU.)"""
    record_type = type(record)
    return values(
        record_type,
        {name: getattr(record, name) for name in field_names(record_type) if name not in leave_out},
    )


@overload
def from_row(record_type: type[R], row: sqlite3.Row, prefix: str = "") -> R: ...
@overload
def from_row(record_type: type[R], row: sqlite3.Row | None, prefix: str = "") -> R | None: ...
def from_row(record_type: type[R], row: sqlite3.Row | None, prefix: str = "") -> R | None:
    """The record in ``row`` (None for no row): its fields are the columns of
    the same names, after ``prefix`` (for a join's aliased columns)."""
    if row is None:
        return None
    columns = _columns(record_type)
    data: dict[str, Any] = {}
    for name in columns.names:
        value = row[prefix + name]
        if name in columns.json:
            value = None if value is None else orjson.loads(value)
        elif name in columns.bools:
            value = bool(value)
        data[name] = value
    return record_type(**data)


def column_list(record_type: type, alias: str = "", as_prefix: str = "") -> str:
    """``a, b, c``, ``m.a, m.b`` with an alias, or ``m.a AS m_a, ...`` with a prefix."""
    qualifier = f"{alias}." if alias else ""
    return ", ".join(
        f"{qualifier}{name}" + (f" AS {as_prefix}{name}" if as_prefix else "")
        for name in field_names(record_type)
    )


def insert_sql(table: str, names: list[str] | tuple[str, ...], verb: str = "INSERT") -> str:
    """``INSERT INTO table (a, b) VALUES (:a, :b)``; ``table`` and ``names`` are
    the store's own, never user input."""
    return f"{verb} INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
