"""Hand-checked deadlines: each row was worked out on paper from the calendar, in Paris time.

Business hours: Mon-Fri 09:00-19:00, Sat-Sun 09:00-18:00, French public holidays and
2026-12-24 closed. 2026-11-27 is a Friday; 2026-03-29 and 2026-10-25 are the DST Sundays.
"""

from datetime import datetime, timedelta

import pytest

from bot.config import parse_duration
from bot.sla import Calendar, Clock, Pause, add_open_time
from tests.sla.calendars import (
    ALSACE,
    ALWAYS,
    ALWAYS_FR,
    BUSINESS,
    BUSINESS_NO_HOLIDAYS,
    DAILY_09_19,
    PARIS,
    paris,
)

H = timedelta(hours=1)


def local(text: str) -> datetime:
    """A Paris wall-clock instant written "YYYY-MM-DD HH:MM"."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


# (id, calendar, start, budget, expected deadline), instants in Paris time.
CASES: list[tuple[str, Calendar, str, str, str]] = [
    # The contract's own example and its neighbours.
    ("friday-18h-4h-saturday-noon", BUSINESS, "2026-11-27 18:00", "4h", "2026-11-28 12:00"),
    ("friday-18h-4h-on-24-7-due-22h", ALWAYS, "2026-11-27 18:00", "4h", "2026-11-27 22:00"),
    ("sunday-18h30-4h-monday-13h", BUSINESS, "2026-11-29 18:30", "4h", "2026-11-30 13:00"),
    ("sunday-18h30-8h-due-monday-17h", BUSINESS, "2026-11-29 18:30", "8h", "2026-11-30 17:00"),
    ("saturday-18h30-1h-sunday-10h", BUSINESS, "2026-11-28 18:30", "1h", "2026-11-29 10:00"),
    ("sunday-6h-3h-due-noon", BUSINESS, "2026-11-29 06:00", "3h", "2026-11-29 12:00"),
    # Exact opening and closing instants.
    ("start-at-opening-monday-9h-1h", BUSINESS, "2026-11-30 09:00", "1h", "2026-11-30 10:00"),
    ("at-closing-19h-1h-next-10h", BUSINESS, "2026-11-30 19:00", "1h", "2026-12-01 10:00"),
    ("at-closing-sat-18h-30m-sun-9h30", BUSINESS, "2026-11-28 18:00", "30m", "2026-11-29 09:30"),
    ("ends-at-closing-19h", BUSINESS, "2026-11-30 15:00", "4h", "2026-11-30 19:00"),
    ("ends-at-closing-sat-18h", BUSINESS, "2026-11-28 14:00", "4h", "2026-11-28 18:00"),
    ("18h59-1m-due-at-closing", BUSINESS, "2026-11-30 18:59", "1m", "2026-11-30 19:00"),
    ("18h59-2m-due-next-9h01", BUSINESS, "2026-11-30 18:59", "2m", "2026-12-01 09:01"),
    ("before-opening-7h-1h-10h", BUSINESS, "2026-11-30 07:00", "1h", "2026-11-30 10:00"),
    ("midnight-start-2h-due-11h", BUSINESS, "2026-12-01 00:00", "2h", "2026-12-01 11:00"),
    ("whole-weekday-10h-closing", BUSINESS, "2026-12-01 09:00", "10h", "2026-12-01 19:00"),
    # Public holidays and closed dates.
    ("may-1st-friday-closed", BUSINESS, "2026-04-30 18:00", "4h", "2026-05-02 12:00"),
    ("start-on-may-1st-waits", BUSINESS, "2026-05-01 10:00", "1h", "2026-05-02 10:00"),
    ("may-8th-friday-closed", BUSINESS, "2026-05-07 18:30", "1h", "2026-05-09 09:30"),
    ("ascension-closed", BUSINESS, "2026-05-13 15:00", "8h", "2026-05-15 13:00"),
    ("easter-monday-closed", BUSINESS, "2026-04-05 17:00", "4h", "2026-04-07 12:00"),
    ("july-14th-tuesday-closed", BUSINESS, "2026-07-13 18:00", "2h", "2026-07-15 10:00"),
    ("all-saints-sunday-closed", BUSINESS, "2026-10-31 17:00", "2h", "2026-11-02 10:00"),
    ("armistice-closed", BUSINESS, "2026-11-10 18:00", "4h", "2026-11-12 12:00"),
    ("dec-24-closed-and-christmas", BUSINESS, "2026-12-23 18:00", "4h", "2026-12-26 12:00"),
    ("no-holidays-dec-24-open", BUSINESS_NO_HOLIDAYS, "2026-12-23 18:00", "4h", "2026-12-24 12:00"),
    ("christmas-24-7-open", ALWAYS, "2026-12-24 22:00", "4h", "2026-12-25 02:00"),
    ("new-year-friday-closed", BUSINESS, "2026-12-31 18:00", "4h", "2027-01-02 12:00"),
    ("alsace-closes-dec-26", ALSACE, "2026-12-23 18:00", "4h", "2026-12-27 12:00"),
    ("alsace-closes-good-friday", ALSACE, "2026-04-02 18:00", "2h", "2026-04-04 10:00"),
    ("good-friday-open-elsewhere", BUSINESS, "2026-04-02 18:00", "2h", "2026-04-03 10:00"),
    ("24-7-fr-skips-dec-25", ALWAYS_FR, "2026-12-24 23:00", "2h", "2026-12-26 01:00"),
    # DST changes: 2026-03-29 (02:00 -> 03:00) and 2026-10-25 (03:00 -> 02:00).
    ("spring-dst-sat-17h-4h-noon", BUSINESS, "2026-03-28 17:00", "4h", "2026-03-29 12:00"),
    ("spring-dst-overnight-2h", BUSINESS, "2026-03-28 17:30", "2h", "2026-03-29 10:30"),
    ("spring-dst-whole-sunday-9h", BUSINESS, "2026-03-29 09:00", "9h", "2026-03-29 18:00"),
    ("spring-dst-09-19-is-10h", DAILY_09_19, "2026-03-29 09:00", "10h", "2026-03-29 19:00"),
    ("spring-dst-24-7-across-gap", ALWAYS, "2026-03-29 01:00", "4h", "2026-03-29 06:00"),
    ("spring-dst-24-7-from-sat-23h", ALWAYS, "2026-03-28 23:00", "4h", "2026-03-29 04:00"),
    ("autumn-dst-sat-17h-4h-noon", BUSINESS, "2026-10-24 17:00", "4h", "2026-10-25 12:00"),
    ("autumn-dst-whole-sunday", BUSINESS, "2026-10-24 18:00", "9h", "2026-10-25 18:00"),
    ("autumn-dst-09-19-is-10h", DAILY_09_19, "2026-10-25 09:00", "10h", "2026-10-25 19:00"),
    ("autumn-dst-24-7-across-repeat", ALWAYS, "2026-10-25 01:00", "4h", "2026-10-25 04:00"),
    # Long and zero budgets.
    ("two-day-budget-business", BUSINESS, "2026-11-30 09:00", "2d", "2026-12-04 17:00"),
    ("two-day-budget-24-7", ALWAYS, "2026-11-30 09:00", "2d", "2026-12-02 09:00"),
    ("24-7-half-hour-to-midnight", ALWAYS, "2026-11-30 23:30", "30m", "2026-12-01 00:00"),
    ("zero-budget-at-start-closed", BUSINESS, "2026-11-29 20:00", "0m", "2026-11-29 20:00"),
    ("zero-budget-24-7-at-start", ALWAYS, "2026-11-29 20:00", "0m", "2026-11-29 20:00"),
]


@pytest.mark.parametrize(
    ("calendar", "start", "budget", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_deadline_matches_the_hand_checked_value(
    calendar: Calendar, start: str, budget: str, expected: str
) -> None:
    """add_open_time gives the deadline worked out by hand for each case."""
    deadline = add_open_time(local(start), parse_duration(budget), calendar)
    assert deadline == local(expected)


# (id, calendar, start, budget, pauses, expected deadline)
PAUSED_CASES: list[tuple[str, Calendar, datetime, timedelta, tuple[Pause, ...], datetime]] = [
    (
        "pause-across-the-weekend",  # 1 h consumed on Friday, 3 h left from Monday 09:30
        BUSINESS,
        paris(2026, 11, 27, 17),
        4 * H,
        (Pause(paris(2026, 11, 27, 18), paris(2026, 11, 30, 9, 30)),),
        paris(2026, 11, 30, 12, 30),
    ),
    (
        "pause-of-closed-time-changes-nothing",
        BUSINESS,
        paris(2026, 11, 27, 18),
        4 * H,
        (Pause(paris(2026, 11, 27, 19, 30), paris(2026, 11, 28, 8)),),
        paris(2026, 11, 28, 12),
    ),
    (
        "two-pauses-on-saturday-morning",  # 1 h Fri, then 09:00-09:30, 10:00-10:30, 11:00-12:00
        BUSINESS,
        paris(2026, 11, 27, 18),
        4 * H,
        (
            Pause(paris(2026, 11, 28, 9, 30), paris(2026, 11, 28, 10)),
            Pause(paris(2026, 11, 28, 10, 30), paris(2026, 11, 28, 11)),
        ),
        paris(2026, 11, 28, 13),
    ),
    (
        "pause-on-24-7-shifts-by-its-length",
        ALWAYS,
        paris(2026, 11, 27, 18),
        4 * H,
        (Pause(paris(2026, 11, 27, 19), paris(2026, 11, 27, 20, 15)),),
        paris(2026, 11, 27, 23, 15),
    ),
]


@pytest.mark.parametrize(
    ("calendar", "start", "budget", "pauses", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in PAUSED_CASES],
)
def test_paused_deadline_matches_the_hand_checked_value(
    calendar: Calendar,
    start: datetime,
    budget: timedelta,
    pauses: tuple[Pause, ...],
    expected: datetime,
) -> None:
    """A clock's deadline moves by the open time its pauses cover, as worked out by hand."""
    clock = Clock(start, budget, calendar, pauses)
    assert clock.deadline(now=expected) == expected
