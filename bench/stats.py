"""Aggregation of the workers' raw samples."""

from __future__ import annotations

import array
from collections.abc import Iterable


def merge(blobs: Iterable[bytes]) -> list[int]:
    samples = array.array("q")
    for blob in blobs:
        samples.frombytes(blob)
    return sorted(samples)


def percentile_ms(sorted_ns: list[int], p: float) -> float | None:
    """Nearest-rank percentile of nanosecond samples, in milliseconds."""
    if not sorted_ns:
        return None
    rank = max(0, min(len(sorted_ns) - 1, round(p / 100 * len(sorted_ns) + 0.5) - 1))
    return sorted_ns[rank] / 1e6


def summary(sorted_ns: list[int]) -> dict[str, float | int | None]:
    return {
        "samples": len(sorted_ns),
        "p50_ms": percentile_ms(sorted_ns, 50),
        "p90_ms": percentile_ms(sorted_ns, 90),
        "p99_ms": percentile_ms(sorted_ns, 99),
        "max_ms": sorted_ns[-1] / 1e6 if sorted_ns else None,
    }
