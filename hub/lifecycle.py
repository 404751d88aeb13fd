"""``hub serve``'s process around the app: what SIGTERM and SIGINT do.

aiohttp's own signal handling starts its shutdown by no longer reading from
any connection, so a client's events sent after SIGTERM would go unanswered
until its socket timed out. Instead the hub drains first, while every
connection is still read: new events are answered ``unavailable``, the acks
in flight finish, every socket is told and closed (Hub.shut_down_sockets).
Only then does aiohttp's shutdown run. A watchdog thread ends the process
with status 0 when the grace period is over, whatever a client or a stuck
part does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading

from aiohttp import web

from .context import HUB

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def drain_on_signals(app: web.Application) -> None:
    """on_startup hook: route SIGTERM and SIGINT through the hub's drain."""
    loop = asyncio.get_running_loop()
    hub = app[HUB]
    begun = False

    def begin() -> None:
        nonlocal begun
        if begun:
            return
        begun = True
        log.info("shutting down", extra={"fields": {"grace_s": hub.settings.shutdown_grace_s}})
        _arm_watchdog(hub.settings.shutdown_grace_s)
        draining = loop.create_task(hub.shut_down_sockets())
        draining.add_done_callback(lambda task: _hand_over_to_aiohttp(loop, task))

    for signum in SIGNALS:
        loop.add_signal_handler(signum, begin)


def _hand_over_to_aiohttp(loop: asyncio.AbstractEventLoop, drained: asyncio.Task[None]) -> None:
    if not drained.cancelled() and drained.exception() is not None:
        log.error("shutdown: draining failed", exc_info=drained.exception())
    loop.call_soon(_raise_graceful_exit)


def _raise_graceful_exit() -> None:
    # Raised from a loop callback, GracefulExit (a SystemExit) stops
    # web.run_app's loop, which then runs the app's cleanup.
    raise web.GracefulExit()


def _arm_watchdog(grace_s: float) -> None:
    timer = threading.Timer(grace_s, _exit_now, args=(grace_s,))
    timer.daemon = True
    timer.start()


def _exit_now(grace_s: float) -> None:
    log.warning("shutdown: still running after the %.1f s grace period; exiting now", grace_s)
    logging.shutdown()
    os._exit(0)
