"""Notification settings and Web Push subscriptions (issue 18): one behaviour,
every engine.

Each test runs on SQLite and on MongoDB (the mongomock double unless
HUB_TEST_MONGODB_URL is set).
"""

from __future__ import annotations

from dataclasses import replace

from engines import add_users
from storage.interfaces import Store
from storage.records import NotificationSettingsRecord, PushSubscriptionRecord

T1 = "2024-05-01T10:00:00+00:00"
T2 = "2024-05-01T11:00:00+00:00"
T3 = "2024-05-01T12:00:00+00:00"


def subscription(sub_id: str, user_id: str, endpoint: str, at: str = T1) -> PushSubscriptionRecord:
    return PushSubscriptionRecord(
        id=sub_id,
        user_id=user_id,
        endpoint=endpoint,
        p256dh=f"key-{sub_id}",
        auth=f"auth-{sub_id}",
        created_at=at,
        updated_at=at,
        user_agent="Firefox",
    )


async def test_settings_are_none_until_put_then_replaced(store: Store) -> None:
    await add_users(store, "u1", "u2")
    assert await store.notification_settings.get("u1") is None

    first = NotificationSettingsRecord(
        "u1",
        push=False,
        email_digest_delay_s=60,
        quiet_hours={"start": "22:00", "end": "07:00", "tz": "Europe/Paris"},
        updated_at=T1,
    )
    await store.notification_settings.put(first)
    assert await store.notification_settings.get("u1") == first
    assert await store.notification_settings.get("u2") is None

    second = replace(first, push=True, email=False, quiet_hours=None, updated_at=T2)
    await store.notification_settings.put(second)
    assert await store.notification_settings.get("u1") == second


async def test_subscription_upsert_by_endpoint_keeps_one(store: Store) -> None:
    await add_users(store, "u1", "u2")
    first = subscription("s1", "u1", "https://push.example/a")
    assert await store.push_subscriptions.upsert(first) == first

    again = replace(first, id="s2", p256dh="new-key", auth="new-auth", created_at=T2, updated_at=T2)
    stored = await store.push_subscriptions.upsert(again)
    # The same endpoint: the first subscription, updated; no second one.
    expected = replace(first, p256dh="new-key", auth="new-auth", updated_at=T2)
    assert stored == expected
    assert await store.push_subscriptions.get("s1") == expected
    assert await store.push_subscriptions.get("s2") is None
    assert await store.push_subscriptions.list_for_users(["u1"]) == [expected]

    # Another user signs in on that browser: the endpoint moves to them.
    moved = await store.push_subscriptions.upsert(
        replace(first, id="s3", user_id="u2", updated_at=T3, user_agent=None)
    )
    assert (moved.id, moved.user_id, moved.user_agent) == ("s1", "u2", None)
    assert await store.push_subscriptions.list_for_users(["u1"]) == []


async def test_subscriptions_listed_per_users_oldest_first_and_deleted(store: Store) -> None:
    await add_users(store, "u1", "u2", "u3")
    a = await store.push_subscriptions.upsert(subscription("s1", "u1", "https://p/1", T2))
    b = await store.push_subscriptions.upsert(subscription("s2", "u1", "https://p/2", T1))
    c = await store.push_subscriptions.upsert(subscription("s3", "u2", "https://p/3", T3))
    await store.push_subscriptions.upsert(subscription("s4", "u3", "https://p/4", T1))

    assert await store.push_subscriptions.list_for_users(["u1", "u2"]) == [b, a, c]
    assert await store.push_subscriptions.list_for_users([]) == []

    assert await store.push_subscriptions.delete("s1") is True
    assert await store.push_subscriptions.delete("s1") is False
    assert await store.push_subscriptions.get("s1") is None
    assert await store.push_subscriptions.list_for_users(["u1"]) == [b]
