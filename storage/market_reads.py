"""The marketplace reads that are the same on every engine."""

from __future__ import annotations

from typing import Any

from .records import BidRecord, DepositRecord, JobRecord, MilestoneRecord, PayoutRecord


class MarketReads:
    """Reads that are one engine primitive each. An engine's market store
    inherits them and supplies ``_get`` (one record by id) and ``_ascending``
    (records matching ``where``, oldest id first, after a cursor)."""

    async def _get(self, table: str, row_id: str) -> Any:
        raise NotImplementedError

    async def _ascending(
        self, table: str, where: dict[str, Any], after: str | None, limit: int
    ) -> list[Any]:
        raise NotImplementedError

    async def get_job(self, job_id: str) -> JobRecord | None:
        return await self._get("jobs", job_id)

    async def get_bid(self, bid_id: str) -> BidRecord | None:
        return await self._get("bids", bid_id)

    async def list_bids(
        self,
        job_id: str,
        *,
        freelancer_id: str | None = None,
        status: list[str] | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[BidRecord]:
        where: dict[str, Any] = {"job_id": job_id}
        if freelancer_id is not None:
            where["freelancer_id"] = freelancer_id
        if status is not None:
            where["status"] = list(status)
        return await self._ascending("bids", where, after, limit)

    async def get_milestone(self, milestone_id: str) -> MilestoneRecord | None:
        return await self._get("milestones", milestone_id)

    async def list_milestones(
        self, job_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[MilestoneRecord]:
        return await self._ascending("milestones", {"job_id": job_id}, after, limit)

    async def get_deposit(self, deposit_id: str) -> DepositRecord | None:
        return await self._get("deposits", deposit_id)

    async def get_payout(self, payout_id: str) -> PayoutRecord | None:
        return await self._get("payouts", payout_id)
