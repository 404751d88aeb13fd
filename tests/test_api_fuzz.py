"""Schemathesis over the served OpenAPI document: the hub keeps its promises.

A real hub on a real port; schemathesis loads ``/api/v1/openapi.json`` from it and
sends generated requests, valid and invalid, to every operation with a client's
bearer token (not an admin's). Every response must be documented (status, content
type, body schema), never a 5xx, and invalid input must be refused with a 4xx.

Each operation runs twice: with generated path ids (which name nothing: the 404
side), and, where the caller has one, with the id of a real resource (so bodies
and queries reach validation and the domain rules).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, CheckFunction, GenerationMode

from market_client import MARKET, hire, post_bid, post_job
from users import PASSWORD, User, Users

pytestmark = [pytest.mark.slow, MARKET]  # schemathesis over every operation

# Few examples per operation, mode and id set keep the run bounded on a 2-core
# machine; derandomize makes a failure reproducible run after run.
FUZZ_SETTINGS = hypothesis_settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    # No shrinking: a failure is reported at once, with the request that caused it.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
)
CHECKS: list[CheckFunction] = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
]
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                # schemathesis's default list plus 413: a body over HUB_MAX_PAYLOAD_BYTES is
                # refused before it is read (documented on every operation with a body).
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "406",
                    "409",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                    "5xx",
                ],
            }
        }
    }
)
# Which real resource an operation's {id} names, by the path before it.
RESOURCES = {
    "/api/v1/jobs": "job",
    "/api/v1/bids": "bid",
    "/api/v1/milestones": "milestone",
    "/api/v1/admin/milestones": "milestone",
    "/api/v1/conversations": "conversation",
    "/api/v1/messages": "message",
    "/api/v1/users": "freelancer",
    "/api/v1/admin/users": "freelancer",
    "/api/v1/wallet/deposits": "deposit",
    "/api/v1/wallet/payouts": "payout",
    "/api/v1/notifications": "notification",
}


@dataclass(frozen=True)
class Failure:
    operation: str
    mode: GenerationMode
    ids: str
    error: str


async def world(users: Users) -> tuple[User, dict[str, str]]:
    """A client (the fuzzer) with money, a job in progress with a freelancer's
    accepted bid, a funded milestone, a conversation, a message, a notification,
    a deposit and a payout; the ids of each."""
    (client,) = await users("fuzzer")
    (fred,) = await users("fred", role="freelancer")
    deposit = await client.deposit(1_000_000)
    job = await post_job(
        client, title="Fuzzed", description="A job to fuzz", budget_min=100, budget_max=500
    )
    bid = await post_bid(fred, job, 300, period_days=3, proposal="Me")
    await hire(client, fred, bid)
    milestone = await client.ok(
        "POST",
        f"/jobs/{job['id']}/milestones",
        {"amount": 300, "description": "All of it"},
        status=201,
    )
    conversation = await client.ok("GET", f"/bids/{bid['id']}/conversation")
    message = await client.ok(
        "POST", f"/conversations/{conversation['id']}/messages", {"text": "hello"}, status=201
    )
    payout = await client.ok(
        "POST", "/wallet/payouts", {"amount": 100, "currency": "USD"}, status=202
    )
    notification = (await client.ok("GET", "/notifications"))["items"][0]
    return client, {
        "job": job["id"],
        "bid": bid["id"],
        "milestone": milestone["id"],
        "conversation": conversation["id"],
        "message": message["id"],
        "freelancer": fred.id,
        "deposit": deposit["id"],
        "payout": payout["id"],
        "notification": notification["id"],
    }


def fuzz(base_url: str, login: dict[str, str], ids: dict[str, str]) -> list[Failure]:
    """Every operation of the served document: generated ids, then real ones;
    positive then negative data. ``login`` is the caller's email and password."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    runs = [(operation, {}) for operation in operations]
    runs += [(operation, real) for operation in operations if (real := _real_ids(operation, ids))]
    failures: list[Failure] = []
    with requests.Session() as session:
        for operation, path_ids in runs:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                # A fresh session each time: some operations end the caller's
                # (logout-all, revoking sessions), which must not blind the rest.
                session.headers["Authorization"] = f"Bearer {_log_in(session, base_url, login)}"
                try:
                    _operation_test(operation, mode, path_ids, base_url, session)()
                except Unsatisfiable:
                    # Nothing to make invalid: no body, no query, ids fixed.
                    assert mode is GenerationMode.NEGATIVE, operation.label
                # schemathesis raises a FailureGroup (a BaseExceptionGroup) when
                # checks fail; collected so that one run reports every operation.
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(
                        Failure(
                            operation.label,
                            mode,
                            "real" if path_ids else "generated",
                            _shorten(str(exc)),
                        )
                    )
    return failures


def _log_in(session: requests.Session, base_url: str, login: dict[str, str]) -> str:
    response = session.post(f"{base_url}/api/v1/auth/login", json=login, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _real_ids(operation: APIOperation, ids: dict[str, str]) -> dict[str, str]:
    """The path parameters naming the caller's real resources ({} if none)."""
    prefix, has_id, _ = operation.path.partition("/{id}")
    if not has_id or prefix not in RESOURCES:
        return {}
    real = {"id": ids[RESOURCES[prefix]]}
    if "{user_id}" in operation.path:
        real["user_id"] = ids["freelancer"]
    return real


def _operation_test(
    operation: APIOperation,
    mode: GenerationMode,
    path_ids: dict[str, str],
    base_url: str,
    session: requests.Session,
) -> Callable[[], None]:
    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_ids or None))
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base_url, session=session, checks=CHECKS)

    return run


def _shorten(text: str, limit: int = 3000) -> str:
    """A failure's text without the megabyte-long bodies some reproductions carry."""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more)"


async def test_every_operation_keeps_the_documented_contract(
    server: TestServer, users: Users
) -> None:
    client, ids = await world(users)
    base_url = str(server.make_url("")).rstrip("/")
    # schemathesis is synchronous (requests): it runs in a thread while this
    # loop serves the hub.
    login = {"email": client.account["user"]["email"], "password": PASSWORD}
    failures = await asyncio.to_thread(fuzz, base_url, login, ids)
    report = "\n\n".join(
        f"== {f.operation} ({f.mode.value} data, {f.ids} ids)\n{f.error}" for f in failures
    )
    assert not failures, f"{len(failures)} run(s) broke the contract:\n{report}"
