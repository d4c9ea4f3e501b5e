"""Calendars built from catalog specs: windows, DST, holidays, merging, and the never-open guard."""

import time
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest

from bot.config import load_catalog
from bot.sla import CalendarError, ClockKind, add_open_time, budget_for, calendar_for
from tests.sla.calendars import (
    ALSACE,
    ALWAYS,
    ALWAYS_FR,
    BUSINESS,
    DAILY_09_19,
    PARIS,
    WEEKDAYS_09_19,
    calendar,
    paris,
)

EXAMPLE_CATALOG = Path(__file__).resolve().parents[2] / "examples" / "catalog.toml"


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_a_09_19_day_is_ten_hours_on_both_dst_changes(day: date) -> None:
    """Windows are converted to UTC one by one, so a DST day still opens 10 h."""
    start = datetime.combine(day, datetime.min.time(), PARIS)
    assert DAILY_09_19.open_time(start, start + timedelta(days=1)) == timedelta(hours=10)


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 7), 24)]
)
def test_an_all_day_range_follows_the_length_of_the_local_day(day: date, hours: int) -> None:
    """Sunday 00:00-24:00 lasts 23 h when clocks go forward and 25 h when they go back."""
    sundays = calendar("sundays", sunday=["00:00-24:00"])
    local_midnight = datetime.combine(day, datetime.min.time(), PARIS)
    assert next(sundays.open_windows(local_midnight)) == (
        local_midnight,
        datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS),
    )
    assert sundays.open_time(local_midnight, local_midnight + timedelta(days=2)) == timedelta(
        hours=hours
    )


@pytest.mark.parametrize(
    ("ranges", "window"),
    [
        (["02:30-06:00"], ((3, 0), (6, 0))),  # opens when the clocks jump past 02:30
        (["00:00-02:30"], ((0, 0), (3, 0))),  # closes then: 2 h, all of the night that exists
        (["01:00-02:00", "02:30-04:00"], ((1, 0), (4, 0))),  # the jump joins them
    ],
)
def test_a_range_bound_the_clocks_skip_is_the_instant_they_skip_at(
    ranges: list[str], window: tuple[tuple[int, int], tuple[int, int]]
) -> None:
    """On 29 March 2026 Paris goes from 02:00 to 03:00: 02:30 does not exist. Read with the
    offset before the change, it was 03:30, and a 02:30-06:00 range lost half an hour."""
    nights = calendar("nights", sunday=ranges)
    opens, closes = next(nights.open_windows(paris(2026, 3, 29)))
    assert (opens, closes) == (paris(2026, 3, 29, *window[0]), paris(2026, 3, 29, *window[1]))


@pytest.mark.parametrize("start", [paris(2026, 3, 29, 0, 30), paris(2026, 10, 25, 0, 30)])
def test_a_four_hour_budget_on_24_7_is_exactly_14400_seconds(start: datetime) -> None:
    """On an always-open calendar a budget is elapsed time, DST or not."""
    assert (add_open_time(start, timedelta(hours=4), ALWAYS) - start).total_seconds() == 14_400


def test_weekend_all_day_windows_merge_into_one() -> None:
    """Saturday 00:00-24:00 and Sunday 00:00-24:00 make a single window, not two."""
    weekend = calendar("weekend", **{d: ["00:00-24:00"] for d in ("saturday", "sunday")})
    windows = list(weekend.open_windows(paris(2026, 11, 27), until=paris(2026, 11, 30)))
    assert windows == [(paris(2026, 11, 28), paris(2026, 11, 30))]


def test_touching_ranges_merge_into_one_window() -> None:
    """09:00-12:00 and 12:00-19:00 on one day are one window 09:00-19:00."""
    split = calendar("split", monday=["09:00-12:00", "12:00-19:00"])
    assert next(split.open_windows(paris(2026, 11, 30))) == (
        paris(2026, 11, 30, 9),
        paris(2026, 11, 30, 19),
    )


def test_ranges_with_a_lunch_break_stay_two_windows() -> None:
    """A real gap between ranges is closed time."""
    lunch = calendar("lunch", monday=["09:00-12:00", "14:00-18:00"])
    assert list(islice(lunch.open_windows(paris(2026, 11, 30)), 2)) == [
        (paris(2026, 11, 30, 9), paris(2026, 11, 30, 12)),
        (paris(2026, 11, 30, 14), paris(2026, 11, 30, 18)),
    ]
    assert add_open_time(paris(2026, 11, 30, 11), timedelta(hours=2), lunch) == paris(
        2026, 11, 30, 15
    )


def test_every_day_all_day_with_holidays_merges_across_midnights() -> None:
    """24/7 minus holidays is one window from the start to Christmas Day."""
    opens, closes = next(ALWAYS_FR.open_windows(paris(2026, 12, 20, 10)))
    assert (opens, closes) == (paris(2026, 12, 20, 10), paris(2026, 12, 25))


def test_first_window_is_clipped_to_the_start() -> None:
    """A start inside a window opens the first window at the start."""
    assert next(BUSINESS.open_windows(paris(2026, 11, 30, 15))) == (
        paris(2026, 11, 30, 15),
        paris(2026, 11, 30, 19),
    )


def test_windows_are_utc() -> None:
    """Open windows come out as UTC instants."""
    opens, closes = next(BUSINESS.open_windows(paris(2026, 11, 30)))
    assert opens.tzinfo is UTC
    assert closes.tzinfo is UTC
    assert opens == datetime(2026, 11, 30, 8, tzinfo=UTC)


def test_is_open_includes_the_opening_and_excludes_the_closing_instant() -> None:
    """Windows are half-open: open at 09:00, closed at 19:00."""
    assert not BUSINESS.is_open(paris(2026, 11, 30, 8, 59))
    assert BUSINESS.is_open(paris(2026, 11, 30, 9))
    assert BUSINESS.is_open(paris(2026, 11, 30, 18, 59))
    assert not BUSINESS.is_open(paris(2026, 11, 30, 19))
    assert ALWAYS.is_open(paris(2026, 12, 25, 3))


def test_public_holidays_and_closed_dates_are_closed() -> None:
    """1 May, 25 December and the catalog's extra closed date have no open time."""
    for day in (date(2026, 5, 1), date(2026, 12, 25), date(2026, 12, 24)):
        start = datetime.combine(day, datetime.min.time(), PARIS)
        assert BUSINESS.open_time(start, start + timedelta(days=1)) == timedelta(0)
        assert BUSINESS.is_closed_date(day)


def test_a_subdivision_adds_its_own_holidays() -> None:
    """Alsace-Moselle (FR-57) closes on 26 December; the rest of France does not."""
    assert ALSACE.is_closed_date(date(2026, 12, 26))
    assert not BUSINESS.is_closed_date(date(2026, 12, 26))


def test_open_time_is_zero_for_an_empty_or_reversed_interval() -> None:
    """open_time(a, b) with b <= a is zero."""
    assert BUSINESS.open_time(paris(2026, 11, 30, 12), paris(2026, 11, 30, 10)) == timedelta(0)
    assert BUSINESS.open_time(paris(2026, 11, 30, 12), paris(2026, 11, 30, 12)) == timedelta(0)


def test_open_time_over_a_week_adds_up_business_hours() -> None:
    """A week without holidays is 5 x 10 h + 2 x 9 h."""
    assert BUSINESS.open_time(paris(2026, 11, 30), paris(2026, 12, 7)) == timedelta(hours=68)


def test_a_calendar_that_never_opens_raises_after_a_bounded_search() -> None:
    """Open ranges only on closed dates: a clear CalendarError instead of an endless loop."""
    fridays = [date(2026, 12, 4) + timedelta(weeks=n) for n in range(7 * 53)]
    never = calendar("never", friday=["09:00-19:00"], closed=[d.isoformat() for d in fridays])
    started = time.perf_counter()
    with pytest.raises(CalendarError, match="'never' has no open time"):
        add_open_time(paris(2026, 12, 1), timedelta(hours=1), never)
    assert time.perf_counter() - started < 5
    assert never.open_time(paris(2026, 12, 1), paris(2027, 12, 1)) == timedelta(0)


def test_a_naive_start_is_refused() -> None:
    """Naive datetimes are ambiguous evidence and raise ValueError."""
    with pytest.raises(ValueError, match="timezone-aware"):
        add_open_time(datetime(2026, 11, 27, 18), timedelta(hours=4), BUSINESS)  # noqa: DTZ001


def test_a_negative_budget_is_refused() -> None:
    """A budget below zero is a programming error."""
    with pytest.raises(ValueError, match="negative"):
        add_open_time(paris(2026, 11, 27, 18), timedelta(hours=-1), BUSINESS)


def test_a_ten_day_budget_is_computed_by_windows_not_minutes() -> None:
    """Ten days of business hours take well under a millisecond per computation once cached."""
    start = paris(2026, 2, 2, 10)
    add_open_time(start, timedelta(days=10), BUSINESS)
    began = time.perf_counter()
    for _ in range(100):
        add_open_time(start, timedelta(days=10), BUSINESS)
    assert (time.perf_counter() - began) / 100 < 0.005


def test_calendar_for_follows_the_level_and_its_clock_override() -> None:
    """premium runs GTI on business hours and GTR on the 24/7 calendar."""
    catalog = load_catalog(EXAMPLE_CATALOG)
    gti = calendar_for(catalog, "premium", ClockKind.GTI)
    gtr = calendar_for(catalog, "premium", "gtr")
    assert gti.name == "business"
    assert not gti.always_open
    assert gtr.name == "always"
    assert gtr.always_open
    assert calendar_for(catalog, "essentiel", "gti") is calendar_for(catalog, "premium", "gti")
    assert budget_for(catalog, "premium", "gtr") == timedelta(hours=4)


def test_calendar_for_an_unknown_level_names_the_known_ones() -> None:
    """An unknown level is a ValueError listing the catalog's levels."""
    catalog = load_catalog(EXAMPLE_CATALOG)
    with pytest.raises(ValueError, match=r"'gold' \(one of critique, essentiel, premium\)"):
        calendar_for(catalog, "gold", "gti")


def test_weekday_only_calendar_skips_the_weekend() -> None:
    """Mon-Fri only: Friday 18:00 + 4 h is Monday 12:00."""
    office = calendar("office", **WEEKDAYS_09_19)
    assert add_open_time(paris(2026, 11, 27, 18), timedelta(hours=4), office) == paris(
        2026, 11, 30, 12
    )
