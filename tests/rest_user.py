"""One account's REST calls, shared by the REST-level tests."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

API = "/api/v1"


class RestUser:
    """Calls ``/api/v1`` as one account; every error must be problem+json."""

    def __init__(self, http: TestClient, account: dict[str, Any]) -> None:
        self.http = http
        self.account = account
        self.id: str = account["user"]["id"]
        self.headers = {"Authorization": f"Bearer {account['access_token']}"}

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
