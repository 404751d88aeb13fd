"""/signaling: calls between real aiortc peers over the hub's real sockets, the
state machine's other paths, and who may signal or see what."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from recorder import Recorder
from users import Api, SocketFactory
from waits import quiet
from webrtc import Peer, first_candidate

SIG = "/signaling"
RING_TIMEOUT_S = 1.0
MAX_CANDIDATES = 3


pytestmark = pytest.mark.hub_settings(
    call_ring_timeout_s=RING_TIMEOUT_S,
    signal_max_candidates=MAX_CANDIDATES,
    stun_urls="stun:stun.example:3478",
    turn_urls="turn:turn.example:3478?transport=udp,turns:turn.example:5349",
    turn_secret="turn-shared-secret",
    turn_ttl_s=600,
)


class People:
    """ann calls; bob answers on one of two devices; carol is nobody's business."""

    def __init__(self, api: Api, connect: SocketFactory) -> None:
        self.api = api
        self.connect = connect

    async def setup(self) -> None:
        self.ann, self.bob, self.carol = [
            await self.api.register(n) for n in ("ann", "bob", "carol")
        ]
        self.ann_id, self.bob_id, self.carol_id = (
            a["user"]["id"] for a in (self.ann, self.bob, self.carol)
        )
        self.a = await self.socket(self.ann)
        self.b1 = await self.socket(self.bob)
        self.b2 = await self.socket(self.bob)
        self.c = await self.socket(self.carol)
        response = await self.api.http.post(
            "/api/v1/conversations",
            headers=Api.auth(self.ann),
            json={"participant_ids": [self.bob_id]},
        )
        assert response.status == 201
        self.conversation_id = (await response.json())["id"]

    async def socket(self, account: dict[str, Any]) -> Recorder:
        return Recorder(await self.connect(account["access_token"], [SIG]), SIG)

    async def invite(self) -> dict[str, Any]:
        call = await self.a.ok(
            "call:invite", {"conversation_id": self.conversation_id, "media": "video"}
        )
        for device in (self.b1, self.b2):
            await device.wait_for("call:incoming")
        return call

    async def active_call(self) -> str:
        call = await self.invite()
        await self.b1.ok("call:accept", {"call_id": call["id"]})
        await self.a.wait_for("call:accepted")
        return call["id"]


@pytest.fixture
async def people(api: Api, connect: SocketFactory) -> People:
    result = People(api, connect)
    await result.setup()
    return result


async def test_a_call_between_two_aiortc_peers(
    people: People, http: TestClient, loopback_ice: None
) -> None:
    p = people
    call = await p.invite()
    assert call["state"] == "ringing" and call["caller_id"] == p.ann_id
    assert call["callee_ids"] == [p.bob_id] and call["media"] == "video"
    for device in (p.b1, p.b2):  # both of bob's devices ring
        incoming = device.events["call:incoming"][0]
        assert incoming["call"]["id"] == call["id"]
        assert next(s["urls"] for s in incoming["ice_servers"]) == ["stun:stun.example:3478"]

    accepted = await p.b1.ok("call:accept", {"call_id": call["id"]})
    assert accepted["state"] == "active" and accepted["polite"] is True
    assert (await p.b2.wait_for("call:answered_elsewhere"))[0] == {"call_id": call["id"]}
    told = (await p.a.wait_for("call:accepted"))[0]
    assert told == {"call_id": call["id"], "user_id": p.bob_id, "polite": False}
    await p.b2.error("call:accept", {"call_id": call["id"]}, "conflict")

    ann_peer, bob_peer = Peer(), Peer()
    try:
        ann_peer.add_video()
        ann_peer.open_channel("chat")
        offer = await ann_peer.offer()
        # A forged sender is ignored: bob is told the truth.
        await p.a.ok(
            "signal",
            {
                "call_id": call["id"],
                "type": "offer",
                "sdp": offer,
                "from_user_id": p.carol_id,
                "from": p.carol_id,
            },
        )
        signal = (await p.b1.wait_for("signal"))[0]
        assert signal == {
            "call_id": call["id"],
            "from_user_id": p.ann_id,
            "type": "offer",
            "sdp": offer,
        }
        bob_peer.add_video()
        answer = await bob_peer.answer(signal["sdp"])
        await p.b1.ok("signal", {"call_id": call["id"], "type": "answer", "sdp": answer})
        got = (await p.a.wait_for("signal"))[0]
        assert got["type"] == "answer" and got["from_user_id"] == p.bob_id
        await ann_peer.accept(got["sdp"])

        # Candidates are relayed too, by the event and by the REST fallback.
        candidate = first_candidate(offer)
        await p.a.ok("signal", {"call_id": call["id"], "type": "candidate", "candidate": candidate})
        response = await http.post(
            "/api/v1/live/signaling/ice",
            headers=Api.auth(p.ann),
            json={"call_id": call["id"], "candidate": candidate},
        )
        assert response.status == 200, await response.text()
        relayed = await p.b1.wait_for("signal", 3)
        assert [s["candidate"] for s in relayed[1:]] == [candidate, candidate]

        await ann_peer.send("hello bob")
        assert await bob_peer.message() == "hello bob"
        await bob_peer.send("hello ann")
        assert await ann_peer.message() == "hello ann"
        frames = await bob_peer.frames(5)
        assert frames[0].width == 640 and frames[0].height == 480
        assert len(await ann_peer.frames(3)) == 3
    finally:
        await ann_peer.close()
        await bob_peer.close()

    ended = await p.a.ok("call:end", {"call_id": call["id"]})
    assert ended["state"] == "ended" and ended["end_reason"] == "hangup"
    for device in (p.b1, p.b2):
        assert (await device.wait_for("call:ended"))[0]["reason"] == "hangup"
    await p.b1.error("signal", {"call_id": call["id"], "type": "offer", "sdp": "v=0"}, "forbidden")
    # Only the engaged device ever saw a signal; carol saw nothing at all.
    assert p.b2.events["signal"] == []
    assert dict(p.c.events) == {}


async def test_a_third_user_cannot_signal_or_act_on_a_call(
    people: People, http: TestClient
) -> None:
    p = people
    call_id = await p.active_call()
    for event in ("call:accept", "call:decline", "call:cancel", "call:end"):
        await p.c.error(event, {"call_id": call_id}, "forbidden")
    for forged in ({}, {"from_user_id": p.ann_id}, {"from": p.bob_id}):
        await p.c.error(
            "signal", {"call_id": call_id, "type": "offer", "sdp": "v=0", **forged}, "forbidden"
        )
    await p.c.error(
        "call:invite", {"conversation_id": p.conversation_id, "media": "audio"}, "forbidden"
    )
    for path, body in (
        ("offer", {"sdp": "v=0"}),
        ("answer", {"sdp": "v=0"}),
        ("ice", {"candidate": {"candidate": "candidate:1 1 UDP 1 1.2.3.4 9 typ host"}}),
    ):
        response = await http.post(
            f"/api/v1/live/signaling/{path}",
            headers=Api.auth(p.carol),
            json={"call_id": call_id, **body},
        )
        assert response.status == 403, await response.text()
    # bob's other device is not in the call: it cannot signal either.
    await p.b2.error("signal", {"call_id": call_id, "type": "answer", "sdp": "v=0"}, "forbidden")
    # bob over REST reaches ann's device (the sender is bob, whatever he claims).
    response = await http.post(
        "/api/v1/live/signaling/answer",
        headers=Api.auth(p.bob),
        json={"call_id": call_id, "sdp": "v=0 rest"},
    )
    assert response.status == 200 and await response.json() == {}
    assert (await p.a.wait_for("signal"))[0] == {
        "call_id": call_id,
        "from_user_id": p.bob_id,
        "type": "answer",
        "sdp": "v=0 rest",
    }
    await quiet()  # for any event that would have leaked to carol or the other device
    assert dict(p.c.events) == {}
    assert p.b2.events["signal"] == [] and p.b1.events["signal"] == []


@pytest.mark.slow  # waits for the ring timeout
async def test_unanswered_calls_are_missed_on_both_sides(people: People) -> None:
    p = people
    started = time.monotonic()
    call = await p.invite()
    for device in (p.a, p.b1, p.b2):
        assert (await device.wait_for("call:missed", timeout=RING_TIMEOUT_S + 3))[0] == {
            "call_id": call["id"]
        }
    assert time.monotonic() - started >= RING_TIMEOUT_S * 0.9
    await p.b1.error("call:accept", {"call_id": call["id"]}, "conflict")
    # The caller's device is free again.
    await p.a.ok("call:invite", {"conversation_id": p.conversation_id, "media": "audio"})


@pytest.mark.slow  # waits out the ring timeout
async def test_decline_and_cancel(people: People) -> None:
    p = people
    call = await p.invite()
    declined = await p.b2.ok("call:decline", {"call_id": call["id"]})
    assert declined["state"] == "declined"
    for device in (p.a, p.b1):  # the caller, and bob's other device stops ringing
        assert (await device.wait_for("call:declined"))[0] == {
            "call_id": call["id"],
            "user_id": p.bob_id,
        }
    await p.b1.error("call:accept", {"call_id": call["id"]}, "conflict")

    call = await p.invite()
    await p.b1.error("call:cancel", {"call_id": call["id"]}, "forbidden")  # callers only
    cancelled = await p.a.ok("call:cancel", {"call_id": call["id"]})
    assert cancelled["state"] == "cancelled"
    for device in (p.b1, p.b2):
        assert (await device.wait_for("call:cancelled"))[0] == {"call_id": call["id"]}
    await p.a.error("call:cancel", {"call_id": call["id"]}, "conflict")
    # On purpose: past the ring timeout, and no call:missed after a decline or cancel.
    await asyncio.sleep(RING_TIMEOUT_S + 0.3)
    assert p.a.events["call:missed"] == [] and p.b1.events["call:missed"] == []


async def test_invite_rules(people: People, http: TestClient) -> None:
    p = people
    await p.a.error("call:invite", {"conversation_id": "nope", "media": "video"}, "not_found")
    await p.a.error(
        "call:invite", {"conversation_id": p.conversation_id, "media": "fax"}, "validation_failed"
    )
    await p.a.ok("call:invite", {"conversation_id": p.conversation_id, "media": "video"})
    # One call per device at a time.
    await p.a.error(
        "call:invite", {"conversation_id": p.conversation_id, "media": "video"}, "conflict"
    )
    other = await p.socket(p.ann)
    response = await http.post(f"/api/v1/users/{p.ann_id}/block", headers=Api.auth(p.bob))
    assert response.status == 200
    await other.error(
        "call:invite", {"conversation_id": p.conversation_id, "media": "video"}, "forbidden"
    )


async def test_relay_limits_and_disconnect(people: People) -> None:
    p = people
    call_id = await p.active_call()
    await p.a.error(
        "signal",
        {"call_id": call_id, "type": "offer", "sdp": "x" * (64 * 1024 + 1)},
        "validation_failed",
    )
    await p.a.error("signal", {"call_id": call_id, "type": "offer"}, "validation_failed")
    await p.a.error(
        "signal",
        {"call_id": call_id, "session_id": "s", "type": "offer", "sdp": "v=0"},
        "validation_failed",
    )
    await p.a.ok("signal", {"call_id": call_id, "type": "offer", "sdp": "x" * (64 * 1024)})
    candidate = {"candidate": "candidate:1 1 UDP 1 127.0.0.1 9 typ host"}
    for _ in range(MAX_CANDIDATES):
        await p.a.ok("signal", {"call_id": call_id, "type": "candidate", "candidate": candidate})
    error = await p.a.error(
        "signal",
        {"call_id": call_id, "type": "candidate", "candidate": candidate},
        "validation_failed",
    )
    assert error["details"]["fields"][0]["field"] == "candidate"
    await p.a.ok("signal", {"call_id": call_id, "type": "offer", "sdp": "v=0"})  # renegotiation
    await p.a.ok("signal", {"call_id": call_id, "type": "candidate", "candidate": candidate})

    await p.b1.client.disconnect()
    ended = (await p.a.wait_for("call:ended"))[0]
    assert ended["call_id"] == call_id and ended["reason"] == "disconnected"
    # The caller's device is free for a new call.
    await p.a.ok("call:invite", {"conversation_id": p.conversation_id, "media": "audio"})


async def test_ice_servers_with_turn_rest_credentials(api: Api, http: TestClient) -> None:
    account = await api.register("ice")
    before = int(time.time())
    response = await http.get("/api/v1/rtc/ice-servers", headers=Api.auth(account))
    assert response.status == 200
    body = await response.json()
    assert body["ttl"] == 600
    stun, turn = body["ice_servers"]
    assert stun == {"urls": ["stun:stun.example:3478"]}
    assert turn["urls"] == ["turn:turn.example:3478?transport=udp", "turns:turn.example:5349"]
    expiry, user_id = turn["username"].split(":")
    assert user_id == account["user"]["id"]
    assert before + 600 <= int(expiry) <= int(time.time()) + 600
    digest = hmac.new(b"turn-shared-secret", turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(digest).decode()
    response = await http.get("/api/v1/rtc/ice-servers")
    assert response.status == 401
