"""Local times the CLIs read (`sla due --start`, `report --as-of`), shared by them.

A naive local time is an instant in the catalog's zone, but one the clocks show twice or skip
at a DST change is refused, saying why and how to choose, rather than guessed. The zone
arithmetic is `local_instants`, which the recorded call time of a ticket uses too; the refusal
lives here, with the CLIs: its text is the CLIs' English usage message, not the catalog's
(FR/EN) that `bot.services.calltime` answers Slack users with, and it reads a typed time
differently (calltime takes the latest of two instants not in the future)."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.services.calltime import local_instants


def local_instant(value: datetime, zone: ZoneInfo) -> datetime:
    """The naive local time `value` as an instant in `zone`; ValueError, saying why and how to
    choose, for a local time the clocks show twice (going back) or skip (going forward)."""
    # Refused rather than guessed: a deadline or a report read at the wrong one of two instants
    # is an hour off, and nothing would say so.
    instants = local_instants(value, zone)
    if len(instants) == 2:
        first, second = (at.astimezone(zone).isoformat() for at in instants)
        raise ValueError(
            f"is ambiguous in {zone.key}, where the clocks go back that night and show it twice:"
            f" {first} or {second}; write the one you mean with its offset"
        )
    if not instants:
        before = value.replace(tzinfo=zone, fold=0).utcoffset()
        after = value.replace(tzinfo=zone, fold=1).utcoffset()
        raise ValueError(
            f"does not exist in {zone.key}: the clocks go forward that night and skip it"
            f" (from UTC{_offset(before)} to UTC{_offset(after)}); write a time outside the"
            " skipped hour, or give an offset"
        )
    return instants[0].astimezone(zone)


def _offset(offset: timedelta | None) -> str:
    """A UTC offset as ISO-8601 writes it: +01:00."""
    return datetime(2000, 1, 1, tzinfo=timezone(offset or timedelta(0))).isoformat()[-6:]
