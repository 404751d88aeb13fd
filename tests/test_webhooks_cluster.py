"""Outbound webhooks with two hub processes on one database (issue 18): both
workers poll the same outbox, and the leases make each event reach the
endpoint once, in the order its process wrote it, whichever process
delivers it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from processes import ADMIN_EMAIL, ADMIN_PASSWORD, create_admin, hub_env
from test_cluster import running_cluster
from test_webhooks_restart import TIMEOUT, call
from waits import eventually
from webhook_receiver import receiving

pytestmark = [pytest.mark.slow, pytest.mark.redis]  # two hub processes and a redis-server

COUNT = 30
FAST = {
    "webhook_allow_private": "on",
    "webhook_backoff_base_s": 0.05,
    "webhook_backoff_max_s": 0.2,
    "webhook_poll_s": 0.02,
    "webhook_refresh_s": 0.2,
}


async def test_two_processes_deliver_each_event_once_in_each_processs_order(tmp_path: Path) -> None:
    async with (
        running_cluster(tmp_path, 2, **FAST) as cluster,
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        receiving(fail_first=2) as receiver,
    ):
        a, b = cluster.hubs
        await create_admin(tmp_path, hub_env(tmp_path))
        async with session.post(
            a.url("/api/v1/auth/login"), json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ) as response:
            admin = (await response.json())["access_token"]
        body = {"url": receiver.url, "events": ["message.created"]}
        endpoint = await call(session, a, "POST", "/admin/webhooks", admin, body)
        ann, bob = [await cluster.register(name) for name in ("ann", "bob")]
        token = ann["access_token"]
        participants = {"participant_ids": [bob["user"]["id"]]}
        conversation = await call(session, a, "POST", "/conversations", token, participants)
        path = f"/conversations/{conversation['id']}/messages"

        # On purpose: b's cached endpoint list is re-read every 0.2 s.
        await asyncio.sleep(0.6)
        sent = [
            await call(session, (a, b)[n % 2], "POST", path, token, {"text": f"m{n}"})
            for n in range(COUNT)
        ]

        await eventually(lambda: len(receiver.accepted), lambda n: n == COUNT, timeout=30)
        receiver.check_signatures(endpoint["secret"])
        ids = [body["data"]["message"]["id"] for body in receiver.accepted.values()]
        assert sorted(ids) == sorted(m["id"] for m in sent)
        # In the order each process wrote its events: the messages one process
        # took keep their order (across processes, their batches interleave).
        for first in (0, 1):
            mine = [m["id"] for m in sent[first::2]]
            assert [i for i in ids if i in mine] == mine
        # Once each: the two failed attempts were retried, nothing else twice.
        deliveries = [r.delivery for r in receiver.requests]
        assert len(deliveries) == COUNT + 2
        assert deliveries[:2] == deliveries[1:3]  # the first event, failed twice
