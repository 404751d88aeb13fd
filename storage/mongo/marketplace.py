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
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from ..errors import ClaimLost, ConditionFailed, DuplicateError, InsufficientBalance
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
from ..schema import TABLE_OF, check_change, check_fields, is_many, record_of
from .codec import Document, from_doc, to_doc
from .errors import duplicates_raised
from .ops import newest_first

log = logging.getLogger(__name__)

R = TypeVar("R")


def _filter(table: str, expect: dict[str, Any]) -> dict[str, Any]:
    """The query for ``expect`` (a list value means any of those)."""
    check_fields(table, expect)
    query: dict[str, Any] = {}
    for name, value in expect.items():
        key = "_id" if name == "id" else name
        query[key] = {"$in": list(value)} if is_many(value) else value
    return query


def _update(changes: dict[str, Any], add: dict[str, int] | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {"$inc": {**(add or {}), "version": 1}}
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
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self.database = database

    def _c(self, name: str) -> AsyncCollection[Document]:
        return self.database[name]

    async def create_indexes(self) -> None:
        await self._c("jobs").create_index([("owner_id", ASCENDING), ("_id", DESCENDING)])
        await self._c("jobs").create_index([("status", ASCENDING), ("_id", DESCENDING)])
        await self._c("bids").create_index([("job_id", ASCENDING), ("_id", ASCENDING)])
        # Private presence (bid_partners): a job owner's bidders, a bidder's job owners.
        await self._c("bids").create_index([("owner_id", ASCENDING), ("freelancer_id", ASCENDING)])
        await self._c("bids").create_index([("freelancer_id", ASCENDING), ("owner_id", ASCENDING)])
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
        async with self.database.client.start_session() as session:
            # Retries the whole callback on TransientTransactionError (write
            # conflicts between concurrent transactions) and retries the commit
            # on UnknownTransactionCommitResult; any other error aborts. A
            # unique index refusing an insert is translated out here, not in
            # the callback, so that the retry sees PyMongo's own error.
            with duplicates_raised():
                return await session.with_transaction(lambda s: self._apply(transition, s))

    async def _apply(self, t: Transition, session: AsyncClientSession) -> list[Any]:
        # 1. Checks.
        if (
            t.claim is not None
            and await self._c("idempotency_keys").find_one(_claim_filter(t.claim), session=session)
            is None
        ):
            raise ClaimLost(t.claim.scope, t.claim.key)
        if (
            t.event_id is not None
            and await self._c("processed_events").find_one({"_id": t.event_id}, session=session)
            is not None
        ):
            raise DuplicateError(f"event {t.event_id} was processed already")
        for table, where in t.absent:
            found = await self._c(table).find_one(_filter(table, where), session=session)
            if found is not None:
                raise ConditionFailed(table, found["_id"])
        for change in t.changes:
            check_change(change)
            if (
                await self._c(change.table).find_one(_change_filter(change), session=session)
                is None
            ):
                raise ConditionFailed(change.table, change.id)
        nets = net_postings(t.movement) if t.movement is not None else {}
        for (owner_id, account, currency), delta in nets.items():
            if account in GUARDED_ACCOUNTS and delta < 0:
                doc = await self._c("ledger_accounts").find_one(
                    {"_id": _account_id(owner_id, account, currency)}, session=session
                )
                if (doc["balance"] if doc else 0) + delta < 0:
                    raise InsufficientBalance(owner_id, account, currency)
        # 2. Writes: any failure aborts the transaction, and all of them with it.
        if t.claim is not None:
            await self._c("idempotency_keys").update_one(
                _claim_filter(t.claim), {"$set": {"status": 1}}, session=session
            )
        if t.event_id is not None:
            await self._c("processed_events").insert_one(
                {"_id": t.event_id, "processed_at": utc_now_iso()}, session=session
            )
        for record in t.inserts:
            await self._c(TABLE_OF[type(record)]).insert_one(to_doc(record), session=session)
        changed = [await self._change(change, session) for change in t.changes]
        for bulk in t.bulk:
            check_change(bulk)
            query = _filter(bulk.table, bulk.where)
            if bulk.exclude_id is not None:
                query["_id"] = {"$ne": bulk.exclude_id}
            await self._c(bulk.table).update_many(query, _update(bulk.set), session=session)
        if t.movement is not None:
            await self._move(t.movement, nets, session)
        return changed

    async def _change(self, change: Change, session: AsyncClientSession) -> Any:
        doc = await self._c(change.table).find_one_and_update(
            _change_filter(change),
            _update(change.set, change.add),
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if doc is None:
            raise ConditionFailed(change.table, change.id)
        return from_doc(record_of(change.table), doc)

    async def _move(
        self,
        movement: MovementRecord,
        nets: dict[tuple[str, str, str], int],
        session: AsyncClientSession,
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
                session=session,
            )
            query: dict[str, Any] = {"_id": account_id}
            if account in GUARDED_ACCOUNTS:
                query["balance"] = {"$gte": -delta}
            result = await accounts.update_one(query, {"$inc": {"balance": delta}}, session=session)
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
            session=session,
        )
        await self._c("ledger_entries").insert_many(
            [to_doc(entry) for entry in entries_of(movement)], session=session
        )

    # Reads

    async def bid_partners(self, user_id: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        others = list(user_ids)
        cursor = self._c("bids").find(
            {
                "$or": [
                    {"owner_id": user_id, "freelancer_id": {"$in": others}},
                    {"freelancer_id": user_id, "owner_id": {"$in": others}},
                ]
            },
            {"owner_id": 1, "freelancer_id": 1},
        )
        return {
            doc["freelancer_id"] if doc["owner_id"] == user_id else doc["owner_id"]
            async for doc in cursor
        }

    async def _get(self, record_type: type[R], row_id: str) -> R | None:
        return from_doc(record_type, await self._c(TABLE_OF[record_type]).find_one({"_id": row_id}))

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
        if query.bidder_id is not None:  # the (freelancer_id, owner_id) index of bids
            bids = self._c("bids").find({"freelancer_id": query.bidder_id}, {"job_id": 1})
            conditions.append({"_id": {"$in": list({doc["job_id"] async for doc in bids})}})
        if query.budget_min is not None:
            conditions.append({"budget_max": {"$gte": query.budget_min}})
        if query.budget_max is not None:
            conditions.append({"budget_min": {"$lte": query.budget_max}})
        for word in (query.q or "").split():
            pattern = {"$regex": re.escape(word), "$options": "i"}
            conditions.append({"$or": [{"title": pattern}, {"description": pattern}]})
        for skill in query.skills:
            conditions.append({"skills": {"$regex": f"^{re.escape(skill)}$", "$options": "i"}})
        return await newest_first(
            self._c("jobs"), JobRecord, {"$and": conditions}, before=before, limit=limit
        )

    async def _ascending(
        self, record_type: type[R], where: dict[str, Any], after: str | None, limit: int
    ) -> list[R]:
        table = TABLE_OF[record_type]
        query = _filter(table, where)
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._c(table).find(query).sort("_id", ASCENDING).limit(limit)
        return [from_doc(record_type, doc) async for doc in cursor]

    async def list_reviews(
        self, subject_id: str, *, before: str | None, limit: int
    ) -> list[ReviewRecord]:
        return await newest_first(
            self._c("reviews"), ReviewRecord, {"subject_id": subject_id}, before=before, limit=limit
        )

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
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self.accounts = database["ledger_accounts"]
        self.entries_collection = database["ledger_entries"]

    async def balances(self, owner_id: str) -> list[BalanceRecord]:
        cursor = self.accounts.find({"owner_id": owner_id}).sort(
            [("currency", ASCENDING), ("account", ASCENDING)]
        )
        return [from_doc(BalanceRecord, doc) async for doc in cursor]

    async def entries(
        self, owner_id: str, *, before: str | None, limit: int
    ) -> list[LedgerEntryRecord]:
        return await newest_first(
            self.entries_collection,
            LedgerEntryRecord,
            {"owner_id": owner_id},
            before=before,
            limit=limit,
        )

    async def entry_totals(self) -> dict[str, int]:
        return await self._totals(self.entries_collection, "$amount")

    async def balance_totals(self) -> dict[str, int]:
        return await self._totals(self.accounts, "$balance")

    @staticmethod
    async def _totals(collection: AsyncCollection[Document], field: str) -> dict[str, int]:
        cursor = await collection.aggregate(
            [{"$group": {"_id": "$currency", "total": {"$sum": field}}}]
        )
        return {row["_id"]: int(row["total"]) for row in await cursor.to_list(None)}
