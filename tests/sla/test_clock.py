"""Clocks: consumed, remaining, deadline and state from recorded instants and `now`."""

from datetime import UTC, timedelta

import pytest

from bot.sla import Clock, ClockError, ClockState, Pause
from tests.sla.calendars import ALWAYS, BUSINESS, paris

H = timedelta(hours=1)
FRIDAY_18H = paris(2026, 11, 27, 18)
SATURDAY_NOON = paris(2026, 11, 28, 12)


def gtr() -> Clock:
    """The contract's example: 4 h on business hours registered Friday 18:00."""
    return Clock(FRIDAY_18H, 4 * H, BUSINESS)


def test_a_fresh_clock_runs_towards_its_deadline() -> None:
    """Friday 18:30: 30 min consumed, 3 h 30 left, due Saturday noon."""
    status = gtr().status(paris(2026, 11, 27, 18, 30))
    assert status.state is ClockState.RUNNING
    assert status.consumed == timedelta(minutes=30)
    assert status.remaining == timedelta(hours=3, minutes=30)
    assert status.fraction == 0.125
    assert status.deadline == SATURDAY_NOON


def test_nothing_is_consumed_overnight() -> None:
    """At Saturday 08:00 the clock has still used only Friday's hour."""
    assert gtr().consumed(paris(2026, 11, 28, 8)) == H


def test_a_running_clock_past_its_deadline_is_breached() -> None:
    """One microsecond past the deadline is a breach; the deadline itself is not."""
    assert gtr().state(SATURDAY_NOON) is ClockState.RUNNING
    assert gtr().state(SATURDAY_NOON + timedelta(microseconds=1)) is ClockState.BREACHED
    assert gtr().remaining(paris(2026, 11, 28, 15)) == timedelta(0)
    assert gtr().fraction(paris(2026, 11, 28, 15)) == 1.0


def test_a_stop_at_the_deadline_is_met() -> None:
    """Stopping exactly at the deadline keeps the promise."""
    assert gtr().stop(SATURDAY_NOON).state(paris(2026, 11, 30)) is ClockState.MET


def test_a_stop_after_the_deadline_is_breached_even_if_computed_later() -> None:
    """State comes from the instants: a late stop is a breach whenever it is evaluated."""
    clock = gtr().stop(paris(2026, 11, 28, 12, 1))
    assert clock.state(paris(2026, 11, 28, 12, 1)) is ClockState.BREACHED
    assert clock.state(paris(2027, 1, 1)) is ClockState.BREACHED


def test_a_stop_before_the_deadline_is_met_and_freezes_consumption() -> None:
    """Consumed time stops growing at the stop."""
    clock = gtr().stop(paris(2026, 11, 28, 10))
    assert clock.state(paris(2026, 11, 30)) is ClockState.MET
    assert clock.consumed(paris(2026, 11, 30)) == 2 * H
    assert clock.deadline(paris(2026, 11, 30)) == SATURDAY_NOON


def test_a_paused_clock_consumes_nothing_and_its_deadline_follows_now() -> None:
    """While paused, the deadline is the one if the clock resumed now."""
    clock = gtr().pause(paris(2026, 11, 28, 10))
    assert clock.state(paris(2026, 11, 28, 11)) is ClockState.PAUSED
    assert clock.consumed(paris(2026, 11, 28, 17)) == 2 * H
    assert clock.deadline(paris(2026, 11, 28, 11)) == paris(2026, 11, 28, 13)
    assert clock.deadline(paris(2026, 11, 28, 17)) == paris(2026, 11, 29, 10)


def test_a_resumed_clock_shifts_its_deadline_by_the_paused_open_time() -> None:
    """Paused 10:00-11:30 on Saturday: due 13:30 instead of noon."""
    clock = gtr().pause(paris(2026, 11, 28, 10)).resume(paris(2026, 11, 28, 11, 30))
    assert clock.state(paris(2026, 11, 28, 12)) is ClockState.RUNNING
    assert clock.deadline(paris(2026, 11, 28, 12)) == paris(2026, 11, 28, 13, 30)
    assert clock.pauses == (Pause(paris(2026, 11, 28, 10), paris(2026, 11, 28, 11, 30)),)


def test_a_pause_after_the_deadline_does_not_undo_the_breach() -> None:
    """Pausing at 12:30 a clock due at noon leaves it breached."""
    clock = gtr().pause(paris(2026, 11, 28, 12, 30))
    assert clock.state(paris(2026, 11, 28, 13)) is ClockState.BREACHED


def test_start_pause_and_stop_while_closed_are_allowed() -> None:
    """Acts during closed time are recorded; closed time is simply not consumed."""
    clock = Clock(paris(2026, 11, 28, 20), 2 * H, BUSINESS)
    clock = clock.pause(paris(2026, 11, 28, 22)).resume(paris(2026, 11, 29, 7))
    assert clock.deadline(paris(2026, 11, 29, 7)) == paris(2026, 11, 29, 11)
    stopped = clock.stop(paris(2026, 11, 29, 8))
    assert stopped.consumed(paris(2026, 11, 29, 8)) == timedelta(0)
    assert stopped.state(paris(2026, 11, 29, 8)) is ClockState.MET


def test_an_open_pause_on_a_stopped_clock_ends_at_the_stop() -> None:
    """Stopping a paused clock closes its pause at the stop."""
    clock = gtr().pause(paris(2026, 11, 28, 10)).stop(paris(2026, 11, 28, 15))
    assert clock.pauses[-1].ended_at == paris(2026, 11, 28, 15)
    assert clock.state(paris(2026, 11, 28, 16)) is ClockState.MET
    assert clock.consumed(paris(2026, 11, 28, 16)) == 2 * H


def test_zero_budget_is_due_at_its_start() -> None:
    """A zero budget: due at the start, met if stopped then, breached if stopped later."""
    clock = Clock(FRIDAY_18H, timedelta(0), BUSINESS)
    assert clock.deadline(FRIDAY_18H) == FRIDAY_18H
    assert clock.state(FRIDAY_18H) is ClockState.RUNNING
    assert clock.fraction(FRIDAY_18H) == 1.0
    assert clock.stop(FRIDAY_18H).state(FRIDAY_18H) is ClockState.MET
    assert clock.stop(paris(2026, 11, 27, 18, 1)).state(SATURDAY_NOON) is ClockState.BREACHED


def test_instants_are_normalized_to_utc() -> None:
    """A clock stores UTC whatever zone the caller used."""
    clock = gtr()
    assert clock.started_at.tzinfo is UTC
    assert clock.deadline(FRIDAY_18H).tzinfo is UTC


def test_multiple_pauses_on_24_7_add_up() -> None:
    """On 24/7 each pause shifts the deadline by its length."""
    clock = Clock(
        FRIDAY_18H,
        4 * H,
        ALWAYS,
        (
            Pause(paris(2026, 11, 27, 19), paris(2026, 11, 27, 19, 30)),
            Pause(paris(2026, 11, 27, 20), paris(2026, 11, 27, 21)),
        ),
    )
    assert clock.deadline(paris(2026, 11, 27, 21)) == paris(2026, 11, 27, 23, 30)
    assert clock.consumed(paris(2026, 11, 27, 21)) == 90 * timedelta(minutes=1)


@pytest.mark.parametrize(
    ("pauses", "stop", "message"),
    [
        ((Pause(paris(2026, 11, 27, 17), paris(2026, 11, 27, 19)),), None, "before the clock"),
        ((Pause(paris(2026, 11, 27, 20), paris(2026, 11, 27, 19)),), None, "ends before"),
        (
            (
                Pause(paris(2026, 11, 27, 19), paris(2026, 11, 27, 21)),
                Pause(paris(2026, 11, 27, 20), paris(2026, 11, 27, 22)),
            ),
            None,
            "overlaps",
        ),
        (
            (Pause(paris(2026, 11, 27, 19)), Pause(paris(2026, 11, 27, 20))),
            None,
            "not the last",
        ),
        (
            (Pause(paris(2026, 11, 27, 19), paris(2026, 11, 27, 22)),),
            paris(2026, 11, 27, 21),
            "after the clock stops",
        ),
        ((Pause(paris(2026, 11, 27, 22)),), paris(2026, 11, 27, 21), "after the clock stops"),
        ((), paris(2026, 11, 27, 17), "stops before it starts"),
    ],
)
def test_impossible_clocks_are_refused(
    pauses: tuple[Pause, ...], stop: object, message: str
) -> None:
    """Pauses must be ordered, non-overlapping, within [start, stop], only the last open."""
    with pytest.raises(ClockError, match=message):
        Clock(FRIDAY_18H, 4 * H, BUSINESS, pauses, stop)  # type: ignore[arg-type]


def test_transitions_refuse_impossible_moves() -> None:
    """Pause twice, resume a running clock, act on a stopped clock: ClockError."""
    with pytest.raises(ClockError, match="already paused"):
        gtr().pause(paris(2026, 11, 28, 9)).pause(paris(2026, 11, 28, 10))
    with pytest.raises(ClockError, match="not paused"):
        gtr().resume(paris(2026, 11, 28, 9))
    with pytest.raises(ClockError, match="stopped clock"):
        gtr().stop(paris(2026, 11, 28, 9)).pause(paris(2026, 11, 28, 10))
    with pytest.raises(ClockError, match="already stopped"):
        gtr().stop(paris(2026, 11, 28, 9)).stop(paris(2026, 11, 28, 10))


def test_naive_instants_and_negative_budgets_are_refused() -> None:
    """A clock needs aware instants and a budget of at least zero."""
    with pytest.raises(ClockError, match="timezone-aware"):
        Clock(FRIDAY_18H.replace(tzinfo=None), 4 * H, BUSINESS)
    with pytest.raises(ClockError, match="negative"):
        Clock(FRIDAY_18H, -H, BUSINESS)
