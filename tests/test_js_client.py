"""The official JavaScript client (npm socket.io-client) against a real hub.

Runs ``tests/js/roundtrip.mjs`` under Node: a send / receive / read round trip
on /conversations over WebSocket and long-polling (with the upgrade), a refused
bad token and a malformed payload. This test never skips: without ``node``/``npm``
it fails (``scripts/test`` installs them), and it runs ``npm ci`` itself when
``node_modules`` is missing or older than ``package-lock.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "js" / "roundtrip.mjs"
LOCKFILE = ROOT / "package-lock.json"
NODE_TIMEOUT_S = 30  # the script has its own 10 s global timeout


async def run_roundtrip(node: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Runs the Node script without blocking the loop the hub server runs on."""
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), NODE_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
        pytest.fail(
            f"node {SCRIPT.name} did not finish within {NODE_TIMEOUT_S} s\n"
            f"stdout: {stdout.decode()}\nstderr: {stderr.decode()}"
        )
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_js_client_round_trip(node, server, api):
    ann, bob = await api.register("ann"), await api.register("bob")
    code, stdout, stderr = await run_roundtrip(
        node,
        {
            "HUB_URL": str(server.make_url("")),
            "TOKEN_A": ann["access_token"],
            "TOKEN_B": bob["access_token"],
            "USER_B": bob["user"]["id"],
        },
    )
    print(stdout, stderr, sep="\n")  # shown with -s, and by pytest on failure
    assert code == 0, f"exit code {code}\nstdout: {stdout}\nstderr: {stderr}"
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    result = json.loads(lines[0])

    locked = json.loads(LOCKFILE.read_text())["packages"]["node_modules/socket.io-client"]
    assert result["ok"] is True
    assert result["client_version"] == locked["version"]
    assert result["client_version"].startswith("4.8.")
    assert result["bad_token_error"]["code"] == "unauthorized"
    assert result["bad_token_error"]["message"]
    assert result["a_transport"] == "websocket"
    assert result["b_transport_initial"] == "polling"
    assert result["b_upgraded_to"] == "websocket"
    assert result["b_transport_final"] == "websocket"
    assert result["conversation_id"]
    assert result["message"]["seq"] == 1
    assert result["message"]["text"] == "héllo from socket.io-client 👋"
    assert result["read"] == {"user_id": bob["user"]["id"], "seq": 1, "read_seq": 1}
    assert result["malformed_ack"] == {"ok": False, "code": "validation_failed"}
    assert result["connected_after_malformed"] is True
    assert "message:new" not in result["a_events"]

    # What the JS client did is really in the hub: B has read everything.
    response = await api.http.get("/api/v1/messages/unread-count", headers=api.auth(bob))
    assert (await response.json())["total"] == 0
    response = await api.http.get(
        f"/api/v1/conversations/{result['conversation_id']}/messages", headers=api.auth(ann)
    )
    items = (await response.json())["items"]
    assert [(m["seq"], m["text"], m["sender_id"]) for m in items] == [
        (1, "héllo from socket.io-client 👋", ann["user"]["id"])
    ]
