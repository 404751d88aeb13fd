"""Email digests survive a restart (issue 18): a user who went away before the
hub process was SIGKILLed still gets their one digest from the next process,
which finds the pending absence in the store. Real ``python -m hub`` processes
on one SQLite file, a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from processes import RunningHub, hub_env, register, running_hub
from smtp_server import parts, smtp_server
from waits import eventually

pytestmark = pytest.mark.slow  # hub processes

SECRET = "email-digests-restart-secret-that-is-long-enough-0123456789"
DELAY_S = 4  # long enough to kill the first process before the digest is due


def digest_state(tmp_path: Path, user_id: str) -> str | None:
    with sqlite3.connect(tmp_path / "hub.db") as db:
        row = db.execute("SELECT state FROM email_digests WHERE user_id = ?", (user_id,)).fetchone()
    return row[0] if row else None


async def post(
    session: aiohttp.ClientSession, hub: RunningHub, path: str, token: str, body: Any
) -> Any:
    async with session.post(
        hub.url("/api/v1" + path), json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status in (200, 201), await response.text()
        return await response.json()


async def test_a_pending_digest_is_sent_by_the_next_process(tmp_path: Path) -> None:
    async with smtp_server() as inbox:
        env = hub_env(
            tmp_path,
            SECRET,
            smtp_url=f"smtp://127.0.0.1:{inbox.port}",
            email_digest_delay_s=DELAY_S,
            email_digest_poll_s=0.1,
            presence_grace_s=0.1,
            presence_sweep_interval_s=0.05,
            rate_limits="off",
        )
        async with aiohttp.ClientSession() as session:
            async with running_hub(tmp_path, env, "first") as first:
                ann = await register(session, first, "ann")
                bob = await register(session, first, "bob")
                conversation = await post(
                    session,
                    first,
                    "/conversations",
                    bob["access_token"],
                    {"participant_ids": [ann["user"]["id"]]},
                )
                client = socketio.AsyncClient(reconnection=False)
                await client.connect(
                    first.base,
                    namespaces=["/conversations"],
                    auth={"token": ann["access_token"]},
                    transports=["websocket"],
                    wait_timeout=5,
                )
                await client.disconnect()
                await eventually(lambda: digest_state(tmp_path, ann["user"]["id"]))
                await post(
                    session,
                    first,
                    f"/conversations/{conversation['id']}/messages",
                    bob["access_token"],
                    {"text": "ping"},
                )
                await first.kill()
                assert digest_state(tmp_path, ann["user"]["id"]) == "pending"
                assert inbox.mails == []

            async with running_hub(tmp_path, env, "second"):
                await eventually(lambda: inbox.mails, timeout=DELAY_S + 10)
                [mail] = inbox.mails
                assert mail["To"] == "ann@example.com"
                text, _ = parts(mail)
                assert "- bob: 1 unread" in text
                await eventually(
                    lambda: digest_state(tmp_path, ann["user"]["id"]), lambda s: s == "sent"
                )
