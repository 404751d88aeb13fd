"""Issue 18's done-when for webhooks: ``python -m hub serve`` is SIGKILLed with
100 events in its outbox (the receiver was failing them); after a restart on
the same database each is delivered (at least once: the receiver dedups by
X-Hub-Delivery), none lost, in order, signed. Then a clean stop (SIGTERM)
right after more sends loses nothing either."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from processes import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RunningHub,
    create_admin,
    hub_env,
    register,
    running_hub,
)
from waits import eventually
from webhook_receiver import Receiver, receiving

pytestmark = pytest.mark.slow  # hub processes

SECRET = "webhooks-restart-secret-that-is-long-enough-0123456789"
COUNT = 100
TIMEOUT = aiohttp.ClientTimeout(total=10)


async def call(
    session: aiohttp.ClientSession,
    hub: RunningHub,
    method: str,
    path: str,
    token: str,
    body: Any = None,
) -> Any:
    async with session.request(
        method, hub.url("/api/v1" + path), json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status < 300, (path, response.status, await response.text())
        return await response.json(content_type=None)


def pending(database: Path) -> int:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT COUNT(*) FROM webhook_outbox WHERE status = 'pending'").fetchone()
        return int(row[0])


def check_delivered(receiver: Receiver, secret: str, sent: list[dict[str, Any]]) -> None:
    receiver.check_signatures(secret)
    bodies = list(receiver.accepted.values())
    assert [b["data"]["message"]["id"] for b in bodies] == [m["id"] for m in sent]
    assert all(b["type"] == "message.created" for b in bodies)


async def test_sigkill_with_100_events_in_the_outbox_loses_none(tmp_path: Path) -> None:
    env = hub_env(
        tmp_path,
        jwt_secret=SECRET,
        webhook_allow_private="on",
        webhook_backoff_base_s=0.05,
        webhook_backoff_max_s=0.2,
        webhook_poll_s=0.05,
        webhook_timeout_s=2,
        webhook_refresh_s=0.5,
    )
    database = tmp_path / "hub.db"
    await create_admin(tmp_path, env)
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        receiving(status=503) as receiver,  # failing everything, for now
    ):
        async with running_hub(tmp_path, env, "first") as hub:
            async with session.post(
                hub.url("/api/v1/auth/login"),
                json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            ) as response:
                admin = (await response.json())["access_token"]
            endpoint = await call(
                session,
                hub,
                "POST",
                "/admin/webhooks",
                admin,
                {"url": receiver.url, "events": ["message.created"]},
            )
            ann, bob = await register(session, hub, "ann"), await register(session, hub, "bob")
            token = ann["access_token"]
            conversation = await call(
                session,
                hub,
                "POST",
                "/conversations",
                token,
                {"participant_ids": [bob["user"]["id"]]},
            )
            path = f"/conversations/{conversation['id']}/messages"
            sent = [
                await call(session, hub, "POST", path, token, {"text": f"m{n}"})
                for n in range(COUNT)
            ]
            await eventually(lambda: pending(database), lambda n: n == COUNT, timeout=20)
            await eventually(lambda: len(receiver.requests), lambda n: n >= 2, timeout=20)
            await hub.kill()

        assert pending(database) == COUNT
        assert receiver.accepted == {}
        # The receiver comes back, failing its next two deliveries.
        receiver.fail_first, receiver.status = len(receiver.requests) + 2, 200

        async with running_hub(tmp_path, env, "second") as hub:
            await eventually(
                lambda: len(receiver.accepted),
                lambda n: n == COUNT,
                timeout=60,
                message=lambda: hub.output(),
            )
            check_delivered(receiver, endpoint["secret"], sent)
            await eventually(lambda: pending(database), lambda n: n == 0, timeout=20)

            # More sends, then at once a clean stop: what was queued is written.
            more = [
                await call(session, hub, "POST", path, token, {"text": f"late {n}"})
                for n in range(10)
            ]
            assert await hub.stop() == 0

        async with running_hub(tmp_path, env, "third"):
            await eventually(lambda: len(receiver.accepted), lambda n: n == COUNT + 10, timeout=60)
            check_delivered(receiver, endpoint["secret"], sent + more)
        # At least once: a resend (say, of the entry in flight at the kill) is
        # the same event, with the same X-Hub-Delivery.
        deliveries = {r.delivery for r in receiver.requests}
        assert deliveries == set(receiver.accepted)
