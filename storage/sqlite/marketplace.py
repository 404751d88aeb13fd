"""Jobs, bids, milestones, reviews, deposits, payouts and the ledger on SQLite.

Every write is ``SqliteMarketStore.apply``: one ``BEGIN IMMEDIATE`` transaction
on the single writer connection. Conditional changes are ``UPDATE ... WHERE id = ?
AND status IN (...)`` whose row count is checked, and balances move with
``UPDATE ... WHERE balance + delta >= 0``, so a transition that lost a race, or
would overdraw an account, rolls back with everything else it wrote.
"""

from __future__ import annotations

from typing import Any, TypeVar

import aiosqlite

from ..errors import ClaimLost, ConditionFailed, InsufficientBalance
from ..ledger import GUARDED_ACCOUNTS, check_balanced, entries_of, net_postings, utc_now_iso
from ..market_reads import MarketReads
from ..records import (
    BalanceRecord,
    Change,
    JobQuery,
    JobRecord,
    KeyClaim,
    LedgerEntryRecord,
    MovementRecord,
    ReviewRecord,
    Transition,
)
from ..schema import TABLE_OF, check_change, check_fields, field_names, is_many, record_of
from .codec import from_row, insert_sql, to_row, values
from .database import Database
from .ops import fetch_record, fetch_records, newest_first

R = TypeVar("R")


def _conditions(table: str, expect: dict[str, Any], params: list[Any]) -> list[str]:
    """SQL conditions for ``expect`` (a list value means any of those; None is NULL)."""
    check_fields(table, expect)
    parts = []
    for name, value in expect.items():
        if is_many(value):
            many = list(value)
            parts.append(f"{name} IN ({', '.join('?' * len(many))})" if many else "0")
            params.extend(many)
        elif value is None:
            parts.append(f"{name} IS NULL")
        else:
            parts.append(f"{name} = ?")
            params.append(value)
    return parts


class SqliteMarketStore(MarketReads):
    def __init__(self, db: Database) -> None:
        self.db = db

    # Writes

    async def apply(self, transition: Transition) -> list[Any]:
        movement = transition.movement
        if movement is not None:
            check_balanced(movement)
        async with self.db.transaction() as conn:
            if transition.claim is not None:
                await self._commit_claim(conn, transition.claim)
            if transition.event_id is not None:
                await conn.execute(
                    "INSERT INTO processed_events (id, processed_at) VALUES (?, ?)",
                    (transition.event_id, utc_now_iso()),
                )
            for record in transition.inserts:
                await conn.execute(
                    insert_sql(TABLE_OF[type(record)], field_names(type(record))), to_row(record)
                )
            for table, where in transition.absent:
                params: list[Any] = []
                sql = (
                    f"SELECT id FROM {table} WHERE "
                    + " AND ".join(_conditions(table, where, params) or ["1"])
                    + " LIMIT 1"
                )
                row = await (await conn.execute(sql, params)).fetchone()
                if row is not None:
                    raise ConditionFailed(table, row[0])
            changed = [await self._change(conn, change) for change in transition.changes]
            for bulk in transition.bulk:
                check_change(bulk)
                params = list(values(record_of(bulk.table), bulk.set).values())
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
        return changed

    @staticmethod
    async def _commit_claim(conn: aiosqlite.Connection, claim: KeyClaim) -> None:
        cursor = await conn.execute(
            "UPDATE idempotency_keys SET status = 1 WHERE scope = ? AND key = ?"
            " AND created_at = ? AND status = 0",
            (claim.scope, claim.key, claim.token),
        )
        if cursor.rowcount != 1:
            raise ClaimLost(claim.scope, claim.key)

    @staticmethod
    async def _change(conn: aiosqlite.Connection, change: Change) -> Any:
        check_change(change)
        table, record_type = change.table, record_of(change.table)
        params: list[Any] = [*values(record_type, change.set).values(), *change.add.values()]
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
        return from_row(record_type, row)

    @staticmethod
    async def _move(conn: aiosqlite.Connection, movement: MovementRecord) -> None:
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
        await conn.executemany(
            insert_sql("ledger_entries", field_names(LedgerEntryRecord)),
            [to_row(entry) for entry in entries_of(movement)],
        )

    # Reads

    async def bid_partners(self, user_id: str, user_ids: list[str]) -> set[str]:
        # Through jobs(owner_id) and bids(job_id): both sides use an index.
        if not user_ids:
            return set()
        marks = ", ".join("?" * len(user_ids))
        rows = await self.db.fetch_all(
            "SELECT b.freelancer_id FROM jobs j JOIN bids b ON b.job_id = j.id"
            f" WHERE j.owner_id = ? AND b.freelancer_id IN ({marks})"
            " UNION SELECT j.owner_id FROM jobs j JOIN bids b ON b.job_id = j.id"
            f" WHERE j.owner_id IN ({marks}) AND b.freelancer_id = ?",
            (user_id, *user_ids, *user_ids, user_id),
        )
        return {row[0] for row in rows}

    async def _get(self, record_type: type[R], row_id: str) -> R | None:
        return await fetch_record(
            self.db, record_type, f"SELECT * FROM {TABLE_OF[record_type]} WHERE id = ?", (row_id,)
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
        if query.bidder_id is not None:  # bids_freelancer index
            conditions.append("id IN (SELECT job_id FROM bids WHERE freelancer_id = ?)")
            params.append(query.bidder_id)
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
        return await newest_first(
            self.db, JobRecord, "jobs", conditions, params, before=before, limit=limit
        )

    async def _ascending(
        self, record_type: type[R], where: dict[str, Any], after: str | None, limit: int
    ) -> list[R]:
        table = TABLE_OF[record_type]
        params: list[Any] = []
        conditions = _conditions(table, where, params)
        if after is not None:
            conditions.append("id > ?")
            params.append(after)
        return await fetch_records(
            self.db,
            record_type,
            f"SELECT * FROM {table} WHERE " + " AND ".join(conditions) + " ORDER BY id LIMIT ?",
            [*params, limit],
        )

    async def list_reviews(
        self, subject_id: str, *, before: str | None, limit: int
    ) -> list[ReviewRecord]:
        return await newest_first(
            self.db,
            ReviewRecord,
            "reviews",
            ["subject_id = ?"],
            [subject_id],
            before=before,
            limit=limit,
        )

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
        return await fetch_records(
            self.db,
            BalanceRecord,
            "SELECT owner_id, account, currency, balance FROM ledger_accounts"
            " WHERE owner_id = ? ORDER BY currency, account",
            (owner_id,),
        )

    async def entries(
        self, owner_id: str, *, before: str | None, limit: int
    ) -> list[LedgerEntryRecord]:
        return await newest_first(
            self.db,
            LedgerEntryRecord,
            "ledger_entries",
            ["owner_id = ?"],
            [owner_id],
            before=before,
            limit=limit,
        )

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
