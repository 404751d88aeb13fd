"""Records to wire shapes (plain dicts)."""

from __future__ import annotations

from typing import Any

from storage.records import (
    BidRecord,
    DepositRecord,
    JobRecord,
    LedgerEntryRecord,
    MilestoneRecord,
    PayoutRecord,
    ReviewRecord,
)


def job_view(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "owner_id": job.owner_id,
        "title": job.title,
        "description": job.description,
        "skills": job.skills,
        "budget_min": job.budget_min,
        "budget_max": job.budget_max,
        "currency": job.currency,
        "type": job.type,
        "status": job.status,
        "awarded_bid_id": job.awarded_bid_id,
        "freelancer_id": job.freelancer_id,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "published_at": job.published_at,
    }


def bid_view(bid: BidRecord) -> dict[str, Any]:
    return {
        "id": bid.id,
        "job_id": bid.job_id,
        "freelancer_id": bid.freelancer_id,
        "amount": bid.amount,
        "currency": bid.currency,
        "period_days": bid.period_days,
        "proposal": bid.proposal,
        "status": bid.status,
        "conversation_id": bid.conversation_id,
        "created_at": bid.created_at,
        "updated_at": bid.updated_at,
    }


def milestone_view(milestone: MilestoneRecord) -> dict[str, Any]:
    return {
        "id": milestone.id,
        "job_id": milestone.job_id,
        "owner_id": milestone.owner_id,
        "freelancer_id": milestone.freelancer_id,
        "amount": milestone.amount,
        "currency": milestone.currency,
        "description": milestone.description,
        "status": milestone.status,
        "held": milestone.held,
        "released": milestone.released,
        "fee": milestone.fee,
        "refunded": milestone.refunded,
        "created_at": milestone.created_at,
        "updated_at": milestone.updated_at,
    }


def review_view(review: ReviewRecord) -> dict[str, Any]:
    return {
        "id": review.id,
        "job_id": review.job_id,
        "author_id": review.author_id,
        "subject_id": review.subject_id,
        "rating": review.rating,
        "comment": review.comment,
        "created_at": review.created_at,
    }


def deposit_view(deposit: DepositRecord) -> dict[str, Any]:
    return {
        "id": deposit.id,
        "amount": deposit.amount,
        "currency": deposit.currency,
        "payment_method": deposit.payment_method,
        "provider": deposit.provider,
        "status": deposit.status,
        "failure_reason": deposit.failure_reason,
        "created_at": deposit.created_at,
        "updated_at": deposit.updated_at,
    }


def payout_view(payout: PayoutRecord) -> dict[str, Any]:
    return {
        "id": payout.id,
        "amount": payout.amount,
        "currency": payout.currency,
        "destination": payout.destination,
        "provider": payout.provider,
        "status": payout.status,
        "failure_reason": payout.failure_reason,
        "created_at": payout.created_at,
        "updated_at": payout.updated_at,
    }


def entry_view(entry: LedgerEntryRecord) -> dict[str, Any]:
    return {
        "id": entry.id,
        "movement_id": entry.movement_id,
        "account": entry.account,
        "amount": entry.amount,
        "currency": entry.currency,
        "kind": entry.kind,
        "ref": {"type": entry.ref_type, "id": entry.ref_id},
        "created_at": entry.created_at,
    }
