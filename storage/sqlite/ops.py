"""The statements the SQLite stores share, written once. Table and column
names are always the store's own, never user input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ..schema import field_names
from .codec import from_row, insert_sql, to_row, values
from .database import Database, Params

R = TypeVar("R")


async def insert(db: Database, table: str, record: Any, *, verb: str = "INSERT") -> int:
    """Write ``record`` as a new row of ``table``; the rows written (0 when
    ``verb`` is ``INSERT OR IGNORE`` and the key is taken)."""
    return await db.write(insert_sql(table, field_names(type(record)), verb), to_row(record))


async def update(
    db: Database,
    table: str,
    record_type: type,
    changes: Mapping[str, Any],
    where: str,
    params: Mapping[str, Any],
) -> int:
    """Set ``changes`` (fields of ``record_type``) on the rows of ``table``
    matching ``where``, whose parameters ``params`` are named with a leading
    ``_`` so that they never clash with a field; the rows changed."""
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    return await db.write(
        f"UPDATE {table} SET {sets} WHERE {where}", {**values(record_type, changes), **params}
    )


async def set_once(db: Database, table: str, key: tuple[str, str], column: str, value: Any) -> bool:
    """Set ``column`` of the row whose ``key`` is (column, value) unless it is
    set already; True for the one caller that did."""
    key_column, key_value = key
    changed = await db.write(
        f"UPDATE {table} SET {column} = ? WHERE {key_column} = ? AND {column} IS NULL",
        (value, key_value),
    )
    return changed == 1


async def newest_first(
    db: Database,
    record_type: type[R],
    table: str,
    where: Sequence[str],
    params: Sequence[Any],
    *,
    before: str | None,
    limit: int,
) -> list[R]:
    """The records of ``table`` matching every condition of ``where`` (with
    ``params``), newest (highest) id first, strictly before the id ``before``."""
    conditions, args = list(where), list(params)
    if before is not None:
        conditions.append("id < ?")
        args.append(before)
    rows = await db.fetch_all(
        f"SELECT * FROM {table} WHERE {' AND '.join(conditions) or '1'} ORDER BY id DESC LIMIT ?",
        [*args, limit],
    )
    return [from_row(record_type, row) for row in rows]


async def fetch_record(
    db: Database, record_type: type[R], sql: str, params: Params = ()
) -> R | None:
    """The record in the first row ``sql`` reads; None when it reads none."""
    return from_row(record_type, await db.fetch_one(sql, params))


async def fetch_records(
    db: Database, record_type: type[R], sql: str, params: Params = ()
) -> list[R]:
    """The records in every row ``sql`` reads, in its order."""
    return [from_row(record_type, row) for row in await db.fetch_all(sql, params)]
