"""Moderation (issue 20): the queue, the reported message's context, actions,
suspension and ban, unban, the dispute queue and the audit log, on a real hub."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.clock import iso, utc_now
from hub.context import HUB
from market_client import hire, post_bid, post_job
from users import API, PASSWORD, User, Users

pytestmark = pytest.mark.usefixtures("users")


async def direct(a: User, b: User) -> str:
    conversation = await a.ok(
        "POST", "/conversations", {"participant_ids": [b.id], "type": "direct"}, status=201
    )
    return str(conversation["id"])


async def login_status(http: TestClient, name: str) -> tuple[int, Any]:
    response = await http.post(
        f"{API}/auth/login", json={"email": f"{name}@example.com", "password": PASSWORD}
    )
    return response.status, await response.json()


async def dropped(socket: Any, within_s: float = 2.0) -> None:
    async def gone() -> None:
        while socket.client.connected:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(gone(), within_s)


def published(app: web.Application) -> list[tuple[str, dict[str, Any]]]:
    """Every webhook event moderation publishes from now on."""
    events: list[tuple[str, dict[str, Any]]] = []
    webhooks = app[HUB].moderation.parts.webhooks
    assert webhooks is not None
    publish = webhooks.publish

    def recorded(kind: str, data: dict[str, Any]) -> None:
        if kind in ("report.created", "user.banned"):
            events.append((kind, data))
        publish(kind, data)

    webhooks.publish = recorded  # type: ignore[method-assign]
    return events


async def test_report_queue_context_ban_then_unban(
    users: Users, http: TestClient, app: web.Application
) -> None:
    events = published(app)
    (ann,) = await users("ann")
    (mal,) = await users("mal", role="freelancer")
    admin = await users.admin()
    conversation = await direct(ann, mal)
    sent = [await mal.send(conversation, f"message {i}") for i in range(30)]
    reported = sent[25]
    job = await post_job(ann)
    bid = await post_bid(mal, job)
    socket = await mal.socket()
    refresh_token = mal.account["refresh_token"]

    report = await ann.ok(
        "POST",
        "/reports",
        {"target": {"type": "message", "id": reported["id"]}, "reason": "scam", "note": "fraud"},
        status=201,
    )
    assert events[0][0] == "report.created" and events[0][1]["report"]["id"] == report["id"]
    await ann.fails("GET", "/admin/reports", status=403, code="forbidden")  # admins only

    queue = await admin.ok("GET", "/admin/reports", params={"status": "open"})
    assert [r["id"] for r in queue["items"]] == [report["id"]]

    context = await admin.ok("GET", f"/admin/reports/{report['id']}/context")
    assert context["message"]["id"] == reported["id"]
    assert context["message"]["text"] == "message 25"
    assert [m["text"] for m in context["before"]] == [f"message {i}" for i in range(5, 25)]
    assert [m["text"] for m in context["after"]] == [f"message {i}" for i in range(26, 30)]

    resolved = await admin.ok(
        "POST", f"/admin/reports/{report['id']}/resolve", {"action": "ban", "note": "scammer"}
    )
    assert (resolved["status"], resolved["action"]) == ("resolved", "ban")
    await dropped(socket)
    assert (await login_status(http, "mal"))[1]["code"] == "account_suspended"
    assert (await login_status(http, "mal"))[0] == 403
    refresh = await http.post(f"{API}/auth/refresh", json={"refresh_token": refresh_token})
    assert refresh.status in (401, 403)  # its session is revoked too
    assert (await mal.call("GET", "/users/me"))[0] == 401
    directory = await ann.ok("GET", "/users", params={"q": "mal"})
    assert directory["items"] == []
    assert (await ann.ok("GET", f"/bids/{bid['id']}"))["status"] == "withdrawn"
    assert ("user.banned", {"user_id": mal.id}) in [
        (kind, {"user_id": data.get("user_id")}) for kind, data in events
    ]
    await admin.fails(
        "POST",
        f"/admin/reports/{report['id']}/resolve",
        {"action": "dismiss"},
        status=409,
        code="conflict",
    )

    unbanned = await admin.ok("POST", f"/admin/users/{mal.id}/unban")
    assert unbanned["banned_at"] is None
    assert (await login_status(http, "mal"))[0] == 200
    assert [u["id"] for u in (await ann.ok("GET", "/users", params={"q": "mal"}))["items"]] == [
        mal.id
    ]

    audit = await admin.ok("GET", "/admin/audit", params={"actor_id": admin.id})
    steps = [(e["action"], e["target_id"]) for e in reversed(audit["items"])]
    assert steps == [
        ("report.context_read", conversation),
        ("report.ban", report["id"]),
        ("user.ban", mal.id),
        ("bids.withdraw", mal.id),
        ("user.unban", mal.id),
    ]
    for entry in audit["items"]:
        assert entry["actor_id"] == admin.id and entry["at"].endswith("Z")
    ban = next(e for e in audit["items"] if e["action"] == "user.ban")
    assert ban["reason"] == "scammer"
    about_mal = await admin.ok("GET", "/admin/audit", params={"target_id": mal.id})
    assert {e["action"] for e in about_mal["items"]} == {"user.ban", "bids.withdraw", "user.unban"}


async def test_a_suspension_needs_a_future_until_and_ends_by_itself(
    users: Users, http: TestClient, app: web.Application
) -> None:
    (sam,) = await users("sam")
    admin = await users.admin()
    past = iso(utc_now() - timedelta(minutes=1))
    await admin.fails(
        "POST",
        f"/admin/users/{sam.id}/suspend",
        {"until": past, "reason": "r"},
        status=422,
        code="validation_failed",
    )
    await admin.fails(
        "POST",
        f"/admin/users/{sam.id}/suspend",
        {"until": "tomorrow", "reason": "r"},
        status=422,
        code="validation_failed",
    )
    socket = await sam.socket()
    until = iso(utc_now() + timedelta(hours=1))
    suspended = await admin.ok(
        "POST", f"/admin/users/{sam.id}/suspend", {"until": until, "reason": "cool down"}
    )
    assert suspended["suspended_until"] == until
    await dropped(socket)
    assert (await login_status(http, "sam"))[1]["code"] == "account_suspended"

    # Once `until` has passed the user is back without an unban.
    await app[HUB].store.users.update(sam.id, {"suspended_until": past})
    assert (await login_status(http, "sam"))[0] == 200


async def test_resolve_with_suspend_needs_until_and_a_missing_report_is_404(
    users: Users,
) -> None:
    ann, bob = await users("ann", "bob")
    admin = await users.admin()
    report = await ann.ok(
        "POST", "/reports", {"target": {"type": "user", "id": bob.id}, "reason": "spam"}, status=201
    )
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    await admin.fails(
        "POST",
        f"/admin/reports/{missing}/resolve",
        {"action": "dismiss"},
        status=404,
        code="not_found",
    )
    await admin.fails("GET", f"/admin/reports/{missing}/context", status=404, code="not_found")
    await admin.fails(
        "POST",
        f"/admin/reports/{report['id']}/resolve",
        {"action": "suspend", "note": "n"},
        status=422,
        code="validation_failed",
    )
    await admin.fails(
        "POST",
        f"/admin/reports/{report['id']}/resolve",
        {"action": "suspend", "until": iso(utc_now() - timedelta(days=1))},
        status=422,
        code="validation_failed",
    )
    await admin.fails(
        "POST", f"/admin/users/{missing}/ban", {"reason": "x"}, status=404, code="not_found"
    )
    dismissed = await admin.ok(
        "POST", f"/admin/reports/{report['id']}/resolve", {"action": "dismiss", "note": "fine"}
    )
    assert dismissed["action"] == "dismiss"
    assert (await admin.ok("GET", "/admin/reports", params={"status": "open"}))["items"] == []


async def test_warn_notifies_and_delete_message_removes_it(users: Users) -> None:
    ann, bob = await users("ann", "bob")
    admin = await users.admin()
    await bob.listen()
    watcher = await ann.socket()
    conversation = await direct(ann, bob)
    message = await bob.send(conversation, "buy followers")
    first = await ann.ok(
        "POST", "/reports", {"target": {"type": "user", "id": bob.id}, "reason": "spam"}, status=201
    )
    second = await ann.ok(
        "POST",
        "/reports",
        {"target": {"type": "message", "id": message["id"]}, "reason": "spam"},
        status=201,
    )
    await admin.ok("POST", f"/admin/reports/{first['id']}/resolve", {"action": "warn", "note": "w"})
    [warning] = await bob.notified("moderation.warning")
    assert warning["data"]["report_id"] == first["id"]
    await admin.ok(
        "POST", f"/admin/reports/{second['id']}/resolve", {"action": "delete_message", "note": "d"}
    )
    [deleted] = await watcher.wait_for("message:delete")
    assert deleted["message_id"] == message["id"]
    page = await ann.ok("GET", f"/conversations/{conversation}/messages")
    assert [m["deleted"] for m in page["items"] if m["id"] == message["id"]] == [True]


async def test_role_changes_and_dispute_reads_are_audited(users: Users) -> None:
    (ann,) = await users("ann")
    admin = await users.admin()
    await admin.ok("PATCH", f"/admin/users/{ann.id}", {"role": "freelancer"})
    disputes = await admin.ok("GET", "/admin/disputes")
    assert disputes["items"] == []
    audit = await admin.ok("GET", "/admin/audit")
    actions = [e["action"] for e in audit["items"]]
    assert actions[:2] == ["disputes.read", "user.role"]
    role = audit["items"][1]
    assert role["details"] == {"previous": "client", "role": "freelancer"}
    await ann.fails("GET", "/admin/disputes", status=403, code="forbidden")
    await ann.fails("GET", "/admin/audit", status=403, code="forbidden")


async def test_a_banned_user_appears_offline_at_once(users: Users) -> None:
    ann, mal = await users("ann", "mal")
    admin = await users.admin()
    await direct(ann, mal)  # related: each may see the other's presence
    await mal.socket("/presence")
    watcher = await ann.socket("/presence")
    ack = await watcher.ok("presence:subscribe", {"user_ids": [mal.id]})
    assert ack["items"][0]["status"] == "online"

    await admin.ok("POST", f"/admin/users/{mal.id}/ban", {"reason": "spam"})

    again = await watcher.ok("presence:subscribe", {"user_ids": [mal.id]})
    assert again["items"][0]["status"] == "offline"  # not after a grace period: now


async def test_the_dispute_queue_shows_both_sides_and_resolution_is_audited(
    users: Users,
) -> None:
    (carol,) = await users("carol")
    (fred,) = await users("fred", role="freelancer")
    admin = await users.admin()
    await carol.listen()
    await fred.listen()
    await carol.deposit(50_000)
    job = await post_job(carol)
    bid = await post_bid(fred, job)
    accepted = await hire(carol, fred, bid)
    conversation = accepted["conversation_id"]
    await carol.send(conversation, "The docs are missing")
    await fred.send(conversation, "The docs were not in scope")
    milestone = await carol.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 20_000, "description": "Docs"},
        status=201,
    )
    await fred.ok("POST", f"/milestones/{milestone['id']}/dispute")

    [dispute] = (await admin.ok("GET", "/admin/disputes"))["items"]
    assert dispute["milestone"]["id"] == milestone["id"]
    assert dispute["conversation_id"] == conversation
    assert [n["text"] for n in dispute["owner_notes"]] == ["The docs are missing"]
    assert [n["text"] for n in dispute["freelancer_notes"]] == ["The docs were not in scope"]

    await admin.ok(
        "POST", f"/admin/milestones/{milestone['id']}/resolve", {"freelancer_amount": 10_000}
    )
    await carol.notified("milestone.resolved")
    await fred.notified("milestone.resolved")
    assert (await admin.ok("GET", "/admin/disputes"))["items"] == []
    audit = await admin.ok("GET", "/admin/audit", params={"target_id": milestone["id"]})
    [resolution] = audit["items"]
    assert resolution["action"] == "dispute.resolve"
    assert resolution["details"]["freelancer_amount"] == 10_000
    reads = await admin.ok("GET", "/admin/audit", params={"actor_id": admin.id})
    assert [e["action"] for e in reads["items"]].count("disputes.read") == 2


async def test_moderators_read_a_masked_message_as_it_was_written(users: Users) -> None:
    (ann,) = await users("ann")
    (mal,) = await users("mal", role="freelancer")
    admin = await users.admin()
    conversation = await direct(mal, ann)
    written = "email me at mal.dealer@gmail.com and skip the fees"
    sent = await mal.send(conversation, written)
    shown = await ann.ok("GET", f"/conversations/{conversation}/messages")
    assert [m["text"] for m in shown["items"] if m["id"] == sent["id"]] != [written]
    report = await ann.ok(
        "POST",
        "/reports",
        {"target": {"type": "message", "id": sent["id"]}, "reason": "off_platform"},
        status=201,
    )
    context = await admin.ok("GET", f"/admin/reports/{report['id']}/context")
    assert (context["message"]["text"], context["message"]["masked"]) == (written, True)


async def test_the_admins_user_list_shows_and_filters_every_moderation_state(
    users: Users, app: web.Application
) -> None:
    ann, bob, sam, old = await users("ann", "bob", "sam", "old")
    (mal,) = await users("mal", role="freelancer")
    admin = await users.admin()
    until = iso(utc_now() + timedelta(hours=1))
    past = iso(utc_now() - timedelta(minutes=1))
    await admin.ok("POST", f"/admin/users/{mal.id}/ban", {"reason": "scam"})
    await admin.ok("POST", f"/admin/users/{sam.id}/suspend", {"until": until})
    await admin.ok("POST", f"/admin/users/{old.id}/suspend", {"until": until})
    await app[HUB].store.users.update(old.id, {"suspended_until": past})  # over by itself
    await ann.fails("GET", "/admin/users", status=403, code="forbidden")
    await ann.fails("GET", f"/admin/users/{mal.id}", status=403, code="forbidden")

    async def listed(**params: Any) -> list[str]:
        page = await admin.ok("GET", "/admin/users", params=params)
        return [u["id"] for u in page["items"]]

    newest_first = [admin.id, mal.id, old.id, sam.id, bob.id, ann.id]
    assert await listed() == newest_first
    assert await listed(status="banned") == [mal.id]
    assert await listed(status="suspended") == [sam.id]
    assert await listed(status="active") == [admin.id, old.id, bob.id, ann.id]
    assert await listed(role="freelancer") == [mal.id]
    # By name or email, banned ones too (the directory hides them).
    assert await listed(q="MAL") == [mal.id]
    assert await listed(q="mal@example") == [mal.id]
    assert (await ann.ok("GET", "/users", params={"q": "mal"}))["items"] == []
    assert await listed(q="example.com", status="active", role="client") == [old.id, bob.id, ann.id]
    first = await admin.ok("GET", "/admin/users", params={"limit": 4})
    assert [u["id"] for u in first["items"]] == newest_first[:4]
    assert await listed(cursor=first["next_cursor"], limit=4) == newest_first[4:]
    await admin.fails(
        "GET", "/admin/users", params={"status": "gone"}, status=422, code="validation_failed"
    )

    page = await admin.ok("GET", "/admin/users", params={"q": "mal"})
    banned = await admin.ok("GET", f"/admin/users/{mal.id}")
    assert page["items"] == [banned]
    assert banned["banned_at"] is not None and banned["banned_at"].endswith("Z")
    assert {k: v for k, v in banned.items() if k != "banned_at"} == {
        "id": mal.id,
        "display_name": "mal",
        "email": "mal@example.com",
        "role": "freelancer",
        "created_at": mal.account["user"]["created_at"],
        "status": "banned",
        "suspended_until": None,
    }
    suspended = await admin.ok("GET", f"/admin/users/{sam.id}")
    assert (suspended["status"], suspended["suspended_until"]) == ("suspended", until)
    over = await admin.ok("GET", f"/admin/users/{old.id}")
    assert (over["status"], over["suspended_until"]) == ("active", past)
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    await admin.fails("GET", f"/admin/users/{missing}", status=404, code="not_found")

    # The actions answer the same shape; reading is not audited.
    unbanned = await admin.ok("POST", f"/admin/users/{mal.id}/unban")
    assert (unbanned["status"], unbanned["banned_at"], unbanned["email"]) == (
        "active",
        None,
        "mal@example.com",
    )
    assert await listed(status="banned") == []
    audit = await admin.ok("GET", "/admin/audit", params={"actor_id": admin.id})
    assert {e["action"] for e in audit["items"]} == {"user.ban", "user.suspend", "user.unban"}
