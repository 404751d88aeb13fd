"""Outbound webhooks in the store (issue 18): one behaviour, every engine.

Each test runs on SQLite and on MongoDB (the mongomock double unless
HUB_TEST_MONGODB_URL is set).
"""

from __future__ import annotations

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
