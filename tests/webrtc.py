"""TEST-ONLY WebRTC helpers: ICE on loopback, and small aiortc peers.

aiortc (through aioice) never gathers a 127.0.0.1 host candidate: on a machine
whose only network is loopback it gathers nothing and ICE fails, and elsewhere
it would use the machine's real interfaces. The ``loopback_ice`` fixture
restricts host candidates to 127.0.0.1 for the duration of one test by patching
``aioice.ice.get_host_addresses``. The hub runs in the test process, so its echo
peer is restricted too. Nothing outside the tests does this.

Run the WebRTC tests with no network at all (root):
``unshare -n sh -c 'ip link set lo up && .venv/bin/pytest -q tests/test_signaling.py
tests/test_echo.py'``
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import aioice.ice
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Host ICE candidates on 127.0.0.1 only (test-only patch of aioice)."""
    monkeypatch.setattr(
        aioice.ice, "get_host_addresses", lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]
    )
    yield


class Peer:
    """An aiortc peer that records what it receives: tracks, data channels, messages."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.tracks: asyncio.Queue[Any] = asyncio.Queue()
        self.channel: Any = None
        self._channel_open = asyncio.Event()

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            self.tracks.put_nowait(track)

        @self.pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            self._use(channel)

    def _use(self, channel: Any) -> None:
        self.channel = channel
        channel.on("message", self.messages.put_nowait)
        if channel.readyState == "open":
            self._channel_open.set()
        channel.on("open", self._channel_open.set)

    def add_video(self) -> None:
        self.pc.addTrack(VideoStreamTrack())

    def open_channel(self, label: str = "chat") -> None:
        self._use(self.pc.createDataChannel(label))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def send(self, message: str, timeout: float = 10) -> None:
        await asyncio.wait_for(self._channel_open.wait(), timeout)
        self.channel.send(message)

    async def message(self, timeout: float = 10) -> Any:
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def frames(self, count: int, timeout: float = 10) -> list[Any]:
        """``count`` video frames from the first remote track."""
        track = await asyncio.wait_for(self.tracks.get(), timeout)
        return [await asyncio.wait_for(track.recv(), timeout) for _ in range(count)]

    async def close(self) -> None:
        await self.pc.close()


def first_candidate(sdp: str) -> dict[str, Any]:
    """The first ``a=candidate`` line of an SDP as ``RTCIceCandidate.toJSON()``."""
    match = re.search(r"^a=(candidate:.+?)\r?$", sdp, re.MULTILINE)
    assert match, "the SDP carries no candidate: is loopback_ice on?"
    return {"candidate": match.group(1), "sdpMid": "0", "sdpMLineIndex": 0}
