"""Jobs, bids, milestones, reviews, deposits, payouts and the ledger on SQLite.

Every write is ``SqliteMarketStore.apply``: one ``BEGIN IMMEDIATE`` transaction
on the single writer connection. Conditional changes are ``UPDATE ... WHERE id = ?
AND status IN (...)`` whose row count is checked, and balances move with
``UPDATE ... WHERE balance + delta >= 0``, so a transition that lost a race, or
would overdraw an account, rolls back with everything else it wrote.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, fields
from typing import Any

from ..errors import (
    ClaimLost,
    ConditionFailed,
    DuplicateError,
    InsufficientBalance,
    StorageError,
)
from ..ledger import GUARDED_ACCOUNTS, check_balanced, entries_of, net_postings, utc_now_iso
from ..market_reads import MarketReads
from ..records import (
    BalanceRecord,
    BidRecord,
    Change,
    DepositRecord,
    JobQuery,
    JobRecord,
    KeyClaim,
    LedgerEntryRecord,
    MilestoneRecord,
    PayoutRecord,
    ReviewRecord,
    Transition,
)
from .database import Database

TABLE_OF: dict[type, str] = {
    JobRecord: "jobs",
    BidRecord: "bids",
    MilestoneRecord: "milestones",
    ReviewRecord: "reviews",
    DepositRecord: "deposits",
    PayoutRecord: "payouts",
}
RECORD_OF = {table: record for record, table in TABLE_OF.items()}
# Tables whose rows change state (each has a ``version`` column).
CHANGEABLE = {"jobs", "bids", "milestones", "deposits", "payouts"}
_JSON_FIELDS = {"skills"}
_COLUMNS = {table: {f.name for f in fields(record)} for table, record in RECORD_OF.items()}


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v) if k in _JSON_FIELDS else v for k, v in values.items()}


def _record(table: str, row: sqlite3.Row | None) -> Any:
    if row is None:
        return None
    data = dict(row)
    for name in _JSON_FIELDS & data.keys():
        data[name] = json.loads(data[name])
    return RECORD_OF[table](**data)


def _check_fields(table: str, names: Any) -> None:
    unknown = set(names) - _COLUMNS[table]
    if unknown:
        raise ValueError(f"{table} has no fields {sorted(unknown)}")


def _conditions(table: str, expect: dict[str, Any], params: list[Any]) -> list[str]:
    """SQL conditions for ``expect`` (a list value means any of those; None is NULL)."""
    _check_fields(table, expect)
    parts = []
    for name, value in expect.items():
        if isinstance(value, (list, tuple, set)):
            values = list(value)
            parts.append(f"{name} IN ({', '.join('?' * len(values))})" if values else "0")
            params.extend(values)
        elif value is None:
            parts.append(f"{name} IS NULL")
        else:
            parts.append(f"{name} = ?")
            params.append(value)
    return parts


def _translate(exc: sqlite3.IntegrityError) -> StorageError:
    text = str(exc)
    if "UNIQUE" in text or "PRIMARY KEY" in text:
        return DuplicateError(text)
    return StorageError(text)


class SqliteMarketStore(MarketReads):
    def __init__(self, db: Database) -> None:
        self.db = db

    # Writes

    async def apply(self, transition: Transition) -> list[Any]:
        movement = transition.movement
        if movement is not None:
            check_balanced(movement)
        try:
            async with self.db.transaction() as conn:
                if transition.claim is not None:
                    await self._commit_claim(conn, transition.claim)
                if transition.event_id is not None:
                    await conn.execute(
                        "INSERT INTO processed_events (id, processed_at) VALUES (?, ?)",
                        (transition.event_id, utc_now_iso()),
                    )
                for record in transition.inserts:
                    await self._insert(conn, record)
                for table, where in transition.absent:
                    params: list[Any] = []
                    sql = (
                        f"SELECT id FROM {_table(table)} WHERE "
                        + " AND ".join(_conditions(table, where, params) or ["1"])
                        + " LIMIT 1"
                    )
                    row = await (await conn.execute(sql, params)).fetchone()
                    if row is not None:
                        raise ConditionFailed(table, row[0])
                changed = [await self._change(conn, change) for change in transition.changes]
                for bulk in transition.bulk:
                    _check_fields(_changeable(bulk.table), bulk.set)
                    params = list(_encode(bulk.set).values())
                    conditions = _conditions(bulk.table, bulk.where, params)
                    if bulk.exclude_id is not None:
                        conditions.append("id != ?")
                        params.append(bulk.exclude_id)
                    sets = ", ".join(f"{name} = ?" for name in bulk.set)
                    await conn.execute(
                        f"UPDATE {bulk.table} SET {sets}, version = version + 1 WHERE "
                        + " AND ".join(conditions or ["1"]),
                        params,
                    )
                if movement is not None:
                    await self._move(conn, movement)
        except sqlite3.IntegrityError as exc:
            raise _translate(exc) from exc
        return changed

    @staticmethod
    async def _insert(conn: Any, record: Any) -> None:
        table = TABLE_OF[type(record)]
        values = _encode(asdict(record))
        names = list(values)
        await conn.execute(
            f"INSERT INTO {table} ({', '.join(names)})"
            f" VALUES ({', '.join(':' + n for n in names)})",
            values,
        )

    @staticmethod
    async def _commit_claim(conn: Any, claim: KeyClaim) -> None:
        cursor = await conn.execute(
            "UPDATE idempotency_keys SET status = 1 WHERE scope = ? AND key = ?"
            " AND created_at = ? AND status = 0",
            (claim.scope, claim.key, claim.token),
        )
        if cursor.rowcount != 1:
            raise ClaimLost(claim.scope, claim.key)

    @staticmethod
    async def _change(conn: Any, change: Change) -> Any:
        table = _changeable(change.table)
        for names in (change.set, change.add, change.at_least):
            _check_fields(table, names)
        if {"version", "id"} & (change.set.keys() | change.add.keys()):
            raise ValueError("id and version are not set directly")
        params: list[Any] = [*_encode(change.set).values(), *change.add.values()]
        sets = "".join(f"{name} = ?, " for name in change.set) + "".join(
            f"{name} = {name} + ?, " for name in change.add
        )
        params.append(change.id)
        conditions = ["id = ?", *_conditions(table, change.expect, params)]
        for name, minimum in change.at_least.items():
            conditions.append(f"{name} >= ?")
            params.append(minimum)
        cursor = await conn.execute(
            f"UPDATE {table} SET {sets}version = version + 1 WHERE "
            + " AND ".join(conditions)
            + " RETURNING *",
            params,
        )
        row = await cursor.fetchone()
        if row is None:
            raise ConditionFailed(table, change.id)
        return _record(table, row)

    @staticmethod
    async def _move(conn: Any, movement: Any) -> None:
        for (owner_id, account, currency), delta in net_postings(movement).items():
            await conn.execute(
                "INSERT OR IGNORE INTO ledger_accounts (owner_id, account, currency, balance)"
                " VALUES (?, ?, ?, 0)",
                (owner_id, account, currency),
            )
            guard = " AND balance + ? >= 0" if account in GUARDED_ACCOUNTS else ""
            params: list[Any] = [delta, owner_id, currency, account]
            if guard:
                params.append(delta)
            cursor = await conn.execute(
                "UPDATE ledger_accounts SET balance = balance + ? WHERE owner_id = ?"
                " AND currency = ? AND account = ?" + guard,
                params,
            )
            if cursor.rowcount != 1:
                raise InsufficientBalance(owner_id, account, currency)
        await conn.execute(
            "INSERT INTO ledger_movements (id, kind, ref_type, ref_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (movement.id, movement.kind, movement.ref_type, movement.ref_id, movement.created_at),
        )
        names = [f.name for f in fields(LedgerEntryRecord)]
        await conn.executemany(
            f"INSERT INTO ledger_entries ({', '.join(names)})"
            f" VALUES ({', '.join('?' * len(names))})",
            [tuple(getattr(entry, n) for n in names) for entry in entries_of(movement)],
        )

    # Reads

    async def _get(self, table: str, row_id: str) -> Any:
        return _record(
            table, await self.db.fetch_one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
        )

    async def search_jobs(
        self, query: JobQuery, *, before: str | None, limit: int
    ) -> list[JobRecord]:
        conditions = ["status != 'deleted'", "(status != 'draft' OR owner_id = ?)"]
        params: list[Any] = [query.viewer_id]
        if query.status is not None:
            conditions.append("status = ?")
            params.append(query.status)
        if query.owner_id is not None:
            conditions.append("owner_id = ?")
            params.append(query.owner_id)
        if query.budget_min is not None:
            conditions.append("budget_max >= ?")
            params.append(query.budget_min)
        if query.budget_max is not None:
            conditions.append("budget_min <= ?")
            params.append(query.budget_max)
        for word in (query.q or "").split():
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(r"(title LIKE ? ESCAPE '\' OR description LIKE ? ESCAPE '\')")
            params.extend([pattern, pattern])
        for skill in query.skills:
            conditions.append(
                "EXISTS (SELECT 1 FROM json_each(jobs.skills) WHERE lower(json_each.value) = ?)"
            )
            params.append(skill.lower())
        if before is not None:
            conditions.append("id < ?")
            params.append(before)
        rows = await self.db.fetch_all(
            "SELECT * FROM jobs WHERE " + " AND ".join(conditions) + " ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
        return [_record("jobs", row) for row in rows]

    async def _ascending(
        self, table: str, where: dict[str, Any], after: str | None, limit: int
    ) -> list[Any]:
        params: list[Any] = []
        conditions = _conditions(table, where, params)
        if after is not None:
            conditions.append("id > ?")
            params.append(after)
        rows = await self.db.fetch_all(
            f"SELECT * FROM {table} WHERE " + " AND ".join(conditions) + " ORDER BY id LIMIT ?",
            [*params, limit],
        )
        return [_record(table, row) for row in rows]

    async def list_reviews(
        self, subject_id: str, *, before: str | None, limit: int
    ) -> list[ReviewRecord]:
        rows = await _newest_first(self.db, "reviews", "subject_id", subject_id, before, limit)
        return [_record("reviews", row) for row in rows]

    async def review_stats(self, subject_id: str) -> tuple[int, int]:
        row = await self.db.fetch_one(
            "SELECT COUNT(*), COALESCE(SUM(rating), 0) FROM reviews WHERE subject_id = ?",
            (subject_id,),
        )
        assert row is not None
        return int(row[0]), int(row[1])


class SqliteLedgerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def balances(self, owner_id: str) -> list[BalanceRecord]:
        rows = await self.db.fetch_all(
            "SELECT owner_id, account, currency, balance FROM ledger_accounts"
            " WHERE owner_id = ? ORDER BY currency, account",
            (owner_id,),
        )
        return [BalanceRecord(**dict(row)) for row in rows]

    async def entries(
        self, owner_id: str, *, before: str | None, limit: int
    ) -> list[LedgerEntryRecord]:
        rows = await _newest_first(self.db, "ledger_entries", "owner_id", owner_id, before, limit)
        return [LedgerEntryRecord(**dict(row)) for row in rows]

    async def entry_totals(self) -> dict[str, int]:
        rows = await self.db.fetch_all(
            "SELECT currency, SUM(amount) FROM ledger_entries GROUP BY currency"
        )
        return {row[0]: int(row[1]) for row in rows}

    async def balance_totals(self) -> dict[str, int]:
        rows = await self.db.fetch_all(
            "SELECT currency, SUM(balance) FROM ledger_accounts GROUP BY currency"
        )
        return {row[0]: int(row[1]) for row in rows}


def _table(table: str) -> str:
    if table not in RECORD_OF:
        raise ValueError(f"unknown table {table!r}")
    return table


def _changeable(table: str) -> str:
    if table not in CHANGEABLE:
        raise ValueError(f"{table!r} rows do not change")
    return table


async def _newest_first(
    db: Database, table: str, column: str, value: str, before: str | None, limit: int
) -> list[sqlite3.Row]:
    """Rows of ``table`` whose ``column`` is ``value``, newest id first, older than
    the ``before`` id when given. ``table`` and ``column`` are the store's own names."""
    params: list[Any] = [value]
    older = ""
    if before is not None:
        older = " AND id < ?"
        params.append(before)
    return await db.fetch_all(
        f"SELECT * FROM {table} WHERE {column} = ?{older} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
