"""Ids and timestamps as the contract shows them."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from hub.clock import iso, new_id, parse_iso

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_ids_are_ulids_in_creation_order_carrying_their_millisecond() -> None:
    before = int(time.time() * 1000)
    ids = [new_id() for _ in range(2000)]
    after = int(time.time() * 1000)
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for i in (ids[0], ids[-1]):
        value = 0
        for char in i:
            value = value * 32 + CROCKFORD.index(char)
        assert before <= value >> 80 <= after


def test_iso_is_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    assert iso(moment) == "2024-01-02T01:04:05.678Z"
    assert parse_iso(iso(moment)) == moment.replace(microsecond=678000)
