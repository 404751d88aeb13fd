"""Request bodies, queries and response shapes of the marketplace REST API.

Money is an int of minor units from 1 to 10^12 (strict: ``1.0``, ``"1"`` and
``true`` are refused) with an ISO 4217 ``currency`` the hub is configured for.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..accounts.models import Skill
from ..schema import Body, Cursor, Limit, Query, configured

MAX_AMOUNT = 10**12

Amount = Annotated[int, Field(ge=1, le=MAX_AMOUNT, description="Minor units (cents)")]
# Which currencies is a setting (HUB_CURRENCIES): Market.check_currency refuses the
# others (422), and the OpenAPI document lists them as the enum.
Currency = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code, one the hub is configured for",
        json_schema_extra=configured("currencies"),
    ),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Skills = Annotated[list[Skill], Field(max_length=50)]

JobStatus = Literal["draft", "open", "awarded", "in_progress", "completed", "cancelled"]
BidStatus = Literal[
    "pending", "shortlisted", "awarded", "accepted", "rejected", "withdrawn", "declined"
]
MilestoneStatus = Literal[
    "funded", "release_requested", "released", "cancelled", "disputed", "resolved"
]


# Requests


class CreateJob(Body):
    title: Title
    description: LongText
    skills: Skills = Field(default_factory=list)
    budget_min: Amount
    budget_max: Amount
    currency: Currency
    type: Literal["fixed", "hourly"]
    publish: bool = False


class UpdateJob(Body):
    """Only the fields sent change (owner; ``draft`` or ``open``; currency only in ``draft``)."""

    # A default of None with a non-optional type: omitting is fine, sending null is not.
    title: Title = None  # type: ignore[assignment]
    description: LongText = None  # type: ignore[assignment]
    skills: Skills = None  # type: ignore[assignment]
    budget_min: Amount = None  # type: ignore[assignment]
    budget_max: Amount = None  # type: ignore[assignment]
    currency: Currency = None  # type: ignore[assignment]
    type: Literal["fixed", "hourly"] = None  # type: ignore[assignment]


class JobListQuery(Query):
    q: Annotated[str, Field(max_length=200)] | None = None
    status: JobStatus | None = None
    # Kept short enough that the whole query string, percent-encoded, fits the
    # HTTP server's 8 KiB request line.
    skills: (
        Annotated[str, Field(max_length=300, description="Comma-separated; all must match")] | None
    ) = None
    budget_min: Annotated[int, Field(ge=0, le=MAX_AMOUNT)] | None = None
    budget_max: Annotated[int, Field(ge=0, le=MAX_AMOUNT)] | None = None
    owner_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    bidder_id: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=64,
                description="Jobs this user has a bid on, in any bid status: only the "
                "caller's own id (who bid on what is private; another id is 403)",
            ),
        ]
        | None
    ) = None
    cursor: Cursor | None = None
    limit: Limit = 20


class PageQuery(Query):
    cursor: Cursor | None = None
    limit: Limit = 20


class CreateBid(Body):
    amount: Amount
    currency: Currency
    period_days: Annotated[int, Field(ge=1, le=3650)]
    proposal: LongText


class UpdateBid(Body):
    """Only the fields sent change (the bidder, while ``pending``)."""

    amount: Amount = None  # type: ignore[assignment]
    period_days: Annotated[int, Field(ge=1, le=3650)] = None  # type: ignore[assignment]
    proposal: LongText = None  # type: ignore[assignment]


class CreateMilestone(Body):
    amount: Amount
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ]


class ReleaseMilestone(Body):
    """No body, ``{}`` or ``{"amount": null}`` releases everything still held."""

    amount: Amount | None = None


# A side's dispute note (what went wrong, in its words), for the moderator who
# resolves the dispute and for the other side.
DisputeNoteText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]


class DisputeMilestone(Body):
    """No body or ``{}`` disputes without a note; ``note`` is the disputing side's."""

    note: DisputeNoteText | None = None


class WriteDisputeNote(Body):
    """The caller's side's note on a disputed milestone (replaces their earlier one)."""

    note: DisputeNoteText


class ResolveMilestone(Body):
    freelancer_amount: Annotated[int, Field(ge=0, le=MAX_AMOUNT)]


class CreateReview(Body):
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


class CreateDeposit(Body):
    amount: Amount
    currency: Currency
    payment_method: Annotated[str, Field(min_length=1, max_length=100)]


class CreatePayout(Body):
    amount: Amount
    currency: Currency
    destination: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=100,
                description="Provider payout destination (sandbox: ba_ok, the default, or ba_fail)",
            ),
        ]
        | None
    ) = None


class WebhookData(BaseModel):
    """Strict (no "2500" or 2500.0 for an amount); unknown fields are ignored."""

    model_config = ConfigDict(strict=True)

    id: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Amount
    currency: Currency
    provider_ref: Annotated[str, Field(max_length=200)] | None = None
    failure_reason: Annotated[str, Field(max_length=200)] | None = None


class WebhookEvent(BaseModel):
    model_config = ConfigDict(strict=True)

    id: Annotated[str, Field(min_length=1, max_length=100)]
    type: Literal["deposit.succeeded", "deposit.failed", "payout.paid", "payout.failed"]
    created: int
    data: WebhookData


# Responses


class Job(BaseModel):
    id: str
    owner_id: str
    title: str
    description: str
    skills: list[str]
    budget_min: int
    budget_max: int
    currency: str
    type: Literal["fixed", "hourly"]
    status: JobStatus
    awarded_bid_id: str | None
    freelancer_id: str | None
    created_at: str
    updated_at: str
    published_at: str | None


class JobPage(BaseModel):
    items: list[Job]
    next_cursor: str | None


class Bid(BaseModel):
    id: str
    job_id: str
    freelancer_id: str
    amount: int
    currency: str
    period_days: int
    proposal: str
    status: BidStatus
    conversation_id: str | None
    created_at: str
    updated_at: str


class BidPage(BaseModel):
    items: list[Bid]
    next_cursor: str | None


class MilestoneNote(BaseModel):
    """One side's dispute note: who wrote it, the text, when it was last written."""

    user_id: str
    text: str
    updated_at: str


class Milestone(BaseModel):
    id: str
    job_id: str
    owner_id: str
    freelancer_id: str
    amount: int
    currency: str
    description: str
    status: MilestoneStatus
    held: int = Field(description="Still in escrow")
    released: int = Field(description="Released to the freelancer, platform fees included")
    fee: int = Field(description="Platform fees taken from what was released")
    refunded: int = Field(description="Returned to the owner")
    created_at: str
    updated_at: str
    owner_note: MilestoneNote | None = Field(
        default=None, description="The owner's dispute note, the latest it wrote; null: none"
    )
    freelancer_note: MilestoneNote | None = Field(
        default=None, description="The freelancer's dispute note, the latest; null: none"
    )


class MilestonePage(BaseModel):
    items: list[Milestone]
    next_cursor: str | None


class Review(BaseModel):
    id: str
    job_id: str
    author_id: str
    subject_id: str
    rating: int
    comment: str
    created_at: str


class ReviewPage(BaseModel):
    items: list[Review]
    next_cursor: str | None
    average: float | None = Field(description="Mean rating, 2 decimals; null without reviews")
    count: int


class Balance(BaseModel):
    currency: str
    available: int
    held: int


class Wallet(BaseModel):
    balances: list[Balance]


class LedgerRef(BaseModel):
    type: str
    id: str


class LedgerEntry(BaseModel):
    id: str
    movement_id: str
    account: Literal["available", "held"]
    amount: int = Field(description="Signed: positive credits the caller's balance")
    currency: str
    kind: str
    ref: LedgerRef
    created_at: str


class LedgerPage(BaseModel):
    items: list[LedgerEntry]
    next_cursor: str | None


class Deposit(BaseModel):
    id: str
    amount: int
    currency: str
    payment_method: str
    provider: str
    status: Literal["pending", "succeeded", "failed"]
    failure_reason: str | None
    created_at: str
    updated_at: str


class Payout(BaseModel):
    id: str
    amount: int
    currency: str
    destination: str
    provider: str
    status: Literal["pending", "paid", "failed"]
    failure_reason: str | None
    created_at: str
    updated_at: str


class WebhookAck(BaseModel):
    received: bool
    duplicate: bool = Field(description="True when this event id was processed before")
