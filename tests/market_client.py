"""Helpers for the marketplace tests: a hub on a known port (so the sandbox
provider's webhooks reach it over real HTTP), parties with REST calls and
/notifications sockets, and signed webhook deliveries."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from conftest import make_settings
from hub.config import Settings
from hub.context import HUB
from hub.payments import sign
from recorder import Recorder
from rest_user import API, RestUser

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
NOTIFICATIONS = "/notifications"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def market_settings(tmp_path: Path, webhook_delay: float = 0.05, **overrides: Any) -> Settings:
    """The hub listens on ``port``, which is where its sandbox delivers webhooks
    (``base_url`` is ``http://127.0.0.1:<port>``)."""
    return make_settings(
        tmp_path,
        port=free_port(),
        payments_webhook_secret=WEBHOOK_SECRET,
        sandbox_webhook_delay_s=webhook_delay,
        **overrides,
    )


class Party(RestUser):
    """One account: REST calls as it, and its /notifications socket."""

    def __init__(self, http: TestClient, connect: Any, account: dict[str, Any]) -> None:
        super().__init__(http, account)
        self.connect_factory = connect
        self.inbox: Recorder | None = None

    async def listen(self) -> Recorder:
        client = await self.connect_factory(self.account["access_token"], [NOTIFICATIONS])
        self.inbox = Recorder(client, NOTIFICATIONS)
        return self.inbox

    async def notified(self, type: str, count: int = 1, timeout: float = 5) -> list[dict[str, Any]]:
        """The ``notification`` events of ``type`` received so far, once there are ``count``."""
        assert self.inbox is not None, "call listen() first"
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [n for n in self.inbox.events["notification"] if n["type"] == type]
            if len(found) >= count:
                return found
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, (type, [n["type"] for n in self.inbox.events["notification"]])
            try:
                await self.inbox.wait_for(
                    "notification", len(self.inbox.events["notification"]) + 1, timeout=left
                )
            except TimeoutError:
                pass

    async def balance(self, currency: str = "USD") -> tuple[int, int]:
        wallet = await self.ok("GET", "/wallet")
        found = [b for b in wallet["balances"] if b["currency"] == currency]
        return (found[0]["available"], found[0]["held"]) if found else (0, 0)

    async def ledger(self) -> list[dict[str, Any]]:
        entries, cursor = [], None
        while True:
            page = await self.ok(
                "GET",
                "/wallet/ledger",
                params={"limit": 100, **({"cursor": cursor} if cursor else {})},
            )
            entries.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return entries

    async def deposit(
        self, amount: int, method: str = "pm_card_ok", currency: str = "USD", **kwargs: Any
    ) -> dict[str, Any]:
        """Deposit through the sandbox; the settled deposit once its webhook landed."""
        pending = await self.ok(
            "POST",
            "/wallet/deposits",
            {"amount": amount, "currency": currency, "payment_method": method},
            status=202,
            **kwargs,
        )
        assert pending["status"] == "pending"
        return await eventually(
            lambda: self.ok("GET", f"/wallet/deposits/{pending['id']}"),
            lambda d: d["status"] != "pending",
        )


async def admin_party(
    app: Any, http: TestClient, connect: Any, email: str = "judge@example.com"
) -> Party:
    """An admin account (made as ``hub create-admin`` makes one), logged in."""
    await app[HUB].accounts.create_admin(email, "correct horse")
    login = await http.post(f"{API}/auth/login", json={"email": email, "password": "correct horse"})
    return Party(http, connect, await login.json())


async def eventually(
    fetch: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], timeout: float = 5.0
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still {value!r} after {timeout}s"
        await asyncio.sleep(0.02)


def signed(
    event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(event)
    return body, {"Content-Type": "application/json", "X-Hub-Signature": sign(secret, body, at)}


async def post_webhook(http: TestClient, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    response = await http.post(API + "/payments/webhook", data=body, headers=headers)
    return response.status, await response.json(content_type=None)
