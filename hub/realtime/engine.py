"""python-engineio's server with the hub's transport rules.

- Each socket's unsent data is capped (``send_buffer_bytes``): a client that
  stops reading is disconnected as a slow consumer and what was queued for
  it is dropped, instead of growing the hub's memory without bound.
- The hub holds each WebSocket transport, so it can close it itself: on
  shutdown (browsers ignore an Engine.IO close packet on a WebSocket) and
  when dropping a slow consumer (whose writes would block forever).
- A long-polling POST over the payload limit is answered 413 at once, before
  its body is read (engine.io would otherwise wait forever to flush a close
  packet to a client that is still sending).
- An Engine.IO frame that is not a packet closes that WebSocket with a
  reason instead of raising out of the library's reader loop.
- permessage-deflate follows ``ws_compression``: ``off`` declines it (aiohttp
  accepts it by default, with a zlib context per socket that costs about
  100 KiB and 20-25 us per frame sent; docs/benchmarks.md, "WebSocket
  compression"), ``on`` accepts it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import engineio
from aiohttp import web
from engineio.async_drivers import aiohttp as aiohttp_driver

log = logging.getLogger(__name__)

SLOW_CONSUMER = "slow_consumer"
# How long a WebSocket close waits for the client's close frame.
CLOSE_HANDSHAKE_S = 2.0
FaultHook = Callable[[str, str, str], None]  # (peer, kind, detail)


def packet_size(pkt: Any) -> int:
    """Bytes a queued packet will take on the wire (encoding is cached, so the
    writer does not encode it again)."""
    if pkt is None:
        return 0
    return len(pkt.encode())


class SendQueue:
    """An Engine.IO socket's outbound queue that knows how many bytes it owes.

    ``pending`` counts packets from the moment they are queued until they are
    written: for long-polling that is when a poll takes them; on a WebSocket,
    whose writer takes everything queued at once and then writes packet by
    packet, it is when ``sent`` reports each write done.

    engine.io's own queue is unbounded and has no size hook
    (python-engineio#133), hence this replacement of ``socket.queue``. It has
    the part of ``asyncio.Queue``'s interface engine.io uses, on one deque:
    ``asyncio.Queue`` keeps four deques and an Event, about 3 KB per idle
    socket, for putters that never wait (it is never full) and a ``join``
    that only a closing socket calls.
    """

    def __init__(self, cap: int, on_overflow: Callable[[SendQueue], None]) -> None:
        self.cap = cap
        self.pending = 0
        self.websocket = False
        self.overflowed = False
        self._on_overflow = on_overflow
        self._items: deque[Any] = deque()
        self._readers: list[asyncio.Future[None]] = []
        self._unfinished = 0  # queued and not yet task_done(), for join()
        self._all_done: asyncio.Event | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        if self.overflowed and item is not None:
            return  # the socket is being dropped: nothing more is kept for it
        self._items.append(item)
        self._unfinished += 1
        self._wake_reader()
        self.pending += packet_size(item)
        if self.pending > self.cap and not self.overflowed:
            self.overflowed = True
            self._on_overflow(self)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        item = self._items.popleft()
        if not self.websocket:
            self.pending -= packet_size(item)
        return item

    async def get(self) -> Any:
        while not self._items:
            reader = asyncio.get_running_loop().create_future()
            self._readers.append(reader)
            try:
                await reader
            except asyncio.CancelledError:
                if reader in self._readers:
                    self._readers.remove(reader)
                elif self._items:
                    self._wake_reader()  # pass on the wake-up this reader got
                raise
        return self.get_nowait()

    def task_done(self) -> None:
        self._unfinished -= 1
        if self._unfinished <= 0 and self._all_done is not None:
            self._all_done.set()

    async def join(self) -> None:
        """Return once every queued packet was taken and marked done."""
        while self._unfinished > 0:
            self._all_done = asyncio.Event()
            await self._all_done.wait()
        self._all_done = None

    def sent(self, size: int) -> None:
        self.pending = max(0, self.pending - size)

    def discard(self) -> None:
        """Drop everything queued (a slow consumer's backlog)."""
        self._unfinished -= len(self._items)
        self._items.clear()
        self.pending = 0
        if self._unfinished <= 0 and self._all_done is not None:
            self._all_done.set()

    def _wake_reader(self) -> None:
        while self._readers:
            reader = self._readers.pop(0)
            if not reader.done():
                reader.set_result(None)
                return


class HubWebSocket(aiohttp_driver.WebSocket):
    """engine.io's aiohttp WebSocket, registered with the server while open."""

    server: HubEngineServer

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        socket = self.handler.__self__  # the engine.io socket this transport serves
        request: web.Request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size,
            timeout=CLOSE_HANDSHAKE_S,
            compress=self.server.ws_compression == "on",
        )
        await self._sock.prepare(request)
        self.environ = environ
        self.sid: str = socket.sid
        self.peer = request.remote or "unknown"
        self.transport = request.transport
        self.queue: SendQueue = socket.queue
        self.queue.websocket = True
        self.server.open_websockets[self.sid] = self
        try:
            await self.handler(self)
        finally:
            if self.server.open_websockets.get(self.sid) is self:
                del self.server.open_websockets[self.sid]
        return self._sock

    async def send(self, message: str | bytes) -> None:
        await super().send(message)
        self.queue.sent(len(message))

    async def wait(self) -> Any:
        """The next frame; None (connection over) for a frame that is not an
        Engine.IO packet, after closing with a reason."""
        data = await super().wait()
        if isinstance(data, str) and not (data and (data[0].isdigit() or data[0] == "b")):
            self.server.report_fault(self.peer, "malformed_frame", repr(data[:40]))
            await self._sock.close(code=1002, message=b"malformed Engine.IO packet")
            return None
        return data

    def abort(self) -> None:
        """Drop the TCP connection now (a client that does not read cannot be
        closed politely: the close frame would wait behind what it owes)."""
        if self.transport is not None:
            self.transport.abort()


class HubEngineServer(engineio.AsyncServer):
    """See the module docstring. Extra options: ``send_buffer_bytes``,
    ``on_fault(peer, kind, detail)``, ``ws_compression`` (``off`` or ``on``)."""

    _async: dict[str, Any]  # the drivers of the async mode, set by the base class
    report_fault: FaultHook

    def __init__(
        self,
        *,
        send_buffer_bytes: int,
        on_fault: FaultHook,
        ws_compression: str = "off",
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._async = {**self._async, "websocket": HubWebSocket}
        self.send_buffer_bytes = send_buffer_bytes
        self.ws_compression = ws_compression
        self.report_fault = on_fault
        self.open_websockets: dict[str, HubWebSocket] = {}
        self.accepting = True  # False once shutdown starts: no new sessions

    def create_queue(self, *args: Any, **kwargs: Any) -> SendQueue:
        return SendQueue(self.send_buffer_bytes, self._overflowed)

    async def handle_request(self, request: web.Request) -> web.StreamResponse:
        length = request.content_length
        if request.method == "POST" and length is not None and length > self.max_http_buffer_size:
            self.report_fault(request.remote or "unknown", "payload_too_large", f"{length} bytes")
            response = web.Response(status=413, text="Payload too large")
            response.force_close()  # its body is never read
            return response
        if not self.accepting and "sid=" not in request.query_string:
            return web.Response(status=503, text="Server is shutting down")
        answer: web.StreamResponse = await super().handle_request(request)
        return answer

    def _overflowed(self, queue: SendQueue) -> None:
        socket = next((s for s in self.sockets.values() if s.queue is queue), None)
        if socket is not None:
            self.start_background_task(self._drop_slow_consumer, socket)

    async def _drop_slow_consumer(self, socket: Any) -> None:
        transport = self.open_websockets.get(socket.sid)
        peer = transport.peer if transport is not None else "unknown"
        self.report_fault(peer, "slow_consumer", f"over {self.send_buffer_bytes} bytes unsent")
        socket.queue.discard()
        if transport is not None:
            transport.abort()
        await socket.close(wait=False, abort=True, reason=SLOW_CONSUMER)

    async def close_all(self, deadline: float, before_close: Callable[[str], None]) -> None:
        """Close every socket from this side by ``deadline`` (loop time):
        ``before_close(sid)`` queues its last packets (Socket.IO disconnects),
        then the Engine.IO close; then the hub closes each WebSocket itself
        and drops the TCP connections still open at the deadline."""
        self.accepting = False
        loop = asyncio.get_running_loop()
        sockets = list(self.sockets.values())
        for socket in sockets:
            before_close(socket.sid)
        closing = [
            asyncio.ensure_future(socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT))
            for socket in sockets
        ]
        if closing:
            await asyncio.wait(closing, timeout=max(0.0, deadline - loop.time()))
        for socket in sockets:
            if socket.queue.websocket:
                socket.queue.put_nowait(None)  # the writer sends what is queued, then closes
        await self._wait_for_transports(deadline)
        for transport in list(self.open_websockets.values()):
            transport.abort()
        for socket in sockets:
            self.sockets.pop(socket.sid, None)

    async def _wait_for_transports(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while self.open_websockets and loop.time() < deadline:
            await asyncio.sleep(0.02)
        if self.open_websockets:
            log.warning(
                "shutdown: %d WebSockets still open at the deadline; dropping them",
                len(self.open_websockets),
            )
