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


class Bucket:
    """One probe's results in the current hour. The engine keeps it with the probe and counts
    into it (no lookup per result); `HourlyRollups.roll()` empties it in place."""

    __slots__ = ("count", "failures", "latencies_ms")

    def __init__(self) -> None:
        self.count = 0
        self.failures = 0
        self.latencies_ms: array[float] = array("f")  # 4 bytes a sample, not a float object

    def add(self, ok: bool, latency_ms: float | None) -> None:
        """Count one result."""
        self.count += 1
        if not ok:
            self.failures += 1
        if latency_ms is not None:
            self.latencies_ms.append(latency_ms)


class HourlyRollups:
    """Accumulates the current hour in memory; `roll()` hands back the finished hour's rows."""

    def __init__(self, hour: datetime) -> None:
        self.hour = hour_start(hour)
        self._buckets: dict[str, Bucket] = {}

    def bucket(self, key: str) -> Bucket:
        """The counters of `key`: valid for as long as this object, across `roll()`."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket()
        return bucket

    def add(self, key: str, ok: bool, latency_ms: float | None) -> None:
        """Count one result in the current hour."""
        self.bucket(key).add(ok, latency_ms)

    def roll(self, new_hour: datetime) -> list[Rollup]:
        """Rows for the hour so far (probes with results); accumulation restarts at `new_hour`."""
        rows = []
        for key, bucket in self._buckets.items():
            if not bucket.count:
                continue
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
            bucket.count = bucket.failures = 0
            bucket.latencies_ms = array("f")
        self.hour = hour_start(new_hour)
        return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
