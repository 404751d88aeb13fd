"""Notification settings per user and quiet hours (issue 18):
``GET|PATCH /users/me/notification-settings`` on each engine, and
``in_quiet_hours`` on its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engines import ON_BOTH_ENGINES
from hub.offline.preferences import in_quiet_hours
from storage.records import NotificationSettingsRecord
from users import Users

PATH = "/users/me/notification-settings"
DEFAULTS = {"push": True, "email": True, "email_digest_delay_s": 900, "quiet_hours": None}


@ON_BOTH_ENGINES
async def test_defaults_then_changes_that_stay_per_user(users: Users) -> None:
    ann, bob = await users("ann", "bob")
    assert await ann.ok("GET", PATH) == DEFAULTS

    quiet = {"start": "22:00", "end": "07:30", "tz": "Europe/Paris"}
    changed = await ann.ok("PATCH", PATH, {"push": False, "quiet_hours": quiet})
    assert changed == {**DEFAULTS, "push": False, "quiet_hours": quiet}
    assert await ann.ok("GET", PATH) == changed
    assert await bob.ok("GET", PATH) == DEFAULTS  # one user's settings only

    # Fields left out stay; quiet_hours: null clears them.
    again = await ann.ok("PATCH", PATH, {"email_digest_delay_s": 60, "quiet_hours": None})
    assert again == {**DEFAULTS, "push": False, "email_digest_delay_s": 60}
    assert await ann.ok("PATCH", PATH, {}) == again


@pytest.mark.hub_settings(email_digest_delay_s=120)
async def test_the_digest_delay_defaults_to_the_setting(users: Users) -> None:
    (ann,) = await users("ann")
    assert (await ann.ok("GET", PATH))["email_digest_delay_s"] == 120


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quiet_hours": {"start": "22:00", "end": "07:00", "tz": "Mars/Olympus"}}, "tz"),
        ({"quiet_hours": {"start": "22:00", "end": "07:00", "tz": "../../etc/passwd"}}, "tz"),
        ({"quiet_hours": {"start": "24:00", "end": "07:00", "tz": "UTC"}}, "start"),
        ({"quiet_hours": {"start": "22:00", "end": "7:00", "tz": "UTC"}}, "end"),
        ({"quiet_hours": {"start": "22:00", "tz": "UTC"}}, "end"),
        ({"push": "yes"}, "push"),
        ({"email_digest_delay_s": -1}, "email_digest_delay_s"),
        ({"sms": True}, "sms"),
    ],
)
async def test_bad_settings_are_validation_failed(users: Users, body: dict, field: str) -> None:
    (ann,) = await users("ann")
    problem = await ann.fails("PATCH", PATH, body, status=422, code="validation_failed")
    assert any(f["field"].endswith(field) for f in problem["details"]["fields"]), problem
    assert await ann.ok("GET", PATH) == DEFAULTS


def quiet(start: str, end: str, tz: str = "UTC") -> NotificationSettingsRecord:
    return NotificationSettingsRecord("u1", quiet_hours={"start": start, "end": end, "tz": tz})


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 1, 15, hour, minute, tzinfo=UTC)


def test_quiet_hours_within_a_day() -> None:
    settings = quiet("12:00", "14:00")
    assert not in_quiet_hours(settings, at(11, 59))
    assert in_quiet_hours(settings, at(12, 0))
    assert in_quiet_hours(settings, at(13, 59))
    assert not in_quiet_hours(settings, at(14, 0))


def test_quiet_hours_across_midnight() -> None:
    settings = quiet("22:00", "07:00")
    assert in_quiet_hours(settings, at(23, 30))
    assert in_quiet_hours(settings, at(0, 0))
    assert in_quiet_hours(settings, at(6, 59))
    assert not in_quiet_hours(settings, at(7, 0))
    assert not in_quiet_hours(settings, at(21, 59))


def test_quiet_hours_in_the_users_zone() -> None:
    # 22:00-07:00 in Tokyo (UTC+9) is 13:00-22:00 UTC.
    settings = quiet("22:00", "07:00", "Asia/Tokyo")
    assert in_quiet_hours(settings, at(13, 0))
    assert not in_quiet_hours(settings, at(12, 59))
    assert not in_quiet_hours(settings, at(23, 0))
    # New York in summer is UTC-4: 22:00 local is 02:00 UTC.
    summer = quiet("22:00", "23:00", "America/New_York")
    assert in_quiet_hours(summer, datetime(2024, 7, 1, 2, 30, tzinfo=UTC))
    assert not in_quiet_hours(summer, datetime(2024, 1, 1, 2, 30, tzinfo=UTC))  # UTC-5 then


def test_no_quiet_hours_or_an_empty_range_is_never_quiet() -> None:
    assert not in_quiet_hours(NotificationSettingsRecord("u1"), at(3))
    assert not in_quiet_hours(quiet("08:00", "08:00"), at(8))
    assert not in_quiet_hours(quiet("22:00", "07:00", "Gone/Zone"), at(23))
