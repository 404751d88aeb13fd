"""Marketplace, ledger, notification and idempotency-reservation stores: one
behaviour, every engine.

Each test runs on SQLite and on MongoDB (the mongomock double unless
HUB_TEST_MONGODB_URL is set). ``MarketStore.apply`` is one multi-document
transaction on MongoDB; the double runs it all or nothing (it puts the
collections back when the callback fails) but without isolation, so "a failed
apply writes nothing" is checked here on every engine, while concurrent
transactions on MongoDB (write conflicts and their retries) need a real
replica set (see tests/mongo_double.py).
"""

from __future__ import annotations

import asyncio

import pytest

from engines import add_users
from storage.errors import ConditionFailed, DuplicateError, InsufficientBalance, UnbalancedMovement
from storage.interfaces import Store
from storage.records import (
    BidRecord,
    BulkChange,
    Change,
    DepositRecord,
    JobQuery,
    JobRecord,
    MilestoneRecord,
    MovementRecord,
    NotificationRecord,
    Posting,
    ReviewRecord,
    Transition,
)

T0 = "2024-05-01T10:00:00.000Z"
T1 = "2024-05-01T11:00:00.000Z"
T2 = "2024-05-01T12:00:00.000Z"
USERS = ["client1", "client2", "free1", "free2"]


@pytest.fixture(autouse=True)
async def users(store: Store) -> None:
    await add_users(store, *USERS)


def job(job_id: str, owner: str = "client1", **extra: object) -> JobRecord:
    values: dict[str, object] = dict(
        id=job_id,
        owner_id=owner,
        title="Build a compiler",
        description="Details inside",
        budget_min=1000,
        budget_max=5000,
        currency="USD",
        type="fixed",
        status="open",
        created_at=T0,
        updated_at=T0,
        skills=["Rust", "LLVM"],
    )
    values.update(extra)
    return JobRecord(**values)  # type: ignore[arg-type]


def bid(bid_id: str, job_id: str = "j1", freelancer: str = "free1", **extra: object) -> BidRecord:
    values: dict[str, object] = dict(
        id=bid_id,
        job_id=job_id,
        owner_id="client1",
        freelancer_id=freelancer,
        amount=3000,
        currency="USD",
        period_days=7,
        proposal="Me",
        status="pending",
        created_at=T0,
        updated_at=T0,
        active_key=f"{job_id}:{freelancer}",
    )
    values.update(extra)
    return BidRecord(**values)  # type: ignore[arg-type]


def milestone(milestone_id: str, amount: int = 1000, **extra: object) -> MilestoneRecord:
    values: dict[str, object] = dict(
        id=milestone_id,
        job_id="j1",
        owner_id="client1",
        freelancer_id="free1",
        amount=amount,
        currency="USD",
        description="Part",
        status="funded",
        held=amount,
        created_at=T0,
        updated_at=T0,
    )
    values.update(extra)
    return MilestoneRecord(**values)  # type: ignore[arg-type]


def movement(
    movement_id: str, *postings: tuple[str, str, int], currency: str = "USD", kind: str = "test"
) -> MovementRecord:
    return MovementRecord(
        id=movement_id,
        kind=kind,
        ref_type="test",
        ref_id=movement_id,
        created_at=T1,
        postings=[
            Posting(owner, account, currency, amount, kind) for owner, account, amount in postings
        ],
    )


def deposit_of(user: str, amount: int, movement_id: str, currency: str = "USD") -> MovementRecord:
    return movement(
        movement_id,
        ("provider:sandbox", "external", -amount),
        (user, "available", amount),
        currency=currency,
        kind="deposit",
    )


async def balances(store: Store, owner: str) -> dict[tuple[str, str], int]:
    return {(b.currency, b.account): b.balance for b in await store.ledger.balances(owner)}


# Inserts and reads


async def test_inserted_records_read_back_with_every_field(store: Store) -> None:
    records = [
        job("j1"),
        bid("b1"),
        milestone("m1"),
        ReviewRecord("r1", "j1", "client1", "free1", 5, "Great", T1),
        DepositRecord("d1", "client1", 500, "USD", "pm_card_ok", "sandbox", "pending", T0, T0),
    ]
    await store.market.apply(Transition(inserts=records))

    assert await store.market.get_job("j1") == records[0]
    assert await store.market.get_bid("b1") == records[1]
    assert await store.market.get_milestone("m1") == records[2]
    assert await store.market.list_reviews("free1", before=None, limit=10) == [records[3]]
    assert await store.market.get_deposit("d1") == records[4]
    assert await store.market.get_job("missing") is None
    assert await store.market.get_payout("missing") is None


async def test_one_active_bid_per_freelancer_and_job(store: Store) -> None:
    await store.market.apply(Transition(inserts=[job("j1"), bid("b1")]))

    with pytest.raises(DuplicateError):
        await store.market.apply(Transition(inserts=[bid("b2")]))
    assert await store.market.get_bid("b2") is None
    # Another freelancer, or another job, is fine.
    await store.market.apply(Transition(inserts=[bid("b3", freelancer="free2")]))
    # Once the first bid is no longer active, the freelancer may bid again.
    await store.market.apply(
        Transition(
            changes=[
                Change(
                    "bids", "b1", {"status": "pending"}, {"status": "withdrawn", "active_key": None}
                )
            ]
        )
    )
    await store.market.apply(Transition(inserts=[bid("b4")]))
    assert (await store.market.get_bid("b4")).active_key == "j1:free1"  # type: ignore[union-attr]


async def test_review_once_per_author_and_job(store: Store) -> None:
    await store.market.apply(Transition(inserts=[job("j1")]))
    await store.market.apply(
        Transition(inserts=[ReviewRecord("r1", "j1", "client1", "free1", 4, "Good", T1)])
    )
    with pytest.raises(DuplicateError):
        await store.market.apply(
            Transition(
                inserts=[ReviewRecord("r2", "j1", "client1", "free1", 1, "Changed my mind", T2)]
            )
        )
    await store.market.apply(
        Transition(inserts=[ReviewRecord("r3", "j1", "free1", "client1", 5, "Paid on time", T2)])
    )
    await store.market.apply(
        Transition(inserts=[job("j2"), ReviewRecord("r4", "j2", "client1", "free1", 3, "OK", T2)])
    )

    assert await store.market.review_stats("free1") == (2, 7)
    assert await store.market.review_stats("client1") == (1, 5)
    assert await store.market.review_stats("free2") == (0, 0)
    page = await store.market.list_reviews("free1", before=None, limit=1)
    assert [r.id for r in page] == ["r4"]
    assert [r.id for r in await store.market.list_reviews("free1", before="r4", limit=5)] == ["r1"]


# Conditional changes


async def test_change_applies_only_in_the_expected_state_and_counts_versions(store: Store) -> None:
    await store.market.apply(Transition(inserts=[job("j1", status="draft")]))

    await store.market.apply(
        Transition(
            changes=[
                Change("jobs", "j1", {"status": ["draft"]}, {"status": "open", "published_at": T1})
            ]
        )
    )
    opened = await store.market.get_job("j1")
    assert opened is not None
    assert (opened.status, opened.published_at, opened.version) == ("open", T1, 1)

    with pytest.raises(ConditionFailed) as failed:
        await store.market.apply(
            Transition(changes=[Change("jobs", "j1", {"status": "draft"}, {"status": "open"})])
        )
    assert (failed.value.table, failed.value.row_id) == ("jobs", "j1")
    with pytest.raises(ConditionFailed):
        await store.market.apply(
            Transition(
                changes=[Change("jobs", "nope", {"status": "open"}, {"status": "cancelled"})]
            )
        )
    # The version can be part of the condition (optimistic concurrency).
    with pytest.raises(ConditionFailed):
        await store.market.apply(
            Transition(changes=[Change("jobs", "j1", {"version": 0}, {"title": "stale"})])
        )
    await store.market.apply(
        Transition(changes=[Change("jobs", "j1", {"version": 1}, {"skills": ["Go"]})])
    )
    changed = await store.market.get_job("j1")
    assert changed is not None and (changed.skills, changed.version, changed.title) == (
        ["Go"],
        2,
        "Build a compiler",
    )


async def test_a_failed_change_writes_nothing_of_the_transition(store: Store) -> None:
    await store.market.apply(
        Transition(
            inserts=[job("j1"), milestone("m1")], movement=deposit_of("client1", 5000, "mv1")
        )
    )

    with pytest.raises(ConditionFailed):
        await store.market.apply(
            Transition(
                inserts=[milestone("m2")],
                changes=[
                    Change("jobs", "j1", {"status": "open"}, {"status": "awarded"}),
                    Change("milestones", "m1", {"status": "disputed"}, {"status": "resolved"}),
                ],
                movement=movement("mv2", ("client1", "available", -100), ("client1", "held", 100)),
                event_id="evt-1",
            )
        )

    assert (await store.market.get_job("j1")).status == "open"  # type: ignore[union-attr]
    assert await store.market.get_milestone("m2") is None
    assert await balances(store, "client1") == {("USD", "available"): 5000}
    # The event was not marked processed either.
    await store.market.apply(
        Transition(
            event_id="evt-1",
            changes=[Change("jobs", "j1", {"status": "open"}, {"status": "awarded"})],
        )
    )


async def test_an_insert_on_a_taken_key_writes_nothing_of_the_transition(store: Store) -> None:
    """The unique index refuses an insert after the event marker and another
    insert were written: they are undone with it."""
    await store.market.apply(
        Transition(inserts=[job("j1"), bid("b1")], movement=deposit_of("client1", 5000, "mv1"))
    )

    with pytest.raises(DuplicateError):
        await store.market.apply(
            Transition(
                event_id="evt-1",
                inserts=[job("j2"), bid("b2")],  # b2: free1 has an active bid on j1 already
                changes=[Change("jobs", "j1", {"status": "open"}, {"status": "awarded"})],
                movement=movement("mv2", ("client1", "available", -100), ("client1", "held", 100)),
            )
        )

    assert await store.market.get_job("j2") is None
    assert await store.market.get_bid("b2") is None
    j1 = await store.market.get_job("j1")
    assert j1 is not None and j1.status == "open"
    assert await balances(store, "client1") == {("USD", "available"): 5000}
    await store.market.apply(Transition(event_id="evt-1"))  # not marked processed


async def test_bulk_change_and_absent_check(store: Store) -> None:
    await store.market.apply(
        Transition(
            inserts=[
                job("j1"),
                bid("b1"),
                bid("b2", freelancer="free2", status="shortlisted"),
                bid("b3", freelancer="client2", status="withdrawn", active_key=None),
            ]
        )
    )

    await store.market.apply(
        Transition(
            changes=[Change("bids", "b1", {"status": "pending"}, {"status": "accepted"})],
            bulk=[
                BulkChange(
                    "bids",
                    {"job_id": "j1", "status": ["pending", "shortlisted"]},
                    {"status": "rejected", "active_key": None},
                    exclude_id="b1",
                )
            ],
        )
    )
    statuses = {b.id: (b.status, b.version) for b in await store.market.list_bids("j1")}
    assert statuses == {"b1": ("accepted", 1), "b2": ("rejected", 1), "b3": ("withdrawn", 0)}

    await store.market.apply(
        Transition(inserts=[milestone("m1", status="released", held=0, released=1000)])
    )
    open_states = ["funded", "release_requested", "disputed"]
    await store.market.apply(
        Transition(
            absent=[("milestones", {"job_id": "j1", "status": open_states})],
            changes=[Change("jobs", "j1", {"status": "open"}, {"status": "completed"})],
        )
    )
    await store.market.apply(Transition(inserts=[milestone("m2")]))
    with pytest.raises(ConditionFailed):
        await store.market.apply(
            Transition(
                absent=[("milestones", {"job_id": "j1", "status": open_states})],
                changes=[Change("jobs", "j1", {"status": "completed"}, {"status": "cancelled"})],
            )
        )
    assert (await store.market.get_job("j1")).status == "completed"  # type: ignore[union-attr]


# The ledger


async def test_movements_update_balances_and_write_entries(store: Store) -> None:
    await store.market.apply(Transition(movement=deposit_of("client1", 10_000, "mv1")))
    await store.market.apply(Transition(movement=deposit_of("client1", 700, "mv2", "EUR")))
    await store.market.apply(
        Transition(
            movement=movement("mv3", ("client1", "available", -4000), ("client1", "held", 4000))
        )
    )
    await store.market.apply(
        Transition(
            movement=movement(
                "mv4",
                ("client1", "held", -4000),
                ("free1", "available", 3600),
                ("platform", "fee", 400),
            )
        )
    )
    # Postings of one account in one movement are checked on their net.
    await store.market.apply(
        Transition(
            movement=movement(
                "mv5",
                ("free1", "available", -3600),
                ("free1", "available", 3600),
                ("free1", "held", 1),
                ("free1", "held", -1),
            )
        )
    )

    assert await balances(store, "client1") == {
        ("EUR", "available"): 700,
        ("USD", "available"): 6000,
        ("USD", "held"): 0,
    }
    assert await balances(store, "free1") == {("USD", "available"): 3600}
    assert await balances(store, "platform") == {("USD", "fee"): 400}
    assert await balances(store, "provider:sandbox") == {
        ("EUR", "external"): -700,
        ("USD", "external"): -10_000,
    }
    assert await store.ledger.entry_totals() == {"USD": 0, "EUR": 0}
    assert await store.ledger.balance_totals() == {"USD": 0, "EUR": 0}

    entries = await store.ledger.entries("client1", before=None, limit=100)
    assert [e.movement_id for e in entries] == ["mv4", "mv3", "mv3", "mv2", "mv1"]
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    by_currency: dict[str, int] = {}
    for entry in entries:
        by_currency[entry.currency] = by_currency.get(entry.currency, 0) + entry.amount
        assert entry.owner_id == "client1" and entry.ref_type == "test"
    assert by_currency == {"USD": 6000, "EUR": 700}
    first = await store.ledger.entries("client1", before=None, limit=2)
    rest = await store.ledger.entries("client1", before=first[-1].id, limit=100)
    assert first + rest == entries


async def test_unbalanced_movements_are_refused(store: Store) -> None:
    for bad in [
        movement("mv1", ("client1", "available", 100)),
        movement("mv2", ("provider:sandbox", "external", -100), ("client1", "available", 99)),
        MovementRecord(
            "mv3",
            "x",
            "t",
            "t",
            T1,
            [
                Posting("p", "external", "USD", -100, "x"),
                Posting("client1", "available", "EUR", 100, "x"),
            ],
        ),
        movement("mv4", ("a", "external", 0), ("b", "external", 0)),
        movement("mv5"),
    ]:
        with pytest.raises(UnbalancedMovement):
            await store.market.apply(Transition(inserts=[job("j-" + bad.id)], movement=bad))
        assert await store.market.get_job("j-" + bad.id) is None
    assert await store.ledger.balances("client1") == []


async def test_available_and_held_never_go_below_zero(store: Store) -> None:
    await store.market.apply(
        Transition(inserts=[job("j1")], movement=deposit_of("client1", 1000, "mv1"))
    )

    with pytest.raises(InsufficientBalance) as failed:
        await store.market.apply(
            Transition(
                inserts=[milestone("m1", amount=1001)],
                changes=[Change("jobs", "j1", {"status": "open"}, {"status": "in_progress"})],
                movement=movement(
                    "mv2", ("client1", "available", -1001), ("client1", "held", 1001)
                ),
            )
        )
    assert (failed.value.owner_id, failed.value.account, failed.value.currency) == (
        "client1",
        "available",
        "USD",
    )
    assert await store.market.get_milestone("m1") is None
    assert (await store.market.get_job("j1")).status == "open"  # type: ignore[union-attr]
    with pytest.raises(InsufficientBalance):
        await store.market.apply(
            Transition(
                movement=movement("mv3", ("client1", "held", -1), ("client1", "available", 1))
            )
        )
    with pytest.raises(InsufficientBalance):  # an account that does not exist yet holds 0
        await store.market.apply(
            Transition(movement=movement("mv4", ("free2", "available", -1), ("platform", "fee", 1)))
        )

    await store.market.apply(
        Transition(
            movement=movement("mv5", ("client1", "available", -1000), ("client1", "held", 1000))
        )
    )
    assert await balances(store, "client1") == {("USD", "available"): 0, ("USD", "held"): 1000}
    assert [e.movement_id for e in await store.ledger.entries("client1", before=None, limit=9)] == [
        "mv5",
        "mv5",
        "mv1",
    ]


async def test_an_event_is_processed_once(store: Store) -> None:
    await store.market.apply(
        Transition(event_id="evt_1", movement=deposit_of("client1", 500, "mv1"))
    )
    with pytest.raises(DuplicateError):
        await store.market.apply(
            Transition(event_id="evt_1", movement=deposit_of("client1", 500, "mv2"))
        )
    assert await balances(store, "client1") == {("USD", "available"): 500}


async def test_concurrent_conditional_payouts_pay_once(store: Store) -> None:
    await store.market.apply(
        Transition(
            inserts=[job("j1"), milestone("m1", amount=1000)],
            movement=movement(
                "mv0", ("provider:sandbox", "external", -1000), ("client1", "held", 1000)
            ),
        )
    )

    async def release(n: int) -> str:
        try:
            await store.market.apply(
                Transition(
                    changes=[
                        Change(
                            "milestones",
                            "m1",
                            {"status": ["funded"]},
                            {"status": "released", "held": 0, "released": 1000},
                        )
                    ],
                    movement=movement(
                        f"mv-{n:03d}",
                        ("client1", "held", -1000),
                        ("free1", "available", 900),
                        ("platform", "fee", 100),
                    ),
                )
            )
        except ConditionFailed:
            return "lost"
        return "won"

    results = await asyncio.gather(*(release(n) for n in range(50)))

    assert results.count("won") == 1
    assert await balances(store, "free1") == {("USD", "available"): 900}
    assert await store.ledger.entry_totals() == {"USD": 0}
    assert (await store.market.get_milestone("m1")).version == 1  # type: ignore[union-attr]


async def test_increments_apply_to_what_the_row_holds_when_they_commit(store: Store) -> None:
    """Partial releases: ``add`` under an ``at_least`` condition, each on what is
    held when it commits, so concurrent ones all pass while enough is held;
    apply returns each changed row as its transaction left it."""
    await store.market.apply(
        Transition(
            inserts=[job("j1"), milestone("m1", amount=100)],
            movement=movement(
                "mv0", ("provider:sandbox", "external", -100), ("client1", "held", 100)
            ),
        )
    )

    async def take(n: int) -> MilestoneRecord | None:
        try:
            [row] = await store.market.apply(
                Transition(
                    changes=[
                        Change(
                            "milestones",
                            "m1",
                            {"status": "funded"},
                            {},
                            add={"held": -7, "released": 7},
                            at_least={"held": 7},
                        )
                    ],
                    movement=movement(
                        f"mv-{n:03d}", ("client1", "held", -7), ("free1", "available", 7)
                    ),
                )
            )
        except ConditionFailed:
            return None
        return row

    rows = await asyncio.gather(*(take(n) for n in range(20)))
    taken = sorted((row.held, row.released) for row in rows if row is not None)
    # 14 pass (98 of 100), each row exactly as its own increment left it.
    assert taken == sorted((100 - 7 * n, 7 * n) for n in range(1, 15))
    assert await balances(store, "free1") == {("USD", "available"): 98}
    final = await store.market.get_milestone("m1")
    assert final is not None and (final.held, final.released, final.version) == (2, 98, 14)
    with pytest.raises(ValueError):
        await store.market.apply(
            Transition(changes=[Change("milestones", "m1", {}, {}, add={"version": 1})])
        )


# Queries


async def test_job_search_filters_and_pages(store: Store) -> None:
    await store.market.apply(
        Transition(
            inserts=[
                job("j1", title="Rust compiler", skills=["Rust"], budget_min=100, budget_max=500),
                job(
                    "j2",
                    title="Logo design",
                    description="A 50% bigger logo",
                    skills=["design"],
                    budget_min=50,
                    budget_max=80,
                    status="completed",
                ),
                job(
                    "j3",
                    owner="client2",
                    title="Website",
                    description="rust backend",
                    skills=["rust", "css"],
                    budget_min=1000,
                    budget_max=2000,
                ),
                job("j4", owner="client2", title="Secret draft", status="draft"),
                job("j5", title="My draft", status="draft", skills=[]),
                job("j6", title="Deleted draft", status="deleted", skills=[]),
            ]
        )
    )

    async def ids(viewer: str = "client1", **filters: object) -> list[str]:
        found = await store.market.search_jobs(
            JobQuery(viewer_id=viewer, **filters), before=None, limit=50
        )  # type: ignore[arg-type]
        return [j.id for j in found]

    assert await ids() == ["j5", "j3", "j2", "j1"]
    assert await ids("client2") == ["j4", "j3", "j2", "j1"]
    assert await ids(status="open") == ["j3", "j1"]
    assert await ids(status="draft") == ["j5"]
    assert await ids(q="RUST") == ["j3", "j1"]
    assert await ids(q="rust compiler") == ["j1"]
    assert await ids(q="50%") == ["j2"]
    assert await ids(q="%") == ["j2"]
    assert await ids(q="_") == []
    assert await ids(skills=["rust"]) == ["j3", "j1"]
    assert await ids(skills=["rust", "CSS"]) == ["j3"]
    assert await ids(skills=["ru"]) == []
    # Budget filters keep the jobs whose range overlaps [budget_min, budget_max].
    assert await ids(budget_min=600) == ["j5", "j3"]
    assert await ids(budget_max=90) == ["j2"]
    assert await ids(budget_min=90, budget_max=1000) == ["j5", "j3", "j1"]
    assert await ids(budget_min=2001, budget_max=4000) == ["j5"]
    assert await ids(owner_id="client2") == ["j3"]
    assert await ids("client2", owner_id="client2") == ["j4", "j3"]
    page = await store.market.search_jobs(JobQuery(viewer_id="client1"), before="j3", limit=1)
    assert [j.id for j in page] == ["j2"]


async def test_search_jobs_by_bidder(store: Store) -> None:
    """The jobs a freelancer has a bid on, in any bid status (several bids on one job
    list it once), newest first, with the other filters and the cursor."""
    await store.market.apply(
        Transition(
            inserts=[
                job("j1"),
                job("j2", status="in_progress"),
                job("j3", owner="client2", title="Website"),
                job("j4"),
                bid("b1", job_id="j1", status="withdrawn", active_key=None),
                bid("b2", job_id="j1"),
                bid("b3", job_id="j2", status="accepted"),
                bid("b4", job_id="j3", owner_id="client2", status="rejected", active_key=None),
                bid("b5", job_id="j4", freelancer="free2"),
            ]
        )
    )

    async def ids(bidder: str, before: str | None = None, **filters: object) -> list[str]:
        # (the filters are JobQuery fields of several types: mypy sees only object)
        query = JobQuery(viewer_id=bidder, bidder_id=bidder, **filters)  # type: ignore[arg-type]
        return [j.id for j in await store.market.search_jobs(query, before=before, limit=50)]

    assert await ids("free1") == ["j3", "j2", "j1"]
    assert await ids("free2") == ["j4"]
    assert await ids("client1") == []
    assert await ids("free1", status="in_progress") == ["j2"]
    assert await ids("free1", owner_id="client2") == ["j3"]
    assert await ids("free1", q="website") == ["j3"]
    assert await ids("free1", before="j3") == ["j2", "j1"]
    page = await store.market.search_jobs(
        JobQuery(viewer_id="free1", bidder_id="free1"), before=None, limit=1
    )
    assert [j.id for j in page] == ["j3"]


async def test_bid_and_milestone_lists(store: Store) -> None:
    await store.market.apply(
        Transition(
            inserts=[
                job("j1"),
                job("j2"),
                bid("b1"),
                bid("b2", freelancer="free2", status="shortlisted"),
                bid("b3", job_id="j2"),
                milestone("m1"),
                milestone("m2"),
                milestone("m3", job_id="j2"),
            ]
        )
    )

    assert [b.id for b in await store.market.list_bids("j1")] == ["b1", "b2"]
    assert [b.id for b in await store.market.list_bids("j1", freelancer_id="free2")] == ["b2"]
    assert [b.id for b in await store.market.list_bids("j1", status=["pending"])] == ["b1"]
    assert [b.id for b in await store.market.list_bids("j1", after="b1", limit=5)] == ["b2"]
    assert [b.id for b in await store.market.list_bids("j1", limit=1)] == ["b1"]
    assert [m.id for m in await store.market.list_milestones("j1")] == ["m1", "m2"]
    assert [m.id for m in await store.market.list_milestones("j1", after="m1")] == ["m2"]


async def test_dispute_notes_one_per_side_while_disputed(store: Store) -> None:
    """Each side's dispute note is written with the dispute or later, only
    while the milestone is disputed; a side's new note replaces its own and
    leaves the other side's alone; the dispute queue reads them back."""
    await store.market.apply(Transition(inserts=[job("j1"), milestone("m1")]))
    fresh = await store.market.get_milestone("m1")
    assert fresh is not None
    assert (fresh.owner_note, fresh.owner_note_at) == (None, None)
    assert (fresh.freelancer_note, fresh.freelancer_note_at) == (None, None)

    def noting(expect: str, side: str, text: str, at: str, **more: object) -> Transition:
        written = {f"{side}_note": text, f"{side}_note_at": at, "updated_at": at, **more}
        return Transition(changes=[Change("milestones", "m1", {"status": expect}, written)])

    [disputed] = await store.market.apply(
        noting("funded", "freelancer", "Scope changed", T1, status="disputed")
    )
    assert (disputed.status, disputed.freelancer_note, disputed.freelancer_note_at) == (
        "disputed",
        "Scope changed",
        T1,
    )
    await store.market.apply(noting("disputed", "owner", "Work is late", T1))
    [changed] = await store.market.apply(noting("disputed", "freelancer", "Scope changed 2x", T2))
    assert (changed.owner_note, changed.owner_note_at) == ("Work is late", T1)
    assert (changed.freelancer_note, changed.freelancer_note_at) == ("Scope changed 2x", T2)
    assert changed.version == 3
    assert await store.market.get_milestone("m1") == changed
    [queued] = await store.reports.disputed_milestones(before=None, limit=10)
    assert (queued.owner_note, queued.freelancer_note) == ("Work is late", "Scope changed 2x")

    await store.market.apply(
        Transition(
            changes=[Change("milestones", "m1", {"status": "disputed"}, {"status": "resolved"})]
        )
    )
    with pytest.raises(ConditionFailed):
        await store.market.apply(noting("disputed", "owner", "Too late", T2))
    resolved = await store.market.get_milestone("m1")
    assert resolved is not None and (resolved.status, resolved.owner_note) == (
        "resolved",
        "Work is late",
    )


# Notifications


async def test_notifications_inbox(store: Store) -> None:
    for n in range(1, 5):
        await store.notifications.create(
            NotificationRecord(f"n{n}", "free1", "bid.awarded", {"bid_id": f"b{n}", "n": n}, T0)
        )
    await store.notifications.create(NotificationRecord("n9", "free2", "x", {}, T0))

    listed = await store.notifications.list("free1", unread_only=False, before=None, limit=10)
    assert [n.id for n in listed] == ["n4", "n3", "n2", "n1"]
    assert listed[0].data == {"bid_id": "b4", "n": 4} and listed[0].read_at is None
    assert await store.notifications.unread_count("free1") == 4

    read = await store.notifications.mark_read("n3", T1)
    assert read is not None and read.read_at == T1
    again = await store.notifications.mark_read("n3", T2)
    assert again is not None and again.read_at == T1
    assert await store.notifications.mark_read("missing", T1) is None
    unread = await store.notifications.list("free1", unread_only=True, before="n4", limit=10)
    assert [n.id for n in unread] == ["n2", "n1"]

    assert await store.notifications.mark_all_read("free1", T2) == 3
    assert await store.notifications.unread_count("free1") == 0
    assert await store.notifications.unread_count("free2") == 1
    assert (await store.notifications.get("n3")).read_at == T1  # type: ignore[union-attr]
