"""Open-time calendars: when a clock runs, as UTC windows computed one local day at a time.

Each local day's ranges are converted to UTC separately, so DST days come out right (a 09:00-19:00
day is 10 h of open time on both change days, a 00:00-24:00 day is 23 h or 25 h), and windows
that touch (ranges sharing a bound, 24:00 followed by 00:00) are merged so that a deadline never
lands on an artificial boundary.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from bot.config.catalog import CalendarSpec, Catalog, TimeRange
from bot.sla.kinds import ClockKind

Window = tuple[datetime, datetime]
"""An open window [opens, closes) as aware UTC datetimes."""

SEARCH_HORIZON_DAYS = 5 * 366
"""How far ahead a search for open time goes before deciding the calendar never opens."""

# Merging stops once a window is this long, so an all-day, every-day calendar still yields;
# the boundary this introduces is a year away from where the search started.
_MERGE_LIMIT = timedelta(days=366)
# Stands for "never closes" in the single window of a plain always-open calendar.
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
_CACHE_DAYS = 20_000


class CalendarError(ValueError):
    """The calendar cannot answer: it never opens in the searched future."""


def require_aware(at: datetime, what: str = "instant") -> datetime:
    """Return `at` in UTC; ValueError if it is naive (a naive instant is ambiguous evidence)."""
    if at.tzinfo is UTC:  # the common case (the database gives UTC): nothing to check or convert
        return at
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of local `day` `at`. A time the clocks skip (02:30 on a spring-forward
    day) is the instant they skip at: a 02:30-06:00 range opens at 03:00 then, where Python's
    reading of such a time (with the offset before the change: 03:30) loses 30 min of it."""
    local = datetime.combine(day, at, zone)
    after = local.astimezone(UTC)  # the old offset: past the jump
    if after.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return after  # a time that exists (the first of the two on a fall-back day)
    before = local.replace(fold=1).astimezone(UTC)  # the new offset: before the jump
    offset = after.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:  # the jump: the first second with the new offset
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


@lru_cache(maxsize=512)
def _holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


@dataclass(frozen=True, slots=True)
class _Day:
    windows: tuple[Window, ...]
    ends_at: datetime  # the next local midnight, in UTC


class Calendar:
    """Weekly open ranges in a time zone, minus public holidays and closed dates, or always open."""

    def __init__(
        self,
        name: str,
        zone: ZoneInfo,
        week: Sequence[Sequence[TimeRange]] = (),
        *,
        holidays_country: str | None = None,
        subdivision: str | None = None,
        closed: Iterable[date] = (),
        always_open: bool = False,
    ) -> None:
        if always_open:
            # Closed dates still apply to a 24/7 calendar: model it as 00:00-24:00 every day.
            week = [[TimeRange(time(0), time.max)]] * 7
        if len(week) != 7:
            raise ValueError("week needs 7 lists of ranges, Monday first")
        self.name = name
        self.zone = zone
        self.week: tuple[tuple[TimeRange, ...], ...] = tuple(tuple(sorted(d)) for d in week)
        self.holidays_country = holidays_country
        self.subdivision = subdivision
        self.closed = frozenset(closed)
        # Without any closed day, one window from `start` to the end of time is exact and cheap.
        self.always_open = always_open and holidays_country is None and not self.closed
        self._days: dict[date, _Day] = {}

    def __repr__(self) -> str:
        return f"Calendar({self.name!r}, {self.zone.key})"

    def is_closed_date(self, day: date) -> bool:
        """Whether a local date is a public holiday or an extra closed date."""
        if day in self.closed:
            return True
        return self.holidays_country is not None and day in _holiday_dates(
            self.holidays_country, self.subdivision, day.year
        )

    def _day(self, day: date) -> _Day:
        cached = self._days.get(day)
        if cached is not None:
            return cached
        ends_at = datetime.combine(day + timedelta(days=1), time(0), self.zone).astimezone(UTC)
        windows: list[Window] = []
        if not self.is_closed_date(day):
            for open_range in self.week[day.weekday()]:
                opens = _instant(day, open_range.start, self.zone)
                closes = (
                    ends_at
                    if open_range.ends_at_midnight
                    else _instant(day, open_range.end, self.zone)
                )
                if closes <= opens:  # a range swallowed by a DST gap
                    continue
                if windows and opens <= windows[-1][1]:
                    windows[-1] = (windows[-1][0], max(windows[-1][1], closes))
                else:
                    windows.append((opens, closes))
        if len(self._days) >= _CACHE_DAYS:
            self._days.clear()
        result = self._days[day] = _Day(tuple(windows), ends_at)
        return result

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def open_windows(self, start: datetime, until: datetime | None = None) -> Iterator[Window]:
        """UTC open windows from `start` on (the first clipped to it), merged where they touch."""
        # With `until`, the search stops after the last window opening before it. Without, a
        # calendar with no open time for SEARCH_HORIZON_DAYS raises CalendarError, not a hang.
        start = require_aware(start, "start")
        end = None if until is None else require_aware(until, "until")
        if self.always_open:
            yield start, END_OF_TIME
            return
        day = self._local_date(start)
        pending: Window | None = None
        days_without_open_time = 0
        while True:
            info = self._day(day)
            found = False
            for opens, closes in info.windows:
                if closes <= start:
                    continue
                opens = max(opens, start)
                if end is not None and opens >= end:
                    break
                found = True
                if (
                    pending is not None
                    and opens <= pending[1]
                    and pending[1] - pending[0] < _MERGE_LIMIT
                ):
                    pending = (pending[0], max(pending[1], closes))
                else:
                    if pending is not None:
                        yield pending
                    pending = (opens, closes)
            # Only a window reaching the next local midnight can merge with tomorrow's.
            if pending is not None and pending[1] < info.ends_at:
                yield pending
                pending = None
            if end is not None and info.ends_at >= end:
                if pending is not None:
                    yield pending
                return
            days_without_open_time = 0 if found else days_without_open_time + 1
            if end is None and days_without_open_time > SEARCH_HORIZON_DAYS:
                raise CalendarError(
                    f"calendar {self.name!r} has no open time in the "
                    f"{SEARCH_HORIZON_DAYS} days after {day - timedelta(days=SEARCH_HORIZON_DAYS)}"
                )
            day += timedelta(days=1)

    def open_time(self, start: datetime, end: datetime) -> timedelta:
        """Open time within [start, end); zero if end is not after start."""
        start = require_aware(start, "start")
        end = require_aware(end, "end")
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self.open_windows(start, until=end):
            total += min(closes, end) - opens
        return total

    def is_open(self, at: datetime) -> bool:
        """Whether the calendar is open at `at` (windows are closed at their opening instant)."""
        at = require_aware(at, "at")
        if self.always_open:
            return True
        return any(
            opens <= at < closes for opens, closes in self._day(self._local_date(at)).windows
        )


def add_open_time(start: datetime, budget: timedelta, calendar: Calendar) -> datetime:
    """UTC instant at which `budget` of open time has elapsed since `start`."""
    # A zero budget is due at `start` itself, even when the calendar is closed then: the
    # window loop below would otherwise return the next opening.
    start = require_aware(start, "start")
    if budget < timedelta(0):
        raise ValueError(f"budget must not be negative: {budget}")
    if not budget:
        return start
    remaining = budget
    for opens, closes in calendar.open_windows(start):
        if opens + remaining <= closes:
            return opens + remaining
        remaining -= closes - opens
    raise AssertionError("open_windows() never ends")  # pragma: no cover


def build_calendar(spec: CalendarSpec, zone: ZoneInfo, name: str = "calendar") -> Calendar:
    """A Calendar from its catalog entry, in the catalog's time zone."""
    return Calendar(
        name,
        zone,
        spec.week(),
        holidays_country=spec.holidays,
        subdivision=spec.subdivision,
        closed=spec.closed,
        always_open=spec.always_open,
    )


@lru_cache(maxsize=64)
def _cached_calendar(
    name: str,
    zone_key: str,
    week: tuple[tuple[TimeRange, ...], ...],
    holidays_country: str | None,
    subdivision: str | None,
    closed: frozenset[date],
    always_open: bool,
) -> Calendar:
    # Keyed on content: a reloaded catalog with the same calendar keeps its day cache.
    return Calendar(
        name,
        ZoneInfo(zone_key),
        week,
        holidays_country=holidays_country,
        subdivision=subdivision,
        closed=closed,
        always_open=always_open,
    )


def calendar_for(catalog: Catalog, level_name: str, clock: ClockKind | str) -> Calendar:
    """The calendar a level's GTI or GTR clock runs on; ValueError for an unknown level."""
    level = catalog.levels.get(level_name)
    if level is None:
        known = ", ".join(sorted(catalog.levels)) or "none"
        raise ValueError(f"unknown level {level_name!r} (one of {known})")
    return named_calendar(
        catalog, level.calendar_for("gti" if ClockKind(clock) is ClockKind.GTI else "gtr")
    )


# The calendars of the catalogs in use, by identity: resolving a name is on the path of every
# clock reading (`/sla status` reads one per open ticket); the catalog is immutable.
_BY_CATALOG: dict[tuple[int, str], tuple[Catalog, Calendar]] = {}


def named_calendar(catalog: Catalog, name: str) -> Calendar:
    """The catalog's calendar called `name` (cached); ValueError for an unknown name."""
    known = _BY_CATALOG.get((id(catalog), name))
    if known is not None and known[0] is catalog:
        return known[1]
    spec = catalog.calendars.get(name)
    if spec is None:
        raise ValueError(f"unknown calendar {name!r}")
    calendar = _cached_calendar(
        name,
        catalog.timezone,
        tuple(tuple(ranges) for ranges in spec.week()),
        spec.holidays,
        spec.subdivision,
        frozenset(spec.closed),
        spec.always_open,
    )
    if len(_BY_CATALOG) >= 256:  # catalogs reloaded many times: forget the old ones
        _BY_CATALOG.clear()
    _BY_CATALOG[(id(catalog), name)] = (catalog, calendar)
    return calendar


def budget_for(catalog: Catalog, level_name: str, clock: ClockKind | str) -> timedelta:
    """A level's GTI or GTR budget; ValueError for an unknown level."""
    level = catalog.levels.get(level_name)
    if level is None:
        known = ", ".join(sorted(catalog.levels)) or "none"
        raise ValueError(f"unknown level {level_name!r} (one of {known})")
    return level.budget_for("gti" if ClockKind(clock) is ClockKind.GTI else "gtr")
