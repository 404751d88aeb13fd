"""Outbound webhooks in the store (issue 18): one behaviour, every engine.

Each test runs on SQLite and on MongoDB (the mongomock double unless
HUB_TEST_MONGODB_URL is set).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from storage.interfaces import Store
from storage.records import WebhookDeliveryRecord, WebhookEndpointRecord, WebhookOutboxRecord

T0 = "2024-05-01T12:00:00.000Z"
T1 = "2024-05-01T12:00:01.000Z"
T2 = "2024-05-01T12:00:02.000Z"
T3 = "2024-05-01T12:00:03.000Z"
T9 = "2024-05-01T12:00:09.000Z"


def endpoint(
    endpoint_id: str = "E1", url: str = "https://example.com/hook"
) -> WebhookEndpointRecord:
    return WebhookEndpointRecord(endpoint_id, url, ["message.*"], "s3cret", "admin", T0)


def entry(entry_id: str, endpoint_id: str = "E1", due: str = T0) -> WebhookOutboxRecord:
    return WebhookOutboxRecord(
        id=entry_id,
        endpoint_id=endpoint_id,
        event_id=f"ev-{entry_id}",
        event_type="message.created",
        body='{"id": "ev"}',
        created_at=T0,
        next_attempt_at=due,
    )


async def test_endpoints_are_created_listed_and_deleted_with_their_outbox(store: Store) -> None:
    await store.webhooks.create_endpoint(endpoint("E1"))
    await store.webhooks.create_endpoint(endpoint("E2", "https://example.org/x"))
    assert await store.webhooks.get_endpoint("E1") == endpoint("E1")
    assert [e.id for e in await store.webhooks.list_endpoints()] == ["E1", "E2"]
    await store.webhooks.enqueue([entry("A1", "E1"), entry("A2", "E2")])
    await store.webhooks.log_delivery(
        WebhookDeliveryRecord("D1", "E1", "ev", "message.created", 1, T1, 5, status_code=500)
    )

    assert await store.webhooks.delete_endpoint("E1") is True
    assert await store.webhooks.delete_endpoint("E1") is False
    assert await store.webhooks.get_endpoint("E1") is None
    assert [e.id for e in await store.webhooks.list_endpoints()] == ["E2"]
    assert await store.webhooks.deliveries("E1", before=None, limit=10) == []
    assert await store.webhooks.claim("E1", "p1", T1, T9) is None
    assert await store.webhooks.outbox_stats() == (1, T0)


async def test_claim_leases_the_oldest_pending_entry_of_the_endpoint_only(store: Store) -> None:
    await store.webhooks.create_endpoint(endpoint())
    await store.webhooks.enqueue([entry("A1"), entry("A2"), entry("A3")])

    claimed = await store.webhooks.claim("E1", "p1", T1, T3)
    assert claimed == replace(entry("A1"), lease_owner="p1", lease_until=T3)
    # One in flight per endpoint: while A1 is leased nobody gets it, nor A2.
    assert await store.webhooks.claim("E1", "p2", T2, T9) is None
    assert await store.webhooks.claim("E1", "p1", T2, T9) is None
    assert await store.webhooks.delivered("A1", "p2") is False  # not p2's lease
    assert await store.webhooks.delivered("A1", "p1") is True
    next_one = await store.webhooks.claim("E1", "p2", T2, T9)
    assert next_one is not None and next_one.id == "A2"
    assert await store.webhooks.outbox_stats() == (2, T0)


async def test_an_expired_lease_is_taken_over_and_the_old_holder_loses_it(store: Store) -> None:
    await store.webhooks.create_endpoint(endpoint())
    await store.webhooks.enqueue([entry("A1")])
    assert await store.webhooks.claim("E1", "p1", T1, T2) is not None

    taken = await store.webhooks.claim("E1", "p2", T3, T9)  # p1 died: its lease ran out
    assert taken is not None and taken.lease_owner == "p2"
    assert await store.webhooks.retry_later("A1", "p1", T9, "late") is False
    assert await store.webhooks.delivered("A1", "p1") is False
    assert await store.webhooks.delivered("A1", "p2") is True
    assert await store.webhooks.outbox_stats() == (0, None)


async def test_retry_later_counts_the_attempt_and_waits_until_due(store: Store) -> None:
    await store.webhooks.create_endpoint(endpoint())
    await store.webhooks.enqueue([entry("A1"), entry("A2")])
    await store.webhooks.claim("E1", "p1", T1, T9)

    assert await store.webhooks.retry_later("A1", "p1", T3, "HTTP 500") is True
    assert await store.webhooks.claim("E1", "p1", T2, T9) is None  # in order: A2 waits too
    again = await store.webhooks.claim("E1", "p2", T3, T9)
    assert again == replace(
        entry("A1"),
        attempts=1,
        next_attempt_at=T3,
        last_error="HTTP 500",
        lease_owner="p2",
        lease_until=T9,
    )


async def test_give_up_marks_failed_and_lets_the_next_entry_go(store: Store) -> None:
    await store.webhooks.create_endpoint(endpoint())
    await store.webhooks.enqueue([entry("A1"), entry("A2")])
    await store.webhooks.claim("E1", "p1", T1, T9)

    assert await store.webhooks.give_up("A1", "p1", "24 h of failures") is True
    assert await store.webhooks.give_up("A1", "p1", "again") is False
    assert await store.webhooks.outbox_stats() == (1, T0)
    following = await store.webhooks.claim("E1", "p1", T1, T9)
    assert following is not None and following.id == "A2"


async def test_an_entry_not_yet_due_is_not_claimed(store: Store) -> None:
    await store.webhooks.create_endpoint(endpoint())
    await store.webhooks.enqueue([entry("A1", due=T3)])
    assert await store.webhooks.claim("E1", "p1", T2, T9) is None
    assert await store.webhooks.claim("E1", "p1", T3, T9) is not None


async def test_deliveries_are_listed_newest_first_per_endpoint_and_paged(store: Store) -> None:
    for number in range(1, 6):
        await store.webhooks.log_delivery(
            WebhookDeliveryRecord(
                f"D{number}",
                "E1",
                f"ev{number}",
                "bid.created",
                number,
                T1,
                12,
                status_code=None if number == 3 else 200,
                error="timeout" if number == 3 else None,
            )
        )
    await store.webhooks.log_delivery(
        WebhookDeliveryRecord("D9", "E2", "ev", "bid.created", 1, T1, 1, status_code=200)
    )

    first = await store.webhooks.deliveries("E1", before=None, limit=2)
    assert [d.id for d in first] == ["D5", "D4"]
    rest = await store.webhooks.deliveries("E1", before="D4", limit=10)
    assert [d.id for d in rest] == ["D3", "D2", "D1"]
    assert rest[0].error == "timeout" and rest[0].status_code is None


OLD = "2024-04-01T00:00:00.000Z"
CUTOFF = "2024-04-02T00:00:00.000Z"  # the retention's start: older rows go


def delivery(delivery_id: str, at: str, endpoint_id: str = "E1") -> WebhookDeliveryRecord:
    return WebhookDeliveryRecord(
        delivery_id, endpoint_id, f"ev-{delivery_id}", "bid.created", 1, at, 3, status_code=500
    )


async def test_prune_deliveries_deletes_only_rows_older_than_the_cutoff(store: Store) -> None:
    for number in range(5):
        await store.webhooks.log_delivery(delivery(f"D{number}", OLD, f"E{number % 2}"))
    await store.webhooks.log_delivery(delivery("D8", CUTOFF))  # not older: kept
    await store.webhooks.log_delivery(delivery("D9", T1))

    # Bounded: at most ``limit`` per call, until none is left; then 0.
    assert await store.webhooks.prune_deliveries(CUTOFF, 2) == 2
    assert await store.webhooks.prune_deliveries(CUTOFF, 2) == 2
    assert await store.webhooks.prune_deliveries(CUTOFF, 2) == 1
    assert await store.webhooks.prune_deliveries(CUTOFF, 2) == 0
    assert [d.id for d in await store.webhooks.deliveries("E1", before=None, limit=10)] == [
        "D9",
        "D8",
    ]
    assert await store.webhooks.deliveries("E0", before=None, limit=10) == []


async def test_prune_failed_deletes_old_failed_entries_never_pending_ones(store: Store) -> None:
    await store.webhooks.create_endpoint(endpoint())
    old = [replace(entry(f"A{number}"), created_at=OLD) for number in range(4)]
    recent = replace(entry("B1"), created_at=T0)
    await store.webhooks.enqueue([*old, recent])
    for head in ("A0", "A1", "A2"):  # given up on; A3 is still pending
        claimed = await store.webhooks.claim("E1", "p1", T1, T9)
        assert claimed is not None and claimed.id == head
        assert await store.webhooks.give_up(head, "p1", "24 h of failures") is True
    claimed = await store.webhooks.claim("E1", "p1", T1, T9)
    assert claimed is not None and claimed.id == "A3"  # leased, in flight
    assert await store.webhooks.retry_later("A3", "p1", T2, "HTTP 500") is True
    late = await store.webhooks.claim("E1", "p1", T2, T9)
    assert late is not None and late.id == "A3"
    assert await store.webhooks.give_up("A3", "p1", "gone") is True
    newer = await store.webhooks.claim("E1", "p1", T2, T9)
    assert newer is not None and newer.id == "B1"
    assert await store.webhooks.give_up("B1", "p1", "gone") is True  # failed, but recent
    await store.webhooks.enqueue([replace(entry("C1"), created_at=OLD)])  # old, pending

    assert await store.webhooks.prune_failed(CUTOFF, 3) == 3
    assert await store.webhooks.prune_failed(CUTOFF, 3) == 1
    assert await store.webhooks.prune_failed(CUTOFF, 3) == 0
    # The old pending entry stays and is still sent; the recent failed one stays.
    assert await store.webhooks.outbox_stats() == (1, OLD)
    pending = await store.webhooks.claim("E1", "p2", T3, T9)
    assert pending is not None and pending.id == "C1"
    assert await store.webhooks.prune_failed(T9, 10) == 1  # B1, failed before T9


async def test_two_pruners_at_once_delete_each_row_once(store: Store) -> None:
    for number in range(30):
        await store.webhooks.log_delivery(delivery(f"D{number:02}", OLD))
    await store.webhooks.log_delivery(delivery("D99", T1))

    async def prune_all() -> int:
        total = 0
        while count := await store.webhooks.prune_deliveries(CUTOFF, 4):
            total += count
        return total

    first, second = await asyncio.gather(prune_all(), prune_all())
    assert first + second == 30
    assert [d.id for d in await store.webhooks.deliveries("E1", before=None, limit=50)] == ["D99"]
