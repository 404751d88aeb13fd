"""Jobs, bids, milestones, reviews, deposits, payouts and the ledger on MongoDB.

Every write is ``MongoMarketStore.apply``, one multi-document transaction
(``client.start_session()`` + ``session.with_transaction``): the conditional
state changes (``update_one({"_id": id, "status": {"$in": [...]}})`` whose
``matched_count`` is checked), the balance updates (``$inc`` guarded by
``balance >= -delta``) and the ledger entries commit together or not at all.
Multi-document transactions need a replica set (a single-node one is enough)
or a sharded cluster; on a standalone ``mongod`` they fail and so does every
marketplace write (``open`` logs an error when it sees a standalone server).
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, fields
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..errors import ClaimLost, ConditionFailed, DuplicateError, InsufficientBalance
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

log = logging.getLogger(__name__)

TABLE_OF: dict[type, str] = {
    JobRecord: "jobs",
    BidRecord: "bids",
    MilestoneRecord: "milestones",
    ReviewRecord: "reviews",
    DepositRecord: "deposits",
    PayoutRecord: "payouts",
}
RECORD_OF = {table: record for record, table in TABLE_OF.items()}
CHANGEABLE = {"jobs", "bids", "milestones", "deposits", "payouts"}
_FIELDS = {table: {f.name for f in fields(record)} for table, record in RECORD_OF.items()}


def _doc(record: Any) -> dict[str, Any]:
    doc = asdict(record)
    doc["_id"] = doc.pop("id")
    return doc


def _record(table: str, doc: dict[str, Any] | None) -> Any:
    if doc is None:
        return None
    data = {key: value for key, value in doc.items() if key in _FIELDS[table]}
    data["id"] = doc["_id"]
    return RECORD_OF[table](**data)


def _filter(table: str, expect: dict[str, Any]) -> dict[str, Any]:
    unknown = set(expect) - _FIELDS[table]
    if unknown:
        raise ValueError(f"{table} has no fields {sorted(unknown)}")
    query: dict[str, Any] = {}
    for name, value in expect.items():
        key = "_id" if name == "id" else name
        query[key] = {"$in": list(value)} if isinstance(value, (list, tuple, set)) else value
    return query


def _update(
    table: str, changes: dict[str, Any], add: dict[str, int] | None = None
) -> dict[str, Any]:
    if table not in CHANGEABLE:
        raise ValueError(f"{table!r} rows do not change")
    add = add or {}
    named = set(changes) | set(add)
    unknown = named - _FIELDS[table] | ({"id", "version"} & named)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} on {table}")
    update: dict[str, Any] = {"$inc": {**add, "version": 1}}
    if changes:
        update["$set"] = dict(changes)
    return update


def _change_filter(change: Change) -> dict[str, Any]:
    query = {"_id": change.id, **_filter(change.table, change.expect)}
    for name, minimum in _filter(change.table, change.at_least).items():
        query[name] = {"$gte": minimum}
    return query


def _claim_filter(claim: KeyClaim) -> dict[str, Any]:
    return {"scope": claim.scope, "key": claim.key, "created_at": claim.token, "status": 0}


def _account_id(owner_id: str, account: str, currency: str) -> str:
    return f"{owner_id}|{currency}|{account}"


class MongoMarketStore(MarketReads):
    def __init__(self, database: Any, client: Any, transactional: bool) -> None:
        self.database = database
        self.client = client
        self.transactional = transactional

    def _c(self, name: str) -> Any:
        return self.database[name]

    async def create_indexes(self) -> None:
        await self._c("jobs").create_index([("owner_id", ASCENDING), ("_id", DESCENDING)])
        await self._c("jobs").create_index([("status", ASCENDING), ("_id", DESCENDING)])
        await self._c("bids").create_index([("job_id", ASCENDING), ("_id", ASCENDING)])
        # One active bid per freelancer and job: active_key is a string only while active.
        await self._c("bids").create_index(
            "active_key", unique=True, partialFilterExpression={"active_key": {"$type": "string"}}
        )
        await self._c("milestones").create_index([("job_id", ASCENDING), ("_id", ASCENDING)])
        await self._c("reviews").create_index(
            [("job_id", ASCENDING), ("author_id", ASCENDING)], unique=True
        )
        await self._c("reviews").create_index([("subject_id", ASCENDING), ("_id", DESCENDING)])
        await self._c("deposits").create_index("user_id")
        await self._c("payouts").create_index("user_id")
        await self._c("ledger_accounts").create_index("owner_id")
        await self._c("ledger_movements").create_index(
            [("ref_type", ASCENDING), ("ref_id", ASCENDING)]
        )
        await self._c("ledger_entries").create_index([("owner_id", ASCENDING), ("_id", DESCENDING)])
        await self._c("processed_events").create_index("processed_at")
        if self.transactional:
            await self._warn_without_replica_set()

    async def _warn_without_replica_set(self) -> None:
        try:
            hello = await self.database.command("hello")
        except Exception:  # the ping in readiness reports an unreachable server
            return
        if "setName" not in hello and hello.get("msg") != "isdbgrid":
            log.error(
                "MongoDB is a standalone server: marketplace writes use multi-document "
                "transactions, which need a replica set (rs.initiate() on a single node "
                "is enough) or a sharded cluster; they will fail until then"
            )

    # Writes

    async def apply(self, transition: Transition) -> list[Any]:
        if transition.movement is not None:
            check_balanced(transition.movement)
        if not self.transactional:
            # The mongomock test double has no sessions or transactions: the same
            # steps run without one. _apply reads and checks every condition
            # before its first write, and the double never yields to the event
            # loop inside it, so no other request interleaves; a duplicate insert
            # is undone by hand. A real server always takes the branch below.
            return await self._apply(transition, None)
        async with self.client.start_session() as session:
            # Retries the whole callback on TransientTransactionError (write
            # conflicts between concurrent transactions) and retries the commit
            # on UnknownTransactionCommitResult; any other error aborts.
            return await session.with_transaction(lambda s: self._apply(transition, s))

    async def _apply(self, t: Transition, session: Any) -> list[Any]:
        s = {"session": session} if session is not None else {}
        # 1. Checks, before any write.
        if (
            t.claim is not None
            and await self._c("idempotency_keys").find_one(_claim_filter(t.claim), **s) is None
        ):
            raise ClaimLost(t.claim.scope, t.claim.key)
        if (
            t.event_id is not None
            and await self._c("processed_events").find_one({"_id": t.event_id}, **s) is not None
        ):
            raise DuplicateError(f"event {t.event_id} was processed already")
        for table, where in t.absent:
            found = await self._c(table).find_one(_filter(table, where), **s)
            if found is not None:
                raise ConditionFailed(table, found["_id"])
        for change in t.changes:
            if await self._c(change.table).find_one(_change_filter(change), **s) is None:
                raise ConditionFailed(change.table, change.id)
        nets = net_postings(t.movement) if t.movement is not None else {}
        for (owner_id, account, currency), delta in nets.items():
            if account in GUARDED_ACCOUNTS and delta < 0:
                doc = await self._c("ledger_accounts").find_one(
                    {"_id": _account_id(owner_id, account, currency)}, **s
                )
                if (doc["balance"] if doc else 0) + delta < 0:
                    raise InsufficientBalance(owner_id, account, currency)
        # 2. Writes. Inside a transaction any failure aborts all of them.
        if t.claim is not None:
            await self._c("idempotency_keys").update_one(
                _claim_filter(t.claim), {"$set": {"status": 1}}, **s
            )
        undo: list[tuple[str, Any]] = []
        try:
            if t.event_id is not None:
                await self._c("processed_events").insert_one(
                    {"_id": t.event_id, "processed_at": utc_now_iso()}, **s
                )
                undo.append(("processed_events", t.event_id))
            for record in t.inserts:
                table = TABLE_OF[type(record)]
                await self._c(table).insert_one(_doc(record), **s)
                undo.append((table, record.id))
        except DuplicateKeyError as exc:
            if session is None:
                for table, row_id in reversed(undo):
                    await self._c(table).delete_one({"_id": row_id})
            raise DuplicateError(str(exc)) from exc
        changed = [await self._change(change, s) for change in t.changes]
        for bulk in t.bulk:
            query = _filter(bulk.table, bulk.where)
            if bulk.exclude_id is not None:
                query["_id"] = {"$ne": bulk.exclude_id}
            await self._c(bulk.table).update_many(query, _update(bulk.table, bulk.set), **s)
        if t.movement is not None:
            await self._move(t.movement, nets, s)
        return changed

    async def _change(self, change: Change, s: dict[str, Any]) -> Any:
        doc = await self._c(change.table).find_one_and_update(
            _change_filter(change),
            _update(change.table, change.set, change.add),
            return_document=ReturnDocument.AFTER,
            **s,
        )
        if doc is None:
            raise ConditionFailed(change.table, change.id)
        return _record(change.table, doc)

    async def _move(
        self, movement: Any, nets: dict[tuple[str, str, str], int], s: dict[str, Any]
    ) -> None:
        accounts = self._c("ledger_accounts")
        for (owner_id, account, currency), delta in nets.items():
            account_id = _account_id(owner_id, account, currency)
            await accounts.update_one(
                {"_id": account_id},
                {
                    "$setOnInsert": {
                        "owner_id": owner_id,
                        "account": account,
                        "currency": currency,
                        "balance": 0,
                    }
                },
                upsert=True,
                **s,
            )
            query: dict[str, Any] = {"_id": account_id}
            if account in GUARDED_ACCOUNTS:
                query["balance"] = {"$gte": -delta}
            result = await accounts.update_one(query, {"$inc": {"balance": delta}}, **s)
            if result.matched_count != 1:
                raise InsufficientBalance(owner_id, account, currency)
        await self._c("ledger_movements").insert_one(
            {
                "_id": movement.id,
                "kind": movement.kind,
                "ref_type": movement.ref_type,
                "ref_id": movement.ref_id,
                "created_at": movement.created_at,
            },
            **s,
        )
        await self._c("ledger_entries").insert_many([_doc(e) for e in entries_of(movement)], **s)

    # Reads

    async def _get(self, table: str, row_id: str) -> Any:
        return _record(table, await self._c(table).find_one({"_id": row_id}))

    async def search_jobs(
        self, query: JobQuery, *, before: str | None, limit: int
    ) -> list[JobRecord]:
        conditions: list[dict[str, Any]] = [
            {"status": {"$ne": "deleted"}},
            {"$or": [{"status": {"$ne": "draft"}}, {"owner_id": query.viewer_id}]},
        ]
        if query.status is not None:
            conditions.append({"status": query.status})
        if query.owner_id is not None:
            conditions.append({"owner_id": query.owner_id})
        if query.budget_min is not None:
            conditions.append({"budget_max": {"$gte": query.budget_min}})
        if query.budget_max is not None:
            conditions.append({"budget_min": {"$lte": query.budget_max}})
        for word in (query.q or "").split():
            pattern = {"$regex": re.escape(word), "$options": "i"}
            conditions.append({"$or": [{"title": pattern}, {"description": pattern}]})
        for skill in query.skills:
            conditions.append({"skills": {"$regex": f"^{re.escape(skill)}$", "$options": "i"}})
        if before is not None:
            conditions.append({"_id": {"$lt": before}})
        cursor = self._c("jobs").find({"$and": conditions}).sort("_id", DESCENDING).limit(limit)
        return [_record("jobs", doc) async for doc in cursor]

    async def _ascending(
        self, table: str, where: dict[str, Any], after: str | None, limit: int
    ) -> list[Any]:
        query = _filter(table, where)
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._c(table).find(query).sort("_id", ASCENDING).limit(limit)
        return [_record(table, doc) async for doc in cursor]

    async def list_reviews(
        self, subject_id: str, *, before: str | None, limit: int
    ) -> list[ReviewRecord]:
        query: dict[str, Any] = {"subject_id": subject_id}
        if before is not None:
            query["_id"] = {"$lt": before}
        cursor = self._c("reviews").find(query).sort("_id", DESCENDING).limit(limit)
        return [_record("reviews", doc) async for doc in cursor]

    async def review_stats(self, subject_id: str) -> tuple[int, int]:
        cursor = await self._c("reviews").aggregate(
            [
                {"$match": {"subject_id": subject_id}},
                {"$group": {"_id": None, "count": {"$sum": 1}, "total": {"$sum": "$rating"}}},
            ]
        )
        rows = await cursor.to_list(None)
        return (int(rows[0]["count"]), int(rows[0]["total"])) if rows else (0, 0)


class MongoLedgerStore:
    def __init__(self, database: Any) -> None:
        self.accounts = database["ledger_accounts"]
        self.entries_collection = database["ledger_entries"]

    async def balances(self, owner_id: str) -> list[BalanceRecord]:
        cursor = self.accounts.find({"owner_id": owner_id}).sort(
            [("currency", ASCENDING), ("account", ASCENDING)]
        )
        return [
            BalanceRecord(
                owner_id=doc["owner_id"],
                account=doc["account"],
                currency=doc["currency"],
                balance=doc["balance"],
            )
            async for doc in cursor
        ]

    async def entries(
        self, owner_id: str, *, before: str | None, limit: int
    ) -> list[LedgerEntryRecord]:
        query: dict[str, Any] = {"owner_id": owner_id}
        if before is not None:
            query["_id"] = {"$lt": before}
        cursor = self.entries_collection.find(query).sort("_id", DESCENDING).limit(limit)
        return [
            LedgerEntryRecord(**{("id" if k == "_id" else k): v for k, v in doc.items()})
            async for doc in cursor
        ]

    async def entry_totals(self) -> dict[str, int]:
        return await self._totals(self.entries_collection, "$amount")

    async def balance_totals(self) -> dict[str, int]:
        return await self._totals(self.accounts, "$balance")

    @staticmethod
    async def _totals(collection: Any, field: str) -> dict[str, int]:
        cursor = await collection.aggregate(
            [{"$group": {"_id": "$currency", "total": {"$sum": field}}}]
        )
        return {row["_id"]: int(row["total"]) for row in await cursor.to_list(None)}
