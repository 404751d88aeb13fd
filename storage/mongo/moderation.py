"""Reports and the append-only audit log on MongoDB (issue 20)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from ..records import AuditRecord, BidRecord, MilestoneRecord, ReportRecord
from ..schema import check_changes
from .codec import Document, from_doc, to_doc
from .ops import insert, newest_first

OPEN_BID_STATUSES = ["pending", "shortlisted"]


class MongoReportStore:
    """Reports keyed by ``_id``, unique on (reporter, target type, target id);
    also reads the market's ``milestones`` and ``bids`` collections."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        milestones: AsyncCollection[Document],
        bids: AsyncCollection[Document],
    ) -> None:
        self.collection = collection
        self.milestones = milestones
        self.bids = bids

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("reporter_id", ASCENDING), ("target_type", ASCENDING), ("target_id", ASCENDING)],
            unique=True,
        )
        await self.collection.create_index([("status", ASCENDING), ("_id", DESCENDING)])
        await self.bids.create_index([("freelancer_id", ASCENDING), ("status", ASCENDING)])

    async def create(self, report: ReportRecord) -> None:
        await insert(self.collection, to_doc(report))

    async def get(self, report_id: str) -> ReportRecord | None:
        return from_doc(ReportRecord, await self.collection.find_one({"_id": report_id}))

    async def find(self, reporter_id: str, target_type: str, target_id: str) -> ReportRecord | None:
        doc = await self.collection.find_one(
            {"reporter_id": reporter_id, "target_type": target_type, "target_id": target_id}
        )
        return from_doc(ReportRecord, doc)

    async def queue(
        self, *, status: str | None, before: str | None, limit: int
    ) -> list[ReportRecord]:
        query: Document = {"status": status} if status is not None else {}
        return await newest_first(self.collection, ReportRecord, query, before=before, limit=limit)

    async def resolve(self, report_id: str, changes: dict[str, Any]) -> ReportRecord | None:
        check_changes(ReportRecord, changes, {"id"})
        doc = await self.collection.find_one_and_update(
            {"_id": report_id, "status": "open"},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return from_doc(ReportRecord, doc)

    async def disputed_milestones(self, *, before: str | None, limit: int) -> list[MilestoneRecord]:
        return await newest_first(
            self.milestones, MilestoneRecord, {"status": "disputed"}, before=before, limit=limit
        )

    async def open_bids_of(self, freelancer_id: str) -> list[BidRecord]:
        cursor = self.bids.find(
            {"freelancer_id": freelancer_id, "status": {"$in": OPEN_BID_STATUSES}}
        ).sort("_id", ASCENDING)
        return [from_doc(BidRecord, doc) async for doc in cursor]


class MongoAuditLogStore:
    """Append-only: this store only inserts and reads."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("actor_id", ASCENDING), ("_id", DESCENDING)])
        await self.collection.create_index([("target_id", ASCENDING), ("_id", DESCENDING)])

    async def append(self, entry: AuditRecord) -> None:
        await insert(self.collection, to_doc(entry))

    async def entries(
        self,
        *,
        actor_id: str | None,
        target_id: str | None,
        before: str | None,
        limit: int,
    ) -> list[AuditRecord]:
        query: Document = {}
        if actor_id is not None:
            query["actor_id"] = actor_id
        if target_id is not None:
            query["target_id"] = target_id
        return await newest_first(self.collection, AuditRecord, query, before=before, limit=limit)
