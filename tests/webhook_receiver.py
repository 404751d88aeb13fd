"""An integrator's webhook receiver: a real aiohttp server on a free loopback
port. It answers ``fail_first`` requests with 500 (then 200, or ``status``),
records every request, and keeps the events it accepted once each, deduped by
``X-Hub-Delivery`` as the docs tell integrators to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from hub.payments.signing import verify
from processes import free_port


@dataclass
class Received:
    event: str
    delivery: str
    signature: str
    body: bytes


@dataclass
class Receiver:
    port: int
    fail_first: int = 0
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # delivery id -> body

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        received = Received(
            request.headers.get("X-Hub-Event", ""),
            request.headers.get("X-Hub-Delivery", ""),
            request.headers.get("X-Hub-Signature", ""),
            body,
        )
        self.requests.append(received)
        if len(self.requests) <= self.fail_first:
            return web.Response(status=500, text="not now")
        if 200 <= self.status < 300:
            self.accepted.setdefault(received.delivery, orjson.loads(body))
        return web.Response(status=self.status, text="ok")

    def check_signatures(self, secret: str) -> None:
        """Every request is signed with ``secret`` (raises otherwise)."""
        for received in self.requests:
            verify(secret, received.body, received.signature)

    def accepted_ids(self) -> list[str]:
        return list(self.accepted)


@asynccontextmanager
async def receiving(
    fail_first: int = 0, status: int = 200, port: int | None = None
) -> AsyncIterator[Receiver]:
    receiver = Receiver(port or free_port(), fail_first, status)
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", receiver.port)
    await site.start()
    try:
        yield receiver
    finally:
        await runner.cleanup()
