"""GTI and GTR clocks: a budget of open time, started, paused and resumed, stopped.

A clock is a record of instants, not a running timer: every answer (consumed, remaining,
deadline, state) is computed from those instants and the `now` the caller passes in. Recorded
instants are assumed not to be after `now`.

Decisions a reader should know:
- The deadline is the first instant at which the consumed open time reaches the budget. It may
  fall on a closing instant (19:00), never strictly inside closed time, except for a zero budget,
  which is due at the start itself.
- A clock is breached strictly after its deadline: a stop at exactly the deadline is met, a stop
  after it is breached however late the stop was recorded, and a running clock is breached as
  soon as `now` is past its deadline. A pause does not save a clock whose deadline passed before
  the pause began.
- Starting, pausing, resuming or stopping while the calendar is closed is allowed; closed time is
  never consumed, so a pause that covers only closed time changes nothing.
- An open pause on a stopped clock is read as ending at the stop.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from bot.sla.calendar import Calendar, add_open_time, require_aware


class ClockError(ValueError):
    """The instants given do not describe a possible clock (bad order, overlap, naive time)."""


class ClockState(StrEnum):
    """Where a clock stands at a given instant."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


class Pause(NamedTuple):
    """A period of waiting on the client; `ended_at` is None while it lasts."""

    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True)
class ClockStatus:
    """Everything a report or a Slack message shows about a clock at one instant."""

    state: ClockState
    consumed: timedelta
    remaining: timedelta
    fraction: float
    deadline: datetime


@dataclass(frozen=True)
class Clock:
    """An immutable GTI or GTR clock; `pause`, `resume` and `stop` return new clocks."""

    started_at: datetime
    budget: timedelta
    calendar: Calendar
    pauses: tuple[Pause, ...] = ()
    stopped_at: datetime | None = None

    def __post_init__(self) -> None:
        try:
            started_at = require_aware(self.started_at, "started_at")
            stopped_at = (
                None if self.stopped_at is None else require_aware(self.stopped_at, "stopped_at")
            )
            pauses = tuple(
                Pause(
                    require_aware(p[0], "pause start"),
                    None if p[1] is None else require_aware(p[1], "pause end"),
                )
                for p in self.pauses
            )
        except ValueError as error:
            raise ClockError(str(error)) from None
        if self.budget < timedelta(0):
            raise ClockError(f"budget must not be negative: {self.budget}")
        if stopped_at is not None and stopped_at < started_at:
            raise ClockError("the clock stops before it starts")
        if pauses and pauses[-1].ended_at is None and stopped_at is not None:
            pauses = (*pauses[:-1], Pause(pauses[-1].started_at, stopped_at))
        previous_end = started_at
        for index, (pause_start, pause_end) in enumerate(pauses):
            if pause_start < previous_end:
                what = "starts before the clock" if index == 0 else "overlaps the previous one"
                raise ClockError(f"pause {index + 1} {what}")
            if stopped_at is not None and pause_start > stopped_at:
                raise ClockError(f"pause {index + 1} starts after the clock stops")
            if pause_end is None:
                if index != len(pauses) - 1:
                    raise ClockError(f"pause {index + 1} has no end but is not the last one")
                continue
            if pause_end < pause_start:
                raise ClockError(f"pause {index + 1} ends before it starts")
            if stopped_at is not None and pause_end > stopped_at:
                raise ClockError(f"pause {index + 1} ends after the clock stops")
            previous_end = pause_end
        object.__setattr__(self, "started_at", started_at)
        object.__setattr__(self, "stopped_at", stopped_at)
        object.__setattr__(self, "pauses", pauses)

    # Transitions -----------------------------------------------------------------------------

    @property
    def is_paused(self) -> bool:
        """Whether the last recorded pause is still open."""
        return bool(self.pauses) and self.pauses[-1].ended_at is None

    def pause(self, at: datetime) -> "Clock":
        """The clock paused at `at`; ClockError if stopped or already paused."""
        if self.stopped_at is not None:
            raise ClockError("a stopped clock cannot be paused")
        if self.is_paused:
            raise ClockError("the clock is already paused")
        return replace(self, pauses=(*self.pauses, Pause(at)))

    def resume(self, at: datetime) -> "Clock":
        """The clock resumed at `at`; ClockError if it is not paused."""
        if not self.is_paused:
            raise ClockError("the clock is not paused")
        return replace(self, pauses=(*self.pauses[:-1], Pause(self.pauses[-1].started_at, at)))

    def stop(self, at: datetime) -> "Clock":
        """The clock stopped at `at` (an open pause ends there); ClockError if already stopped."""
        if self.stopped_at is not None:
            raise ClockError("the clock is already stopped")
        return replace(self, stopped_at=at)

    # Readings --------------------------------------------------------------------------------

    def _running_periods(self, now: datetime) -> list[tuple[datetime, datetime | None]]:
        """Unpaused periods, ignoring the stop; the last is open-ended (from `now` if paused)."""
        periods: list[tuple[datetime, datetime | None]] = []
        cursor = self.started_at
        for pause_start, pause_end in self.pauses:
            periods.append((cursor, pause_start))
            # "If resumed now": an open pause ends at `now`, or at the stop for a stopped clock.
            cursor = pause_end if pause_end is not None else max(now, pause_start)
        periods.append((cursor, None))
        return periods

    def consumed(self, now: datetime) -> timedelta:
        """Open time consumed up to `now` (or the stop, if earlier), pauses excluded."""
        now = require_aware(now, "now")
        upto = now if self.stopped_at is None else min(now, self.stopped_at)
        total = timedelta(0)
        for period_start, period_end in self._running_periods(now):
            end = upto if period_end is None else min(period_end, upto)
            if period_start >= upto:
                break
            total += self.calendar.open_time(period_start, end)
        return total

    def remaining(self, now: datetime) -> timedelta:
        """Open time left before the deadline at `now`; zero once the budget is used up."""
        return max(self.budget - self.consumed(now), timedelta(0))

    def fraction(self, now: datetime) -> float:
        """Share of the budget consumed at `now`, capped at 1.0 (a zero budget is 1.0)."""
        if not self.budget:
            return 1.0
        return min(self.consumed(now) / self.budget, 1.0)

    def when_consumed(self, target: timedelta, now: datetime) -> datetime:
        """When consumed open time reaches `target` (if paused: as if resumed at `now`)."""
        now = require_aware(now, "now")
        if target < timedelta(0):
            raise ValueError(f"target must not be negative: {target}")
        remaining = target
        for period_start, period_end in self._running_periods(now):
            if period_end is None:
                return add_open_time(period_start, remaining, self.calendar)
            available = self.calendar.open_time(period_start, period_end)
            if available >= remaining:
                return add_open_time(period_start, remaining, self.calendar)
            remaining -= available
        raise AssertionError("the last running period is open-ended")  # pragma: no cover

    def deadline(self, now: datetime) -> datetime:
        """The instant the budget runs out; while paused, the deadline if resumed at `now`."""
        return self.when_consumed(self.budget, now)

    def state(self, now: datetime) -> ClockState:
        """running, paused, met or breached at `now`, from the recorded instants alone."""
        now = require_aware(now, "now")
        return self._state(now, self.deadline(now))

    def _state(self, now: datetime, deadline: datetime) -> ClockState:
        if self.stopped_at is not None:
            return ClockState.BREACHED if self.stopped_at > deadline else ClockState.MET
        if now > deadline:
            return ClockState.BREACHED
        if self.is_paused and self.pauses[-1].started_at <= now:
            return ClockState.PAUSED
        return ClockState.RUNNING

    def status(self, now: datetime, *, deadline: datetime | None = None) -> ClockStatus:
        """State, consumed, remaining, fraction and deadline at `now`, in one reading.

        `deadline`, when the caller kept it from an earlier reading of a clock not paused (it
        does not move with `now` then), saves computing it again: the costly part."""
        consumed = self.consumed(now)
        if deadline is None:
            deadline = self.deadline(now)
        return ClockStatus(
            state=self._state(now, deadline),
            consumed=consumed,
            remaining=max(self.budget - consumed, timedelta(0)),
            fraction=1.0 if not self.budget else min(consumed / self.budget, 1.0),
            deadline=deadline,
        )
