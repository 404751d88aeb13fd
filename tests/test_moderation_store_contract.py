"""Reports, the audit log and suspensions (issue 20), one behaviour on every
engine: each test runs on SQLite and on MongoDB."""

from __future__ import annotations

import pytest

from engines import add_users
from storage import DuplicateError
from storage.interfaces import Store
from storage.records import AuditRecord, DirectoryQuery, ReportRecord, UserListQuery

T0 = "2024-05-01T10:00:00.000Z"
T1 = "2024-05-01T11:00:00.000Z"
T2 = "2024-05-01T12:00:00.000Z"


def report(report_id: str, reporter: str = "u1", target: str = "u2") -> ReportRecord:
    return ReportRecord(
        id=report_id,
        reporter_id=reporter,
        target_type="user",
        target_id=target,
        reason="spam",
        created_at=T0,
        subject_id=target,
    )


async def test_one_report_per_reporter_and_target(store: Store) -> None:
    await add_users(store, "u1", "u2", "u3")
    await store.reports.create(report("r1"))
    with pytest.raises(DuplicateError):
        await store.reports.create(report("r2"))
    await store.reports.create(report("r3", reporter="u3"))
    assert await store.reports.get("r1") == report("r1")
    assert await store.reports.find("u1", "user", "u2") == report("r1")
    assert await store.reports.find("u1", "message", "u2") is None
    assert [r.id for r in await store.reports.queue(status="open", before=None, limit=10)] == [
        "r3",
        "r1",
    ]


async def test_a_report_is_resolved_once(store: Store) -> None:
    await add_users(store, "u1", "u2")
    await store.reports.create(report("r1"))
    done = {"status": "resolved", "action": "ban", "resolved_by": "a", "resolved_at": T1}
    resolved = await store.reports.resolve("r1", done)
    assert resolved is not None and resolved.status == "resolved" and resolved.action == "ban"
    assert await store.reports.resolve("r1", {**done, "action": "dismiss"}) is None
    assert await store.reports.resolve("missing", done) is None
    assert await store.reports.queue(status="open", before=None, limit=10) == []
    assert [r.id for r in await store.reports.queue(status=None, before=None, limit=10)] == ["r1"]


async def test_the_audit_log_filters_by_actor_and_target_newest_first(store: Store) -> None:
    entries = [
        AuditRecord("e1", "a1", "ban", "user", "u1", T0, "spam", {"report_id": "r1"}),
        AuditRecord("e2", "a2", "warn", "user", "u2", T1),
        AuditRecord("e3", "a1", "unban", "user", "u2", T2),
    ]
    for entry in entries:
        await store.audit.append(entry)
    assert await store.audit.entries(actor_id=None, target_id=None, before=None, limit=10) == [
        entries[2],
        entries[1],
        entries[0],
    ]
    assert [
        e.id
        for e in await store.audit.entries(actor_id="a1", target_id=None, before=None, limit=10)
    ] == ["e3", "e1"]
    assert [
        e.id
        for e in await store.audit.entries(actor_id="a1", target_id="u2", before=None, limit=10)
    ] == ["e3"]
    assert [
        e.id for e in await store.audit.entries(actor_id=None, target_id=None, before="e3", limit=1)
    ] == ["e2"]
    assert not hasattr(store.audit, "update") and not hasattr(store.audit, "delete")


async def test_banned_and_suspended_users_leave_the_directory(store: Store) -> None:
    await add_users(store, "viewer", "banned", "suspended", "was_suspended", "plain")
    await store.users.update("banned", {"banned_at": T0})
    await store.users.update("suspended", {"suspended_until": T2})
    await store.users.update("was_suspended", {"suspended_until": T0})
    found = await store.users.directory(
        DirectoryQuery(viewer_id="viewer", now=T1), after=None, limit=10
    )
    assert [u.id for u in found] == ["plain", "was_suspended"]
    user = await store.users.get("suspended")
    assert user is not None and user.suspended_until == T2 and user.banned_at is None


async def test_the_admins_user_list_has_every_state_newest_first(store: Store) -> None:
    # Ids in creation order, as the hub's ULIDs are.
    await add_users(store, "u1_plain", "u2_banned", "u3_suspended", "u4_was_suspended", "u5_both")
    await store.users.update("u2_banned", {"banned_at": T0, "display_name": "Mallory"})
    await store.users.update("u3_suspended", {"suspended_until": T2, "role": "freelancer"})
    await store.users.update("u4_was_suspended", {"suspended_until": T0, "skills": ["Go", "SQL"]})
    await store.users.update("u5_both", {"banned_at": T0, "suspended_until": T2})

    async def ids(before: str | None = None, limit: int = 10, **filters: object) -> list[str]:
        # (the filters are UserListQuery fields of several types: mypy sees only object)
        query = UserListQuery(now=T1, **filters)  # type: ignore[arg-type]
        return [u.id for u in await store.users.listed(query, before=before, limit=limit)]

    everyone = ["u5_both", "u4_was_suspended", "u3_suspended", "u2_banned", "u1_plain"]
    assert await ids() == everyone
    assert await ids(status="banned") == ["u5_both", "u2_banned"]
    assert await ids(status="suspended") == ["u3_suspended"]
    assert await ids(status="active") == ["u4_was_suspended", "u1_plain"]
    assert await ids(role="freelancer") == ["u3_suspended"]
    assert await ids(status="active", role="freelancer") == []
    # Words: each in the name, the headline, a skill or the email, any case.
    assert await ids(words=["mALLo"]) == ["u2_banned"]
    assert await ids(words=["u3_SUSPENDED@EXAMPLE"]) == ["u3_suspended"]
    assert await ids(words=["sql", "u4"]) == ["u4_was_suspended"]
    assert await ids(words=["sql", "u1"]) == []
    assert await ids(words=["%"]) == [] and await ids(words=[".*"]) == []
    assert await ids(words=["example.com"], status="banned") == ["u5_both", "u2_banned"]
    # Pages: strictly before the cursor's id.
    assert await ids(limit=2) == everyone[:2]
    assert await ids(before="u4_was_suspended", limit=2) == everyone[2:4]
    assert await ids(before="u1_plain") == []
