"""Reports and the append-only audit log on SQLite (issue 20)."""

from __future__ import annotations

from typing import Any

from ..records import AuditRecord, BidRecord, MilestoneRecord, ReportRecord
from ..schema import check_changes
from .database import Database
from .ops import fetch_record, fetch_records, insert, newest_first, update

OPEN_BID_STATUSES = ("pending", "shortlisted")


class SqliteReportStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, report: ReportRecord) -> None:
        await insert(self.db, "reports", report)  # UNIQUE (reporter, target): DuplicateError

    async def get(self, report_id: str) -> ReportRecord | None:
        return await fetch_record(
            self.db, ReportRecord, "SELECT * FROM reports WHERE id = ?", (report_id,)
        )

    async def find(self, reporter_id: str, target_type: str, target_id: str) -> ReportRecord | None:
        return await fetch_record(
            self.db,
            ReportRecord,
            "SELECT * FROM reports WHERE reporter_id = ? AND target_type = ? AND target_id = ?",
            (reporter_id, target_type, target_id),
        )

    async def queue(
        self, *, status: str | None, before: str | None, limit: int
    ) -> list[ReportRecord]:
        where, params = (["status = ?"], [status]) if status is not None else ([], [])
        return await newest_first(
            self.db, ReportRecord, "reports", where, params, before=before, limit=limit
        )

    async def resolve(self, report_id: str, changes: dict[str, Any]) -> ReportRecord | None:
        check_changes(ReportRecord, changes, {"id"})
        changed = await update(
            self.db,
            "reports",
            ReportRecord,
            changes,
            "id = :_id AND status = 'open'",
            {"_id": report_id},
        )
        return await self.get(report_id) if changed == 1 else None

    async def disputed_milestones(self, *, before: str | None, limit: int) -> list[MilestoneRecord]:
        return await newest_first(
            self.db,
            MilestoneRecord,
            "milestones",
            ["status = 'disputed'"],
            [],
            before=before,
            limit=limit,
        )

    async def open_bids_of(self, freelancer_id: str) -> list[BidRecord]:
        return await fetch_records(
            self.db,
            BidRecord,
            "SELECT * FROM bids WHERE freelancer_id = ? AND status IN (?, ?) ORDER BY id",
            (freelancer_id, *OPEN_BID_STATUSES),
        )


class SqliteAuditLogStore:
    """Append-only: the table's triggers refuse UPDATE and DELETE too."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(self, entry: AuditRecord) -> None:
        await insert(self.db, "audit_log", entry)

    async def entries(
        self,
        *,
        actor_id: str | None,
        target_id: str | None,
        before: str | None,
        limit: int,
    ) -> list[AuditRecord]:
        where: list[str] = []
        params: list[Any] = []
        if actor_id is not None:
            where.append("actor_id = ?")
            params.append(actor_id)
        if target_id is not None:
            where.append("target_id = ?")
            params.append(target_id)
        return await newest_first(
            self.db, AuditRecord, "audit_log", where, params, before=before, limit=limit
        )
