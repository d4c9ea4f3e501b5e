"""Hourly rollups in memory: counts, failures and percentiles per probe and UTC hour."""

from datetime import UTC, datetime, timedelta

from bot.probes.rollup import HourlyRollups

T0 = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)


def test_an_hour_rolls_into_one_row_per_probe_with_results() -> None:
    """Counts, failures and nearest-rank percentiles; probes without results give no row."""
    rollups = HourlyRollups(T0)
    web = rollups.bucket("web/icmp")
    rollups.bucket("idle/icmp")
    for latency_ms in range(1, 101):
        web.add(True, float(latency_ms))
    web.add(False, None)
    (row,) = rollups.roll(T0 + timedelta(hours=1))
    assert (row.key, row.hour_start) == ("web/icmp", datetime(2026, 3, 2, 10, tzinfo=UTC))
    assert (row.count, row.failures, row.p50_ms, row.p95_ms) == (101, 1, 50.0, 95.0)


def test_a_bucket_held_across_a_roll_counts_into_the_new_hour() -> None:
    """The engine keeps each probe's bucket: after roll() it is empty and counts the new hour."""
    rollups = HourlyRollups(T0)
    web = rollups.bucket("web/icmp")
    web.add(True, 1.0)
    rollups.roll(T0 + timedelta(hours=1))
    web.add(False, None)
    rollups.add("web/icmp", True, 3.0)
    (row,) = rollups.roll(T0 + timedelta(hours=2))
    assert (row.hour_start, row.count, row.failures) == (datetime(2026, 3, 2, 11, tzinfo=UTC), 2, 1)
    assert row.p50_ms == row.p95_ms == 3.0
