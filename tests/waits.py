"""Waiting in tests: on a condition, never for a fixed time, except to show that
nothing more happens.

``eventually`` polls a condition (plain or async) until it holds, bounded by a
timeout; prefer a recorded event (``Recorder.wait_for``) where there is one.
``quiet`` is the one deliberate fixed wait for events that must *not* arrive:
there is nothing to wait on, so it lets ``QUIET_S`` pass before the caller
checks that nothing came.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

POLL_S = 0.02
# Long enough for an event already on its way over loopback to land: everything the
# hub sends in response to one request goes out well within this, in one process.
QUIET_S = 0.2


async def eventually(
    condition: Callable[[], Any],
    done: Callable[[Any], bool] = bool,
    *,
    timeout: float = 5.0,
    message: str | Callable[[], str] = "",
) -> Any:
    """Call ``condition`` (a function, or one returning an awaitable) until
    ``done(value)`` holds, and return that value; fail after ``timeout`` seconds
    with the last value (and ``message``) in the assertion."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if done(value):
            return value
        if loop.time() >= deadline:
            note = message() if callable(message) else message
            raise AssertionError(f"still {value!r} after {timeout} s {note}".rstrip())
        await asyncio.sleep(POLL_S)


async def quiet(seconds: float = QUIET_S) -> None:
    """Let ``seconds`` pass on purpose, so that a check that something did *not*
    arrive (or did not happen) means something."""
    await asyncio.sleep(seconds)
