"""The echo device check: the hub as an aiortc peer that sends everything back.

``echo:start`` hands the hub a complete offer (aiortc and browsers that wait
for ICE gathering put every candidate in it); the answer carries the hub's own
candidates. Each received audio/video track is sent straight back on the same
transceiver, and each data-channel message is sent back on its channel. The
peer closes on ``echo:stop``, when its socket disconnects, when ICE fails, and
after ``echo_idle_timeout_s`` without a frame or a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)

from hub.config import Settings
from hub.errors import Conflict, Unavailable, ValidationFailed

from .ice import IceServerProvider
from .models import MAX_SDP_BYTES, EchoAnswer

log = logging.getLogger(__name__)


class _EchoTrack(MediaStreamTrack):
    """Re-sends the frames of a received track, noting each as activity."""

    def __init__(self, source: MediaStreamTrack, touch: Callable[[], None]) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._touch = touch

    async def recv(self) -> Any:
        frame = await self._source.recv()
        self._touch()
        return frame


@dataclass
class _Peer:
    pc: RTCPeerConnection | None = None
    last_activity: float = field(default_factory=time.monotonic)
    watchdog: asyncio.Task[None] | None = None

    def touch(self) -> None:
        self.last_activity = time.monotonic()


class EchoService:
    """At most ``echo_max_peers`` echo peers in this process, one per socket."""

    def __init__(self, settings: Settings, ice: IceServerProvider) -> None:
        self.settings = settings
        self.ice = ice
        self.peers: dict[str, _Peer] = {}

    @property
    def active(self) -> int:
        return len(self.peers)

    async def start(self, sid: str, sdp: str) -> EchoAnswer:
        if len(sdp.encode()) > MAX_SDP_BYTES:
            raise ValidationFailed.field("sdp", f"SDP is over {MAX_SDP_BYTES // 1024} KB")
        if sid in self.peers:
            raise Conflict("An echo check is already running on this socket")
        if len(self.peers) >= self.settings.echo_max_peers:
            raise Unavailable("Too many echo checks are running; try again shortly")
        peer = self.peers[sid] = _Peer()  # holds the slot while the answer is made
        try:
            peer.pc = self._peer_connection(sid, peer)
            try:
                await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            except Exception as exc:
                raise ValidationFailed.field("sdp", f"Not a usable offer: {exc}") from exc
            if not peer.pc.getTransceivers() and peer.pc.sctp is None:
                raise ValidationFailed.field("sdp", "The offer has no audio, video or data section")
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        except BaseException:
            await self.stop(sid)
            raise
        peer.touch()
        peer.watchdog = asyncio.create_task(self._watch(sid, peer), name=f"echo-idle-{sid}")
        return EchoAnswer(sdp=peer.pc.localDescription.sdp)

    async def stop(self, sid: str) -> bool:
        peer = self.peers.pop(sid, None)
        if peer is None:
            return False
        if peer.watchdog is not None and peer.watchdog is not asyncio.current_task():
            peer.watchdog.cancel()
        if peer.pc is not None:
            with contextlib.suppress(Exception):
                await peer.pc.close()
        return True

    async def close(self) -> None:
        for sid in list(self.peers):
            await self.stop(sid)

    def _peer_connection(self, sid: str, peer: _Peer) -> RTCPeerConnection:
        servers = [RTCIceServer(**server) for server in self.ice.entries("echo")]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))

        # pyee's on(event, handler): aiortc is untyped, so no decorators here.
        def on_track(track: MediaStreamTrack) -> None:
            pc.addTrack(_EchoTrack(track, peer.touch))

        def on_datachannel(channel: Any) -> None:
            def on_message(message: Any) -> None:
                peer.touch()
                channel.send(message)

            channel.on("message", on_message)

        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and self.peers.get(sid) is peer:
                await self.stop(sid)

        pc.on("track", on_track)
        pc.on("datachannel", on_datachannel)
        pc.on("connectionstatechange", on_state)
        return pc

    async def _watch(self, sid: str, peer: _Peer) -> None:
        idle_s = self.settings.echo_idle_timeout_s
        while self.peers.get(sid) is peer:
            await asyncio.sleep(min(1.0, idle_s / 4))
            if time.monotonic() - peer.last_activity > idle_s:
                log.info("echo peer of %s idle for %.1f s: closing", sid, idle_s)
                await self.stop(sid)
