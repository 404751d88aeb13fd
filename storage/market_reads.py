"""The marketplace reads that are the same on every engine."""

from __future__ import annotations

from typing import Any, TypeVar

from .records import BidRecord, DepositRecord, JobRecord, MilestoneRecord, PayoutRecord

R = TypeVar("R")


class MarketReads:
    """Reads that are one engine primitive each. An engine's market store
    inherits them and supplies ``_get`` (one record by id) and ``_ascending``
    (records matching ``where``, oldest id first, after a cursor), both of a
    record type of ``storage.schema.TABLE_OF``."""

    async def _get(self, record_type: type[R], row_id: str) -> R | None:
        raise NotImplementedError

    async def _ascending(
        self, record_type: type[R], where: dict[str, Any], after: str | None, limit: int
    ) -> list[R]:
        raise NotImplementedError

    async def get_job(self, job_id: str) -> JobRecord | None:
        return await self._get(JobRecord, job_id)

    async def get_bid(self, bid_id: str) -> BidRecord | None:
        return await self._get(BidRecord, bid_id)

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
        return await self._ascending(BidRecord, where, after, limit)

    async def bids_between(
        self, owner_id: str, freelancer_id: str, *, status: list[str], limit: int = 1
    ) -> list[BidRecord]:
        return await self._ascending(
            BidRecord,
            {"owner_id": owner_id, "freelancer_id": freelancer_id, "status": list(status)},
            None,
            limit,
        )

    async def get_milestone(self, milestone_id: str) -> MilestoneRecord | None:
        return await self._get(MilestoneRecord, milestone_id)

    async def list_milestones(
        self, job_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[MilestoneRecord]:
        return await self._ascending(MilestoneRecord, {"job_id": job_id}, after, limit)

    async def get_deposit(self, deposit_id: str) -> DepositRecord | None:
        return await self._get(DepositRecord, deposit_id)

    async def get_payout(self, payout_id: str) -> PayoutRecord | None:
        return await self._get(PayoutRecord, payout_id)
