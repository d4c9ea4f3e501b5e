"""Properties of deadline arithmetic that must hold for any start, budget and calendar."""

from datetime import UTC, datetime, timedelta
from itertools import islice

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sla import Calendar, Clock, ClockState, Pause, add_open_time
from tests.sla.calendars import ALSACE, ALWAYS, ALWAYS_FR, BUSINESS, DAILY_09_19

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
TINY = timedelta(microseconds=1)

instants = st.integers(0, 2 * 366 * 24 * 60).map(lambda m: EPOCH + timedelta(minutes=m))
budgets = st.integers(0, 10 * 24 * 60).map(lambda m: timedelta(minutes=m))
positive_budgets = st.integers(1, 10 * 24 * 60).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from([BUSINESS, ALWAYS, ALSACE, DAILY_09_19, ALWAYS_FR])
closing_calendars = st.sampled_from([BUSINESS, ALSACE, DAILY_09_19])
fractions = st.floats(0, 1)

PROPERTY = settings(max_examples=80, deadline=None)


@PROPERTY
@given(calendars, instants, positive_budgets)
def test_deadline_never_falls_inside_closed_time(
    calendar: Calendar, start: datetime, budget: timedelta
) -> None:
    """A non-zero budget runs out in an open window or at its closing instant, never later."""
    deadline = add_open_time(start, budget, calendar)
    assert deadline > start
    assert calendar.is_open(deadline - TINY)


@PROPERTY
@given(calendars, instants, budgets, budgets)
def test_adding_budgets_is_associative(
    calendar: Calendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    """Spending a then b from the first deadline ends where spending a + b at once ends."""
    step = add_open_time(add_open_time(start, first, calendar), second, calendar)
    assert step == add_open_time(start, first + second, calendar)


@PROPERTY
@given(calendars, instants, budgets)
def test_open_time_from_start_to_deadline_is_the_budget(
    calendar: Calendar, start: datetime, budget: timedelta
) -> None:
    """The calendar counts exactly the budget between a start and its deadline."""
    assert calendar.open_time(start, add_open_time(start, budget, calendar)) == budget


@PROPERTY
@given(instants, budgets)
def test_always_open_deadline_is_start_plus_budget(start: datetime, budget: timedelta) -> None:
    """On 24/7, a budget is exact elapsed time whatever the date, DST days included."""
    assert add_open_time(start, budget, ALWAYS) - start == budget


@PROPERTY
@given(calendars, instants, budgets, budgets)
def test_deadline_is_monotonic_in_the_budget(
    calendar: Calendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    """A larger budget never gives an earlier deadline."""
    small, large = sorted((first, second))
    assert add_open_time(start, small, calendar) <= add_open_time(start, large, calendar)


@PROPERTY
@given(calendars, instants, instants, budgets)
def test_deadline_is_monotonic_in_the_start(
    calendar: Calendar, first: datetime, second: datetime, budget: timedelta
) -> None:
    """A later start never gives an earlier deadline."""
    early, late = sorted((first, second))
    assert add_open_time(early, budget, calendar) <= add_open_time(late, budget, calendar)


@PROPERTY
@given(closing_calendars, instants, positive_budgets, st.integers(0, 5), fractions, fractions)
def test_a_pause_of_closed_time_changes_nothing(
    calendar: Calendar,
    start: datetime,
    budget: timedelta,
    gap_index: int,
    a: float,
    b: float,
) -> None:
    """Pausing only while the calendar is closed leaves the deadline where it was."""
    windows = list(islice(calendar.open_windows(start), gap_index + 2))
    gap_start, gap_end = windows[gap_index][1], windows[gap_index + 1][0]
    low, high = sorted((a, b))
    pause = Pause(gap_start + (gap_end - gap_start) * low, gap_start + (gap_end - gap_start) * high)
    plain = Clock(start, budget, calendar)
    paused = Clock(start, budget, calendar, (pause,))
    now = pause.ended_at or start
    assert paused.deadline(now) == plain.deadline(now)
    assert paused.consumed(now) == plain.consumed(now)


@PROPERTY
@given(calendars, instants, budgets, st.integers(0, 14 * 24 * 60), st.integers(0, 3 * 24 * 60))
def test_remaining_plus_consumed_is_the_budget_while_running(
    calendar: Calendar, start: datetime, budget: timedelta, elapsed: int, paused_for: int
) -> None:
    """Until the clock breaches, what is left and what is used add up to the budget."""
    now = start + timedelta(minutes=elapsed)
    pause_start = start + timedelta(minutes=elapsed // 2)
    pause_end = pause_start + timedelta(minutes=paused_for)
    # A pause that has not ended by `now` is still open.
    pause = Pause(pause_start, pause_end if pause_end <= now else None)
    status = Clock(start, budget, calendar, (pause,)).status(now)
    if status.state is ClockState.BREACHED:
        assert status.remaining == timedelta(0)
        assert status.consumed >= budget
    else:
        assert status.remaining + status.consumed == budget


@PROPERTY
@given(calendars, instants, budgets, st.integers(0, 3 * 24 * 60), st.integers(0, 3 * 24 * 60))
def test_consumed_at_the_deadline_is_the_budget(
    calendar: Calendar, start: datetime, budget: timedelta, pause_after: int, paused_for: int
) -> None:
    """Whatever the pauses, a clock has consumed exactly its budget at its deadline."""
    pause_start = start + timedelta(minutes=pause_after)
    pause_end = pause_start + timedelta(minutes=paused_for)
    clock = Clock(start, budget, calendar, (Pause(pause_start, pause_end),))
    deadline = clock.deadline(pause_end)
    assert clock.consumed(deadline) == budget
    assert calendar.open_time(start, deadline) - clock.consumed(deadline) == calendar.open_time(
        min(pause_start, deadline), min(pause_end, deadline)
    )
