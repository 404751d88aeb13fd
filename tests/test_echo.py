"""The echo device check: an aiortc client gets its own frames and messages back."""

from __future__ import annotations

import time

import pytest
from aiohttp import web

from hub.context import HUB
from recorder import Recorder
from users import Api, SocketFactory
from waits import eventually
from webrtc import Peer

SIG = "/signaling"
IDLE_S = 1.0


pytestmark = pytest.mark.hub_settings(echo_max_peers=1, echo_idle_timeout_s=IDLE_S)


async def test_echo_sends_frames_and_messages_back(
    api: Api, connect: SocketFactory, app: web.Application, loopback_ice: None
) -> None:
    echo = app[HUB].echo
    account = await api.register("echo")
    socket = Recorder(await connect(account["access_token"], [SIG]), SIG)
    peer = Peer()
    try:
        peer.add_video()
        peer.open_channel("check")
        answer = await socket.ok("echo:start", {"sdp": await peer.offer()})
        assert answer["sdp"].startswith("v=0") and "a=candidate:" in answer["sdp"]
        await peer.accept(answer["sdp"])
        assert echo.active == 1
        frames = await peer.frames(5)  # our own VideoStreamTrack, sent back
        assert {(f.width, f.height) for f in frames} == {(640, 480)}
        await peer.send("ping 1")
        await peer.send("ping 2")
        assert [await peer.message(), await peer.message()] == ["ping 1", "ping 2"]

        # The cap: a second echo check anywhere in this process is refused.
        other = Recorder(await connect(account["access_token"], [SIG]), SIG)
        second = Peer()
        try:
            second.open_channel()
            await other.error("echo:start", {"sdp": await second.offer()}, "unavailable")
        finally:
            await second.close()
        await socket.error("echo:start", {"sdp": "v=0"}, "conflict")  # one per socket

        assert await socket.ok("echo:stop", {}) == {"stopped": True}
        assert echo.active == 0
        assert await socket.ok("echo:stop", {}) == {"stopped": False}
    finally:
        await peer.close()


@pytest.mark.slow  # waits out the idle timeout
async def test_echo_closes_on_disconnect_and_when_idle(
    api: Api, connect: SocketFactory, app: web.Application, loopback_ice: None
) -> None:
    echo = app[HUB].echo
    account = await api.register("idle")
    socket = Recorder(await connect(account["access_token"], [SIG]), SIG)
    await socket.error("echo:start", {"sdp": "not an sdp"}, "validation_failed")
    assert echo.active == 0

    quiet = Peer()
    try:
        quiet.open_channel()  # a channel, and nothing sent on it
        answer = await socket.ok("echo:start", {"sdp": await quiet.offer()})
        await quiet.accept(answer["sdp"])
        assert echo.active == 1
        started = time.monotonic()
        await eventually(lambda: echo.active == 0, timeout=IDLE_S + 4)
        assert time.monotonic() - started >= IDLE_S * 0.8
    finally:
        await quiet.close()

    leaving = Peer()
    try:
        leaving.add_video()
        answer = await socket.ok("echo:start", {"sdp": await leaving.offer()})
        await leaving.accept(answer["sdp"])
        assert echo.active == 1
        await socket.client.disconnect()
        await eventually(lambda: echo.active == 0)
    finally:
        await leaving.close()
