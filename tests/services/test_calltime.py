"""`--at`: the call time a technician gives, in the catalog's time zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.errors import UserFacingError
from bot.services.calltime import resolve_call_time

PARIS = ZoneInfo("Europe/Paris")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        (local(27, 16), "15:30", local(27, 15, 30)),  # earlier today
        (local(27, 1, 19), "23:30", local(26, 23, 30)),  # after midnight: last night's call
        (local(27, 1, 19), "01:19", local(27, 1, 19)),  # now itself
        (local(27, 11), "23:00", local(26, 23)),  # 12 h ago: still yesterday's
        (local(27, 14), "02:00", local(27, 2)),  # today's, 12 h ago
        (local(27, 3, 10), "2h50", local(27, 2, 50)),  # as French writes it
        (local(27, 3, 10), "02H50", local(27, 2, 50)),
        (local(27, 16), "15h", local(27, 15)),  # the hour alone, as French writes 15:00
        (local(27, 16), "9h", local(27, 9)),
        (local(27, 16), "09H", local(27, 9)),
    ],
)
def test_hh_mm_is_the_latest_such_time(now: datetime, text: str, expected: datetime) -> None:
    at = resolve_call_time(text, now=now.astimezone(UTC), zone=PARIS)
    assert at == expected
    assert at.tzinfo is UTC


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (local(27, 16), "16:30"),  # half an hour from now, not 23.5 h ago: a typo
        (local(27, 11, 1), "23:00"),  # yesterday's is more than 12 h ago
    ],
)
def test_hh_mm_still_to_come_and_not_last_night_is_refused(now: datetime, text: str) -> None:
    with pytest.raises(UserFacingError) as refused:
        resolve_call_time(text, now=now.astimezone(UTC), zone=PARIS)
    assert refused.value.key == "ticket.at_future"


def test_across_the_end_of_summer_time() -> None:
    """On 25 October 2026 Paris goes from UTC+2 to UTC+1 at 03:00: 23:30 the evening before
    is 23:30 UTC+2."""
    now = datetime(2026, 10, 25, 4, 0, tzinfo=PARIS)
    at = resolve_call_time("23:30", now=now.astimezone(UTC), zone=PARIS)
    assert at == datetime(2026, 10, 24, 21, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2026-11-27", "ticket.at_no_time"),  # a day: not midnight, which would breach at once
        ("20261127", "ticket.at_no_time"),
        ("9:5", "ticket.at_invalid"),  # 09:05 or 09:50?
        ("0920", "ticket.at_invalid"),
        ("15", "ticket.at_invalid"),  # an hour, a day of the month, a duration?
        ("15h5", "ticket.at_invalid"),  # 15:05 or 15:50?
        ("15hh", "ticket.at_invalid"),
        ("h30", "ticket.at_invalid"),
        ("25:00", "ticket.at_invalid"),
    ],
)
def test_a_call_time_without_a_clear_time_of_day_is_refused(text: str, key: str) -> None:
    with pytest.raises(UserFacingError) as refused:
        resolve_call_time(text, now=local(27, 16).astimezone(UTC), zone=PARIS)
    assert refused.value.key == key


@pytest.mark.parametrize(
    ("now_utc", "text", "expected_utc"),
    [
        # 25 October 2026: 02:00-03:00 Paris happens twice (UTC+2, then UTC+1).
        ((1, 10), "02:05", (1, 5)),  # at 02:10 of the second pass: 5 minutes ago, not 1h05
        ((1, 10), "02:15", (0, 15)),  # 02:15 of the second pass is to come: the first one
        ((0, 10), "02:05", (0, 5)),  # during the first pass: the first pass
        ((2, 30), "02:05", (1, 5)),  # an hour later: the latest of the two
    ],
)
def test_hh_mm_in_the_hour_lived_twice_is_the_latest_past_one(
    now_utc: tuple[int, int], text: str, expected_utc: tuple[int, int]
) -> None:
    """When the clocks go back, a time seen twice is the latest one not in the future, as on
    any other night; the first one would cost the clock an hour the client never waited."""
    now = datetime(2026, 10, 25, *now_utc, tzinfo=UTC)
    at = resolve_call_time(text, now=now, zone=PARIS)
    assert at == datetime(2026, 10, 25, *expected_utc, tzinfo=UTC)


def test_hh_mm_in_the_hour_skipped_reads_as_a_clock_not_yet_put_forward() -> None:
    """29 March 2026: 02:30 Paris does not exist; a clock still on UTC+1 showed it at 01:30 UTC."""
    now = datetime(2026, 3, 29, 1, 40, tzinfo=UTC)
    assert resolve_call_time("02:30", now=now, zone=PARIS) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("now_utc", "expected_utc"),
    [
        # 25 October 2026: 02:00-03:00 Paris happens twice (UTC+2, then UTC+1).
        ((1, 10), (1, 5)),  # at 02:10 of the second pass: 5 minutes ago, not 1h05
        ((2, 30), (1, 5)),  # an hour later: the latest of the two
        ((0, 10), (0, 5)),  # during the first pass: the first pass, the second is to come
    ],
)
def test_iso_without_offset_in_the_hour_lived_twice_is_the_latest_past_one(
    now_utc: tuple[int, int], expected_utc: tuple[int, int]
) -> None:
    """A date and time without offset, seen twice when the clocks go back, reads as `HH:MM`
    does: the latest of the two that is not in the future."""
    now = datetime(2026, 10, 25, *now_utc, tzinfo=UTC)
    at = resolve_call_time("2026-10-25T02:05", now=now, zone=PARIS)
    assert at == datetime(2026, 10, 25, *expected_utc, tzinfo=UTC)


def test_iso_with_an_offset_in_the_hour_lived_twice_is_taken_as_written() -> None:
    """An offset says which pass: the first one stays the first one."""
    now = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    at = resolve_call_time("2026-10-25T02:05+02:00", now=now, zone=PARIS)
    assert at == datetime(2026, 10, 25, 0, 5, tzinfo=UTC)


def test_iso_without_offset_in_the_hour_lived_twice_both_to_come_is_refused() -> None:
    """At 01:50 (before either pass), 02:05 is in the future whichever pass it names."""
    now = datetime(2026, 10, 24, 23, 50, tzinfo=UTC)
    with pytest.raises(UserFacingError) as refused:
        resolve_call_time("2026-10-25T02:05", now=now, zone=PARIS)
    assert refused.value.key == "ticket.at_future"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2026-11-27T16:00:30", "2026-11-27 16:00:30"),  # 30 s ahead: the seconds say why
        ("2026-11-27T16:05", "2026-11-27 16:05"),  # whole minutes: no seconds
        ("2026-11-27T16:00:00.250", "2026-11-27 16:00:00.25"),
    ],
)
def test_a_call_time_in_the_future_is_shown_as_precisely_as_it_was_given(
    text: str, shown: str
) -> None:
    """At 16:00:00, 16:00:30 is refused; "16:00 is in the future" would not say why."""
    with pytest.raises(UserFacingError) as refused:
        resolve_call_time(text, now=local(27, 16).astimezone(UTC), zone=PARIS)
    assert refused.value.key == "ticket.at_future"
    assert refused.value.values == {"at": shown}


@pytest.mark.parametrize(
    ("text", "key", "shown"),
    [
        # An offset, or midnight of year 1, takes the instant past what a datetime holds in UTC.
        ("0001-01-01T00:00+01:00", "ticket.at_too_old", "0001-01-01T00:00+01:00"),
        ("0001-01-01T00:00", "ticket.at_too_old", "0001-01-01T00:00"),
        ("9999-12-31T23:59-01:00", "ticket.at_future", "9999-12-31T23:59-01:00"),
        ("0001-01-01T00:30", "ticket.at_too_old", "0001-01-01 00:30"),  # the year as typed
    ],
)
def test_a_call_time_at_the_ends_of_the_calendar_is_refused_by_name(
    text: str, key: str, shown: str
) -> None:
    """A typo in the year of an ISO-8601 call time is told as such, not "Internal error"."""
    with pytest.raises(UserFacingError) as refused:
        resolve_call_time(text, now=local(27, 16).astimezone(UTC), zone=PARIS)
    assert refused.value.key == key
    assert refused.value.values == {"at": shown}


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        (local(27, 0, 30), "24:00", local(27, 0)),  # last night's midnight, half an hour ago
        (local(27, 16), "24h00", local(27, 0)),
        (local(27, 16), "2026-11-26T24:00", local(27, 0)),
        (local(27, 16), "2026-11-26T24:00:00+01:00", local(27, 0)),
        (local(27, 16), "2026-11-26T24:00Z", local(27, 1)),
    ],
)
def test_24_00_is_the_midnight_that_ends_its_day(
    now: datetime, text: str, expected: datetime
) -> None:
    """ISO-8601 writes the midnight ending a day `24:00`, as people do: not an unreadable
    time."""
    assert resolve_call_time(text, now=now.astimezone(UTC), zone=PARIS) == expected


def test_24_00_of_today_is_in_the_future() -> None:
    with pytest.raises(UserFacingError) as refused:
        resolve_call_time("2026-11-27T24:00", now=local(27, 16).astimezone(UTC), zone=PARIS)
    assert refused.value.key == "ticket.at_future"
    assert refused.value.values == {"at": "2026-11-28 00:00"}


@pytest.mark.parametrize(
    "text", ["24:01", "24:30", "2026-11-26T24:01", "2026-11-26T24:00:01", "2026-11-26T24:00x"]
)
def test_24_past_midnight_is_still_unreadable(text: str) -> None:
    with pytest.raises(UserFacingError) as refused:
        resolve_call_time(text, now=local(27, 16).astimezone(UTC), zone=PARIS)
    assert refused.value.key == "ticket.at_invalid"


def test_24_00_of_the_last_day_a_date_holds_is_in_the_future() -> None:
    with pytest.raises(UserFacingError) as refused:
        resolve_call_time("9999-12-31T24:00", now=local(27, 16).astimezone(UTC), zone=PARIS)
    assert refused.value.key == "ticket.at_future"
