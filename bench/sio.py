"""A minimal Socket.IO v4 client over aiohttp's websocket client.

Only what the load generator needs, kept cheap per message: the Engine.IO v4
websocket transport (no polling, no upgrade), namespace connects with an
``auth`` payload, pings answered, events out with an ack id, acks and events
in. By default it offers permessage-deflate as Chromium does: aiohttp's
``compress=15`` sends exactly Chromium's ``Sec-WebSocket-Extensions:
permessage-deflate; client_max_window_bits``, and once the server accepts,
compresses what it sends with context takeover, as browsers do. Packets are
text frames:

    0{"sid":...,"pingInterval":...}     Engine.IO open (server -> client)
    2 / 3                               Engine.IO ping (server) / pong (client)
    40/ns,{"token":...}                 Socket.IO connect to /ns with auth
    40/ns,{"sid":...} | 44/ns,{...}     connected | refused
    42/ns,7["event",payload]            event asking for ack 7
    43/ns,7[ack]                        ack 7
    42/ns,["event",payload]             server event
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

WSMsgType = aiohttp.WSMsgType

# on_event(client, namespace, text) where text is the JSON array ``["event", ...]``
EventHandler = Callable[["Client", str, str], None]
AckHandler = Callable[[str], None]


class ConnectRefused(Exception):
    """The server answered a namespace connect with ``44`` (``connect_error``)."""


class Client:
    __slots__ = (
        "_acks",
        "_next_ack",
        "_reader",
        "_waiters",
        "closed",
        "deflate",
        "namespaces",
        "on_event",
        "session",
        "sid",
        "tag",
        "token",
        "url",
        "ws",
    )

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        on_event: EventHandler | None = None,
        tag: Any = None,
        deflate: bool = True,
    ) -> None:
        self.session = session
        self.url = base_url.rstrip("/") + "/socket.io/?EIO=4&transport=websocket"
        self.token = token
        self.on_event = on_event
        self.tag = tag  # whatever the caller wants to keep with this client
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.sid: str | None = None
        self.namespaces: list[str] = []
        self._acks: dict[int, AckHandler] = {}
        self._next_ack = 0
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closed = False
        # Offer permessage-deflate; after connect: whether the server accepted it.
        self.deflate = deflate

    async def connect(self, namespaces: list[str], timeout: float = 20.0) -> None:
        """Open the websocket and connect every namespace; ConnectRefused if one is refused."""
        async with asyncio.timeout(timeout):
            self.ws = await self.session.ws_connect(
                self.url, autoping=True, max_msg_size=0, compress=15 if self.deflate else 0
            )
            self.deflate = bool(self.ws.compress)
            opened = await self.ws.receive()
            if opened.type != WSMsgType.TEXT or not opened.data.startswith("0"):
                raise ConnectionError(f"no Engine.IO open packet: {opened.type} {opened.data!r}")
            self.sid = orjson.loads(opened.data[1:]).get("sid")
            self._reader = asyncio.create_task(self._read())
            loop = asyncio.get_running_loop()
            auth = orjson.dumps({"token": self.token}).decode()
            waiters = []
            for namespace in namespaces:
                waiter = self._waiters[namespace] = loop.create_future()
                waiters.append(waiter)
                await self.ws.send_str(f"40{_prefix(namespace)}{auth}")
            await asyncio.gather(*waiters)
        self.namespaces = list(namespaces)

    def emit(self, namespace: str, event: str, data: Any, ack: AckHandler | None = None):
        """Send an event; ``ack(text)`` gets the ack's JSON array text. Returns the
        send coroutine (await it)."""
        assert self.ws is not None
        body = orjson.dumps([event, data]).decode()
        if ack is None:
            return self.ws.send_str(f"42{_prefix(namespace)}{body}")
        ack_id = self._next_ack
        self._next_ack = ack_id + 1
        self._acks[ack_id] = ack
        return self.ws.send_str(f"42{_prefix(namespace)}{ack_id}{body}")

    async def call(self, namespace: str, event: str, data: Any, timeout: float = 20.0) -> Any:
        """Emit and wait for the ack; returns the ack's first argument, decoded."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        await self.emit(namespace, event, data, _resolver(future))
        text = await asyncio.wait_for(future, timeout)
        return orjson.loads(text)[0]

    async def close(self) -> None:
        self.closed = True
        if self.ws is not None and not self.ws.closed:
            try:
                await asyncio.wait_for(self.ws.close(), 5)
            except (TimeoutError, OSError, aiohttp.ClientError):
                pass
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
        self._fail_waiters(ConnectionError("closed"))

    async def abort(self) -> None:
        """Drop the connection without a close handshake (the peer sees EOF)."""
        self.closed = True
        if self.ws is not None and not self.ws.closed:
            self.ws._response.close()  # closes the TCP connection underneath
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
        self._fail_waiters(ConnectionError("aborted"))

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        try:
            while True:
                message = await ws.receive()
                if message.type != WSMsgType.TEXT:
                    if message.type in (
                        WSMsgType.CLOSE,
                        WSMsgType.CLOSING,
                        WSMsgType.CLOSED,
                        WSMsgType.ERROR,
                    ):
                        break
                    continue
                data: str = message.data
                kind = data[0]
                if kind == "4":
                    self._packet(data)
                elif kind == "2":  # Engine.IO ping: answer or be dropped
                    await ws.send_str("3")
                elif kind == "1":  # Engine.IO close
                    break
        finally:
            self._fail_waiters(ConnectionError("connection closed"))

    def _packet(self, data: str) -> None:
        packet_type = data[1]
        if len(data) > 2 and data[2] == "/":
            comma = data.find(",", 2)
            if comma < 0:  # e.g. "41/ns" with nothing after
                namespace, body = data[2:], ""
            else:
                namespace, body = data[2:comma], data[comma + 1 :]
        else:
            namespace, body = "/", data[2:]
        if packet_type == "3":  # ack
            bracket = body.find("[")
            handler = self._acks.pop(int(body[:bracket]), None)
            if handler is not None:
                handler(body[bracket:])
        elif packet_type == "2":  # event (a leading ack id, if any, is skipped)
            if self.on_event is not None:
                if body and body[0] != "[":
                    body = body[body.find("[") :]
                self.on_event(self, namespace, body)
        elif packet_type == "0":
            waiter = self._waiters.pop(namespace, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif packet_type == "4":
            waiter = self._waiters.pop(namespace, None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(ConnectRefused(f"{namespace}: {body}"))

    def _fail_waiters(self, exc: Exception) -> None:
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(exc)
        self._waiters.clear()


def _prefix(namespace: str) -> str:
    return "" if namespace == "/" else namespace + ","


def _resolver(future: asyncio.Future[str]) -> AckHandler:
    def resolve(text: str) -> None:
        if not future.done():
            future.set_result(text)

    return resolve
