"""Ten thousand malformed events over every namespace, against a real hub process.

Each event asks for an ack and must get one that is an error other than
``internal``; afterwards the hub still serves a well-behaved client, wrote a
bounded number of log lines (all JSON, no traceback), and its memory did not
grow with the flood. The generator is seeded: a failure replays exactly.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import socketio

from processes import hub_env, register, running_hub
from raw_socket import RawSocket

pytestmark = pytest.mark.slow  # a hub process and ten thousand events

NAMESPACES = ("/conversations", "/presence", "/notifications", "/networking", "/signaling")
EVENTS_PER_NAMESPACE = 2000
BATCH = 250
CONTRACT_ERRORS = {
    "unauthorized",
    "forbidden",
    "not_found",
    "validation_failed",
    "conflict",
    "rate_limited",
    "edit_window_closed",
    "unavailable",
}
BAD_NAMES = (
    "{}",
    "[]",
    "7",
    "null",
    json.dumps("x" * 65),
    '""',
    '"connect"',
    '"disconnect"',
    '"connect_error"',
    '"\\ud83d"',
)
KNOWN_EVENTS = (
    "message:send",
    "conversation:create",
    "message:history",
    "sync",
    "typing",
    "presence:subscribe",
    "presence:set",
    "lobby:join",
    "session:rate",
    "signal",
    "call:invite",
    "echo:start",
    "auth:refresh",
    "message:read",
)


def junk_values(rng: random.Random) -> Iterator[str]:
    """JSON texts of every shape, including some no JSON parser accepts."""
    atoms = [
        "null",
        "true",
        "-1",
        "1e309",
        "5.0",
        "18446744073709551616",
        '""',
        '"\\ud83d"',
        '"' + "x" * rng.randint(0, 5000) + '"',
        "{}",
        "[]",
        "NaN",
        '"\\u0000"',
        '{"__proto__":{}}',
        '"' + "\\udfff" * 3 + '"',
    ]
    while True:
        depth = rng.randint(0, 3)
        value = rng.choice(atoms)
        for _ in range(depth):
            if rng.random() < 0.5:
                value = f"[{value},{rng.choice(atoms)}]"
            else:
                key = rng.choice(
                    ['"text"', '"conversation_id"', '"user_ids"', '"\\ud800"', '"sdp"']
                )
                value = f"{{{key}:{value}}}"
        yield value


def malformed_events(
    rng: random.Random, namespace: str, first_id: int
) -> Iterator[tuple[int, str]]:
    """(ack id, frame) pairs of events that are wrong in one way or another."""
    values = junk_values(rng)
    ack_id = first_id
    while True:
        ack_id += 1
        name = rng.choice(KNOWN_EVENTS)
        kind = rng.randrange(7)
        if kind == 0:  # a name that is not a short string, or is reserved
            body = f"[{rng.choice(BAD_NAMES)},{{}}]"
        elif kind == 1:  # a known event with a payload of any shape
            body = f'["{name}",{next(values)}]'
        elif kind == 2:  # a known event with fields of the wrong types
            fields = {
                field: next(values)
                for field in rng.sample(
                    [
                        "conversation_id",
                        "text",
                        "client_msg_id",
                        "user_ids",
                        "status",
                        "lobby_id",
                        "stars",
                        "type",
                        "sdp",
                        "limit",
                        "cursors",
                        "token",
                    ],
                    rng.randint(1, 4),
                )
            }
            body = f'["{name}",{{' + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}]"
        elif kind == 3:  # an unknown event
            body = f'["{name}:{rng.randint(0, 10**6)}",{next(values)}]'
        elif kind == 4:  # not JSON: cut short or glued
            body = f'["{name}",{next(values)}'[: rng.randint(2, 40)]
        elif kind == 5:  # too many arguments
            body = f'["{name}",{{}},{next(values)}]'
        else:  # binary attachments announced with placeholders that lie
            count = rng.randint(0, 3)
            placeholder = json.dumps({"_placeholder": True, "num": rng.randint(-2, 9)})
            yield ack_id, f'45{count}-{namespace},{ack_id}["{name}",{placeholder}]'
            for _ in range(count):
                yield -1, rng.randbytes(rng.randint(0, 64))
            continue
        yield ack_id, f"42{namespace},{ack_id}{body}"


async def test_ten_thousand_malformed_events_leave_the_hub_well(tmp_path: Path) -> None:
    env = hub_env(tmp_path, rate_limits="off")
    async with aiohttp.ClientSession() as session, running_hub(tmp_path, env, "hub") as hub:
        account = await register(session, hub, "mallory")
        raw = await RawSocket.open(hub.url(""), account["access_token"], NAMESPACES)
        lines_before = len(hub.log_lines())
        memory_before = hub.rss_mb()
        codes: Counter[str] = Counter()
        rng = random.Random(12)
        for index, namespace in enumerate(NAMESPACES):
            events = malformed_events(rng, namespace, first_id=index * 10**6)
            for _ in range(EVENTS_PER_NAMESPACE // BATCH):
                waiting = []
                while len(waiting) < BATCH:
                    ack_id, frame = next(events)
                    await raw.send(frame)
                    if ack_id >= 0:
                        waiting.append(ack_id)
                for ack_id in waiting:
                    ack = await raw.ack(namespace, ack_id, timeout=10)
                    assert ack["ok"] is False, (namespace, ack_id, ack)
                    codes[ack["error"]["code"]] += 1
        assert not raw.closed
        memory_after = hub.rss_mb()
        await raw.close()
        await a_good_client_is_served(hub.url(""), account["access_token"])
        log = hub.log_lines()[lines_before:]

    assert sum(codes.values()) == EVENTS_PER_NAMESPACE * len(NAMESPACES)
    assert set(codes) <= CONTRACT_ERRORS, codes
    assert memory_after - memory_before < 30, (memory_before, memory_after)
    assert len(log) < 200, f"{len(log)} log lines for the flood"
    assert all(json.loads(line)["level"] for line in log)  # every line is JSON
    assert not any("Traceback" in line or '"exception"' in line for line in log)


async def a_good_client_is_served(base: str, token: str) -> None:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        base, namespaces=["/conversations"], auth={"token": token}, transports=["websocket"]
    )
    try:
        ack = await asyncio.wait_for(
            client.call("conversation:list", {}, namespace="/conversations"), 5
        )
        assert ack["ok"], ack
    finally:
        await client.disconnect()
