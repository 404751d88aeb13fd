"""Accounts in the tests: registering them, and acting as one over REST and sockets.

- ``Api`` (the ``api`` fixture of conftest.py) registers accounts on the hub under
  test; ``Users`` (the ``users`` fixture) registers them as ``User``s;
- ``RestUser``: one account's ``/api/v1`` calls (every error must be problem+json);
- ``User``: a ``RestUser`` that also opens sockets as the account: any namespace
  (``socket``), its /notifications inbox (``listen``, ``notified``), and its wallet.

The tests that run hub processes register over their own HTTP sessions, with
``registration`` as the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio
from aiohttp.test_utils import TestClient

from hub.context import HUB
from recorder import Recorder
from waits import eventually

API = "/api/v1"
PASSWORD = "correct horse"
CONVERSATIONS = "/conversations"
NOTIFICATIONS = "/notifications"

SocketFactory = Callable[..., Awaitable[socketio.AsyncClient]]


def registration(name: str, role: str = "client") -> dict[str, str]:
    """The body of ``POST /auth/register`` for ``name`` (``<name>@example.com``)."""
    return {
        "email": f"{name}@example.com",
        "password": PASSWORD,
        "display_name": name,
        "role": role,
    }


def bearer(account: dict[str, Any]) -> dict[str, str]:
    """The Authorization header of an account (a register or login response)."""
    return {"Authorization": f"Bearer {account['access_token']}"}


class RestUser:
    """Calls ``/api/v1`` as one account; every error must be problem+json."""

    def __init__(self, http: TestClient, account: dict[str, Any]) -> None:
        self.http = http
        self.account = account
        self.id: str = account["user"]["id"]
        self.token: str = account["access_token"]
        self.headers = bearer(account)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        response = await self.http.request(
            method,
            API + path,
            json=body,
            params=params,
            headers={**self.headers, **(headers or {})},
        )
        data = await response.json(content_type=None) if response.status != 204 else None
        if response.status >= 400:
            assert response.content_type == "application/problem+json", data
            assert data["status"] == response.status, data
        return response.status, data

    async def ok(
        self, method: str, path: str, body: Any = None, status: int = 200, **kwargs: Any
    ) -> Any:
        code, data = await self.call(method, path, body, **kwargs)
        assert code == status, (method, path, code, data)
        return data

    async def fails(
        self, method: str, path: str, body: Any = None, *, status: int, code: str, **kwargs: Any
    ) -> Any:
        got, data = await self.call(method, path, body, **kwargs)
        assert (got, data["code"]) == (status, code), (method, path, got, data)
        return data


class User(RestUser):
    """One account: its REST calls, its sockets, its notifications and its wallet."""

    def __init__(self, http: TestClient, connect: SocketFactory, account: dict[str, Any]) -> None:
        super().__init__(http, account)
        self.connect = connect
        self._inbox: Recorder | None = None

    async def socket(self, namespace: str = CONVERSATIONS) -> Recorder:
        """A new connection of this account to ``namespace``, recording what it hears."""
        return Recorder(await self.connect(self.token, [namespace]), namespace)

    # --- /notifications ----------------------------------------------------------------

    async def listen(self) -> Recorder:
        """Open the account's /notifications socket (``inbox``)."""
        self._inbox = await self.socket(NOTIFICATIONS)
        return self._inbox

    @property
    def inbox(self) -> Recorder:
        assert self._inbox is not None, "call listen() first"
        return self._inbox

    def notifications(self, type: str) -> list[dict[str, Any]]:
        """The ``notification`` events of ``type`` received so far."""
        return [n for n in self.inbox.events["notification"] if n["type"] == type]

    async def notified(self, type: str, count: int = 1, timeout: float = 5) -> list[dict[str, Any]]:
        """The ``notification`` events of ``type`` received so far, once there are ``count``."""
        try:
            await self.inbox.until(lambda: len(self.notifications(type)) >= count, timeout)
        except TimeoutError:
            heard = [n["type"] for n in self.inbox.events["notification"]]
            raise AssertionError((type, count, heard)) from None
        return self.notifications(type)

    # --- conversations ----------------------------------------------------------------

    async def send(
        self, conversation_id: str, text: str, attachments: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """``POST /conversations/{id}/messages``: the message."""
        body: dict[str, Any] = {"text": text}
        if attachments is not None:
            body["attachments"] = attachments
        return await self.ok(
            "POST", f"/conversations/{conversation_id}/messages", body, status=201, **kwargs
        )

    async def upload(
        self, conversation_id: str, data: bytes, name: str, mime: str, **extra: Any
    ) -> dict[str, Any]:
        """``POST /uploads``, then the bytes PUT where its ticket says: the ticket."""
        body = {"conversation_id": conversation_id, "name": name, "size": len(data), "mime": mime}
        ticket: dict[str, Any] = await self.ok("POST", "/uploads", {**body, **extra}, status=201)
        status = await put_bytes(self.http, ticket["upload_url"], data, ticket["headers"])
        assert status in (200, 204), status
        return ticket

    async def attachment(
        self, conversation_id: str, data: bytes, name: str, mime: str
    ) -> dict[str, Any]:
        """An uploaded, completed attachment."""
        ticket = await self.upload(conversation_id, data, name, mime)
        attachment: dict[str, Any] = await self.ok("POST", f"/uploads/{ticket['id']}/complete")
        return attachment

    # --- the wallet -------------------------------------------------------------------

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
            done=lambda d: d["status"] != "pending",
        )


async def put_bytes(http: TestClient, url: str, data: bytes, headers: dict[str, str]) -> int:
    """PUT to a URL a ticket gave: the hub's own (a path) or an object store's."""
    if not urlsplit(url).netloc:
        response = await http.put(url, data=data, headers=headers)
        return response.status
    async with (
        aiohttp.ClientSession() as session,
        session.put(url, data=data, headers=headers) as answer,
    ):
        return answer.status


class Api:
    """Registers accounts on the hub under test (``user1``, ``user2``... when unnamed)."""

    def __init__(self, http: TestClient) -> None:
        self.http = http
        self._count = 0

    async def register(self, name: str | None = None, role: str = "client") -> dict[str, Any]:
        """A new account: the register response (``user``, ``access_token``...)."""
        self._count += 1
        response = await self.http.post(
            f"{API}/auth/register", json=registration(name or f"user{self._count}", role)
        )
        assert response.status == 201, await response.text()
        return await response.json()

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.http.post(
            f"{API}/auth/login", json={"email": email, "password": password}
        )
        assert response.status == 200, await response.text()
        return await response.json()

    auth = staticmethod(bearer)


class Users:
    """The ``users`` fixture: ``await users("ann", "bob")`` registers one ``User``
    per name (``role=`` for all of them); ``await users.admin()`` makes an admin."""

    def __init__(self, api: Api, connect: SocketFactory, app: Any) -> None:
        self.api = api
        self.connect = connect
        self.app = app

    async def __call__(self, *names: str, role: str = "client") -> list[User]:
        return [self.of(await self.api.register(name, role=role)) for name in names]

    def of(self, account: dict[str, Any]) -> User:
        """The ``User`` of an account registered (or logged in) already."""
        return User(self.api.http, self.connect, account)

    async def admin(self, email: str = "judge@example.com") -> User:
        """An admin account (made as ``hub create-admin`` makes one), logged in."""
        await self.app[HUB].accounts.create_admin(email, PASSWORD)
        return self.of(await self.api.login(email))
