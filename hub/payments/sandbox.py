"""The built-in ``sandbox`` provider: a card processor's test mode, in process.

Deposits with ``pm_card_ok`` succeed and with ``pm_card_declined`` fail
(``card_declined``); payouts to ``ba_ok`` (the default) are paid and to
``ba_fail`` fail (``account_closed``). The outcome is delivered like a real
processor's: after ``delay_s``, as a signed webhook POSTed over HTTP to the
hub's own ``/api/v1/payments/webhook``, retried a few times on connection
errors, 429 and 5xx answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import orjson

from storage.records import DepositRecord, PayoutRecord

from ..clock import new_id
from .signing import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

CARD_OK = "pm_card_ok"
CARD_DECLINED = "pm_card_declined"
BANK_OK = "ba_ok"
BANK_FAILS = "ba_fail"
WEBHOOK_PATH = "/api/v1/payments/webhook"
ATTEMPTS = 4


class SandboxProvider:
    name = "sandbox"
    default_destination = BANK_OK

    def __init__(self, base_url: str, secret: str, delay_s: float = 0.2) -> None:
        self.webhook_url = base_url.rstrip("/") + WEBHOOK_PATH
        self.secret = secret
        self.delay_s = delay_s
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def check_payment_method(self, payment_method: str) -> str | None:
        if payment_method in (CARD_OK, CARD_DECLINED):
            return None
        return f"The sandbox takes {CARD_OK!r} or {CARD_DECLINED!r}"

    def check_destination(self, destination: str) -> str | None:
        if destination in (BANK_OK, BANK_FAILS):
            return None
        return f"The sandbox pays out to {BANK_OK!r} or {BANK_FAILS!r}"

    async def create_deposit(self, deposit: DepositRecord) -> str:
        ok = deposit.payment_method == CARD_OK
        return self._outcome(
            deposit,
            f"sbx_ch_{deposit.id}",
            "deposit.succeeded" if ok else "deposit.failed",
            None if ok else "card_declined",
        )

    async def create_payout(self, payout: PayoutRecord) -> str:
        ok = payout.destination != BANK_FAILS
        return self._outcome(
            payout,
            f"sbx_po_{payout.id}",
            "payout.paid" if ok else "payout.failed",
            None if ok else "account_closed",
        )

    def _outcome(
        self, record: DepositRecord | PayoutRecord, ref: str, type: str, failure: str | None
    ) -> str:
        """Deliver the event ``type`` about ``record`` later; its reference ``ref``."""
        self._later(
            {
                "id": f"evt_{new_id()}",
                "type": type,
                "data": {
                    "id": record.id,
                    "amount": record.amount,
                    "currency": record.currency,
                    "provider_ref": ref,
                    "failure_reason": failure,
                },
            }
        )
        return ref

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _later(self, event: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: dict[str, Any]) -> None:
        await asyncio.sleep(self.delay_s)
        await self.start()
        assert self._session is not None
        for attempt in range(ATTEMPTS):
            body = orjson.dumps({**event, "created": int(time.time())})
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(self.secret, body),
            }
            try:
                async with self._session.post(
                    self.webhook_url, data=body, headers=headers
                ) as response:
                    if response.status < 500 and response.status != 429:
                        if response.status >= 300:
                            log.error(
                                "sandbox webhook %s refused: %s %s",
                                event["id"],
                                response.status,
                                await response.text(),
                            )
                        return
                    reason = f"HTTP {response.status}"
            except (TimeoutError, aiohttp.ClientError) as exc:
                reason = repr(exc)
            log.warning(
                "sandbox webhook %s to %s failed (%s), attempt %d of %d",
                event["id"],
                self.webhook_url,
                reason,
                attempt + 1,
                ATTEMPTS,
            )
            await asyncio.sleep(self.delay_s * 2**attempt + 0.05)
