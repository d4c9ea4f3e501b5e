"""The monthly intervention allowance: calendar months in the catalog's time zone.

A ticket belongs to the month of its registration instant (the real call time) read in the
catalog's zone, so a call at 00:30 Paris on the 1st counts for the new month although it is
still the previous month in UTC. Only software kinds count.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.sla.calendar import require_aware
from bot.sla.kinds import TicketKind, counts_towards_allowance


class Intervention(NamedTuple):
    """What the allowance needs to know of a ticket."""

    kind: TicketKind
    registered_at: datetime


@dataclass(frozen=True)
class AllowanceUsage:
    """Interventions of one client in one month against the level's allowance."""

    year: int
    month: int
    allowance: int
    used: int
    by_kind: Mapping[TicketKind, int]

    @property
    def remaining(self) -> int:
        return max(self.allowance - self.used, 0)

    @property
    def exhausted(self) -> bool:
        """No counting ticket may be opened within the allowance this month."""
        return self.used >= self.allowance


def month_bounds(year: int, month: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in `zone`, as UTC instants."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    start = datetime(year, month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(next_year, next_month, 1, tzinfo=zone).astimezone(UTC)
    return start, end


def month_of(at: datetime, zone: ZoneInfo) -> tuple[int, int]:
    """(year, month) of an instant, read in `zone`."""
    local = require_aware(at, "at").astimezone(zone)
    return local.year, local.month


def allowance_usage(
    interventions: Iterable[Intervention], year: int, month: int, zone: ZoneInfo, allowance: int
) -> AllowanceUsage:
    """Counting interventions registered in the month, in total and by kind."""
    start, end = month_bounds(year, month, zone)
    by_kind: Counter[TicketKind] = Counter(
        item.kind
        for item in interventions
        if counts_towards_allowance(item.kind)
        and start <= require_aware(item.registered_at, "registered_at") < end
    )
    return AllowanceUsage(year, month, allowance, sum(by_kind.values()), dict(by_kind))


def within_allowance(
    interventions: Iterable[Intervention],
    kind: TicketKind,
    at: datetime,
    zone: ZoneInfo,
    allowance: int,
) -> bool:
    """Whether a new `kind` ticket at `at` fits the allowance, given the client's earlier ones."""
    if not counts_towards_allowance(kind):
        return True
    year, month = month_of(at, zone)
    return not allowance_usage(interventions, year, month, zone, allowance).exhausted
