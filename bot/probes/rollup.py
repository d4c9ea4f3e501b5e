"""Hourly rollups: per probe and UTC hour, the count, the failures and latency percentiles."""

import math
from array import array
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Rollup:
    """One probe's results over one UTC hour; percentiles over the results that had a latency."""

    key: str
    hour_start: datetime
    count: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None


def hour_start(at: datetime) -> datetime:
    """The start of the UTC hour containing `at`."""
    return at.replace(minute=0, second=0, microsecond=0)


def percentile(sorted_values: "array[float] | list[float]", fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


class _Bucket:
    __slots__ = ("count", "failures", "latencies_ms")

    def __init__(self) -> None:
        self.count = 0
        self.failures = 0
        self.latencies_ms: array[float] = array("f")  # 4 bytes a sample, not a float object


class HourlyRollups:
    """Accumulates the current hour in memory; `roll()` hands back the finished hour's rows."""

    def __init__(self, hour: datetime) -> None:
        self.hour = hour_start(hour)
        self._buckets: dict[str, _Bucket] = {}

    def add(self, key: str, ok: bool, latency_ms: float | None) -> None:
        """Count one result in the current hour."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket()
        bucket.count += 1
        if not ok:
            bucket.failures += 1
        if latency_ms is not None:
            bucket.latencies_ms.append(latency_ms)

    def roll(self, new_hour: datetime) -> list[Rollup]:
        """Rows for the hour so far; accumulation restarts at `new_hour`."""
        rows = []
        for key, bucket in self._buckets.items():
            samples = sorted(bucket.latencies_ms)
            rows.append(
                Rollup(
                    key,
                    self.hour,
                    bucket.count,
                    bucket.failures,
                    _round(percentile(samples, 0.50)),
                    _round(percentile(samples, 0.95)),
                )
            )
        self.hour = hour_start(new_hour)
        self._buckets = {}
        return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
