"""Time and id helpers shared by every layer."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # 10 bits -> 2 characters


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as the contract wants."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def now_iso() -> str:
    return iso(utc_now())


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


_last_ulid = (0, 0)
_ulid_lock = threading.Lock()


def new_id() -> str:
    """A ULID: 26 characters, sortable by creation time, opaque to clients.

    Monotonic within a process: ids made in the same millisecond increase (the
    random part is incremented), so lists ordered by id follow creation order.
    """
    global _last_ulid
    with _ulid_lock:
        ms = int(time.time() * 1000)
        last_ms, last_random = _last_ulid
        if ms <= last_ms and last_random < (1 << 80) - 1:
            ms, random_part = last_ms, last_random + 1
        else:
            # Not a secret (access is checked on every read), so no syscall per id.
            random_part = random.getrandbits(80)
        _last_ulid = (ms, random_part)
    value = (ms << 80) | random_part
    return "".join([_CROCKFORD_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])
