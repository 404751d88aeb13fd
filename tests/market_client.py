"""Helpers for the marketplace tests: the settings that let the sandbox payment
provider's webhooks reach the hub under test, signed webhook deliveries, and
jobs, bids and hires.

The hub listens on its settings' port (conftest.py), which is where its sandbox
delivers webhooks (``base_url`` is ``http://127.0.0.1:<port>``).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from hub.payments import sign
from users import API, User

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
# A known webhook secret, and webhooks delivered soon after each payment.
MARKET = pytest.mark.hub_settings(
    payments_webhook_secret=WEBHOOK_SECRET, sandbox_webhook_delay_s=0.05
)


def signed(
    event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(event)
    return body, {"Content-Type": "application/json", "X-Hub-Signature": sign(secret, body, at)}


async def post_webhook(http: TestClient, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    response = await http.post(API + "/payments/webhook", data=body, headers=headers)
    return response.status, await response.json(content_type=None)


def job_body(**fields: Any) -> dict[str, Any]:
    """``POST /jobs``: a published fixed-price USD job, with ``fields`` changed."""
    return {
        "title": "Mobile app",
        "description": "iOS and Android",
        "skills": ["swift"],
        "budget_min": 1_000,
        "budget_max": 9_000,
        "currency": "USD",
        "type": "fixed",
        "publish": True,
        **fields,
    }


def bid_body(amount: int = 5_000, **fields: Any) -> dict[str, Any]:
    """``POST /jobs/{id}/bids``: a USD bid of ``amount``, with ``fields`` changed."""
    return {
        "amount": amount,
        "currency": "USD",
        "period_days": 10,
        "proposal": "Hire me",
        **fields,
    }


async def post_job(client: User, **fields: Any) -> dict[str, Any]:
    return await client.ok("POST", "/jobs", job_body(**fields), status=201)


async def post_bid(
    freelancer: User, job: dict[str, Any], amount: int = 5_000, **fields: Any
) -> dict[str, Any]:
    return await freelancer.ok(
        "POST", f"/jobs/{job['id']}/bids", bid_body(amount, **fields), status=201
    )


async def hire(client: User, freelancer: User, bid: dict[str, Any]) -> dict[str, Any]:
    """The client awards ``bid`` and the freelancer accepts: the accepted bid."""
    await client.ok("POST", f"/bids/{bid['id']}/award")
    return await freelancer.ok("POST", f"/bids/{bid['id']}/accept")
