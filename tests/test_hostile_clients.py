"""Clients that break the protocol get an answer and cost the hub nothing lasting.

Reserved or malformed event names, payloads that are not JSON objects, text
that is not valid Unicode, binary attachments (lying about their count or
placeholders), stray acks and garbage frames: each is answered
``validation_failed`` on its ack id, or dropped and counted when nothing can
be answered, and the socket keeps working.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from processes import sample
from raw_socket import RawSocket
from users import Api

NS = "/conversations"


@pytest.fixture
async def raw(server: TestServer, api: Api) -> Any:
    account = await api.register("mallory")
    socket = await RawSocket.open(str(server.make_url("/")), account["access_token"], (NS,))
    yield socket
    await socket.close()


async def still_works(socket: RawSocket, ack_id: int = 999) -> None:
    ack = await socket.call(NS, ack_id, '["conversation:list",{}]')
    assert ack["ok"] is True, ack


def refused(ack: dict[str, Any], field: str) -> None:
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == "validation_failed", ack
    assert [f["field"] for f in ack["error"]["details"]["fields"]] == [field], ack


async def gauge(http: TestClient, name: str, **labels: str) -> float:
    return sample(await (await http.get("/metrics")).text(), name, **labels)


@pytest.mark.parametrize("name", ["connect", "disconnect", "connect_error"])
async def test_reserved_event_names_run_no_server_hook(
    raw: RawSocket, http: TestClient, name: str
) -> None:
    sockets_before = await gauge(http, "hub_connected_sockets", namespace=NS)
    ack = await raw.call(NS, 1, json.dumps([name, {}]))
    refused(ack, "event")
    assert "reserved" in ack["error"]["message"]
    # No fake connect counted, and no disconnect hook run: the socket is
    # still authenticated (a run hook would have forgotten it, and with it
    # its token's expiry) and still works.
    assert await gauge(http, "hub_connected_sockets", namespace=NS) == sockets_before == 1.0
    await still_works(raw)


@pytest.mark.parametrize(
    "body",
    [
        '[{"name":"message:send"},{}]',  # an object as the name
        '[["message:send"],{}]',  # a list as the name
        "[42,{}]",
        "[]",
        '{"event":"message:send"}',  # not an array at all
        '"message:send"',
        '["' + "x" * 65 + '",{}]',
        '["",{}]',
    ],
)
async def test_event_names_that_are_not_short_strings(raw: RawSocket, body: str) -> None:
    refused(await raw.call(NS, 2, body), "event")
    await still_works(raw)


@pytest.mark.parametrize(
    "body, field",
    [
        ('["conversation:list",[1,2]]', "payload"),
        ('["conversation:list","text"]', "payload"),
        ('["conversation:list",{},{}]', "payload"),
        ('["conversation:list",{', "payload"),  # cut short: not JSON
        ('["conversation:list",{"limit":NaN}]', "payload"),
    ],
)
async def test_payloads_that_are_not_one_json_object(raw: RawSocket, body: str, field: str) -> None:
    refused(await raw.call(NS, 3, body), field)
    await still_works(raw)


@pytest.mark.parametrize(
    "payload, field",
    [
        ('{"conversation_id":"c1","client_msg_id":"m1","text":"cut \\ud83d"}', "text"),
        ('{"conversation_id":"c1","client_msg_id":"m1","text":"\\udc00 low first"}', "text"),
        (
            '{"conversation_id":"c1","client_msg_id":"m1","text":"ok",'
            '"attachments":[{"url":"u","name":"\\ud800.pdf","size":1,"mime":"a/b"}]}',
            "attachments.0.name",
        ),
    ],
)
async def test_lone_surrogates_name_the_field(raw: RawSocket, payload: str, field: str) -> None:
    ack = await raw.call(NS, 4, f'["message:send",{payload}]')
    refused(ack, field)
    assert "Unicode" in ack["error"]["message"]
    await still_works(raw)


async def test_lone_surrogate_in_the_event_name(raw: RawSocket) -> None:
    refused(await raw.call(NS, 5, '["message:\\ud83d",{}]'), "event")


async def test_lone_surrogates_from_the_python_client(api: Api, connect: Any) -> None:
    """python-socketio's client (like a browser's JSON.stringify) escapes a
    lone surrogate rather than failing: the hub must answer it, not drop it."""
    ann, bob = await api.register("ann"), await api.register("bob")
    client = await connect(ann["access_token"], [NS])
    created = await client.call(
        "conversation:create", {"participant_ids": [bob["user"]["id"]]}, namespace=NS, timeout=5
    )
    ack = await client.call(
        "message:send",
        {"conversation_id": created["data"]["id"], "client_msg_id": "m1", "text": "hi \ud83d"},
        namespace=NS,
        timeout=5,
    )
    refused(ack, "text")


async def test_lone_surrogate_in_a_rest_body_is_422_naming_the_field(
    api: Api, http: TestClient
) -> None:
    ann, bob = await api.register("ann"), await api.register("bob")
    created = await http.post(
        "/api/v1/conversations",
        headers=api.auth(ann),
        json={"participant_ids": [bob["user"]["id"]]},
    )
    conversation_id = (await created.json())["id"]
    response = await http.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers={**api.auth(ann), "Content-Type": "application/json"},
        data=b'{"client_msg_id":"m1","text":"cut \\ud83d"}',
    )
    assert response.status == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = await response.json()
    assert problem["code"] == "validation_failed"
    assert problem["details"]["fields"][0]["field"] == "text"


async def test_binary_payloads_are_refused_and_their_attachments_skipped(raw: RawSocket) -> None:
    # A placeholder pointing past the attachments sent: refused at once...
    await raw.send('451-/conversations,6["message:send",{"_placeholder":true,"num":9}]')
    refused(await raw.ack(NS, 6), "payload")
    await raw.send(b"\x00\x01\x02")  # ...and its one attachment is skipped
    await still_works(raw, 7)
    # Three announced, three sent: all skipped, nothing taken as a packet.
    await raw.send('453-/conversations,8["x",{"_placeholder":true,"num":0}]')
    refused(await raw.ack(NS, 8), "payload")
    for _ in range(3):
        await raw.send(b"\xff" * 10)
    await still_works(raw, 9)


async def test_binary_from_the_python_client(api: Api, connect: Any) -> None:
    ann = await api.register("ann")
    client = await connect(ann["access_token"], [NS])
    ack = await client.call("conversation:list", {"cursor": b"\x00bytes"}, namespace=NS, timeout=5)
    refused(ack, "payload")
    assert (await client.call("conversation:list", {}, namespace=NS, timeout=5))["ok"]


@pytest.mark.parametrize(
    "frame",
    [
        "4x",  # a Socket.IO packet type that is not a digit
        "49",  # an unknown packet type
        '43/conversations,1[{"ok":true}]',  # an ack the hub never asked for
        '42/presence,10["presence:set",{"status":"away"}]',  # a namespace not connected
        "42/conversations," + "1" * 120 + '["conversation:list",{}]',  # an id too long
        b"\x00\x01unannounced binary",
    ],
)
async def test_unanswerable_packets_are_dropped_and_counted(
    raw: RawSocket, http: TestClient, frame: str | bytes
) -> None:
    await raw.send(frame)
    await still_works(raw)
    faults = sum(
        [
            await gauge(http, "hub_client_faults_total", kind=kind)
            for kind in ("malformed_packet", "unexpected_packet", "not_connected", "binary_payload")
        ]
    )
    assert faults == 1.0


async def test_a_frame_that_is_not_engine_io_closes_with_a_reason(raw: RawSocket) -> None:
    await raw.send("hello, is this HTTP?")
    assert await raw.next_frame() is None  # closed by the hub
    assert raw.ws.close_code == 1002
