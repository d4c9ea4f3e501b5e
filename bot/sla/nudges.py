"""Client-update nudges for a claimed ticket, counted in the open time of its clock's calendar.

The first nudge is due `update_every` of open time after the claim; an update restarts the
period; each nudge starts the next period. On a business-hours calendar a ticket is not nudged
at night, nor on weekends and holidays when the calendar is closed: the technician is not
expected to work on it then, nor the client to be told (on a 24/7 calendar, open time is
wall-clock time). While the ticket waits on the client there is no nudge, and the
period restarts when the wait ends. A snooze requested at R until U moves a nudge that would
fall strictly between R and U to U. Each nudge's key holds its due instant, so recomputing from
the same facts gives the same keys, and a later snooze never rewrites nudges already due.

Only the most recent due nudge is ever sent: older unsent ones are superseded rather than sent
in a burst after downtime. So the reminders sweep asks `current_nudges` for the latest, which
starts from the last client update (the period and the miss count restart there) and steps
over a run of periods with nothing in between at once: its cost does not grow with the
ticket's age, where `plan_nudges` lists every nudge since the claim.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.sla.calendar import Calendar, add_open_time, require_aware
from bot.sla.clock import Pause


class Snooze(NamedTuple):
    """`/intervention snooze`: requested at `requested_at`, no nudge before `until`."""

    requested_at: datetime
    until: datetime


@dataclass(frozen=True, order=True)
class Nudge:
    """A reminder to post a client update; `missed` counts nudges due since the last update,
    sent or not (after downtime only the latest due one is sent: the sweep counts sent ones)."""

    due_at: datetime
    key: str
    missed: int  # 1 for the first nudge since the last update (or the claim)


@dataclass(frozen=True)
class NudgePlan:
    """Nudges due up to `now`, the next one (None if none will come) and current misses."""

    due: tuple[Nudge, ...]
    next_at: datetime | None
    missed: int


def nudge_key(ticket_ref: str, due_at: datetime) -> str:
    """The stable key of a nudge, e.g. `INT-42/nudge/2026-11-27T10:00:00Z`."""
    return f"{ticket_ref}/nudge/{require_aware(due_at).isoformat().replace('+00:00', 'Z')}"


def _snoozed(candidate: datetime, snoozes: Sequence[Snooze]) -> datetime:
    moved = True
    while moved:  # a snooze may push the nudge into the range of another one
        moved = False
        for requested_at, until in snoozes:
            if requested_at < candidate < until:
                candidate, moved = until, True
    return candidate


def _normalized(
    update_every: timedelta,
    claimed_at: datetime,
    now: datetime,
    updates: Sequence[datetime],
    waits: Sequence[Pause],
    snoozes: Sequence[Snooze],
    closed_at: datetime | None,
) -> tuple[
    datetime, datetime, list[datetime], list[tuple[datetime, datetime | None]], list[Snooze],
    datetime | None,
]:  # fmt: skip
    """The facts of a plan, aware and in order."""
    if update_every <= timedelta(0):
        raise ValueError("update_every must be longer than zero")
    wait_periods = sorted(
        (require_aware(s, "wait start"), None if e is None else require_aware(e, "wait end"))
        for s, e in waits
    )
    return (
        require_aware(claimed_at, "claimed_at"),
        require_aware(now, "now"),
        sorted(require_aware(u, "update") for u in updates),
        wait_periods,
        [Snooze(require_aware(r), require_aware(u)) for r, u in snoozes],
        None if closed_at is None else require_aware(closed_at, "closed_at"),
    )


def _walk(
    start: datetime,
    update_every: timedelta,
    now: datetime,
    update_times: Sequence[datetime],
    wait_periods: Sequence[tuple[datetime, datetime | None]],
    snooze_list: Sequence[Snooze],
    end: datetime | None,
    calendar: Calendar | None,
    *,
    every: bool,
) -> tuple[list[datetime], int, datetime | None]:
    """The nudges due from `start`, a point where a period starts (the claim, a client update
    or the end of a wait): when they fall due (every one, or the last alone), how many, and
    when the next one comes. Without `every`, a run of periods with no update, wait or snooze
    left to come is stepped over at once."""
    anchor = start
    kept: list[datetime] = []
    count = 0
    next_at: datetime | None = None
    while True:
        update = next((u for u in update_times if u > anchor), None)
        wait = next(((s, e) for s, e in wait_periods if e is None or e > anchor), None)
        if not every and update is None and wait is None:
            # Nothing left to move a period: they follow end to end, and all but the last that
            # fits before `now` (or the close) are due, so the loop below resumes at it.
            limit = now if end is None else min(now, end)
            skipped = _open_periods(anchor, limit, update_every, calendar) - 1
            if skipped > 0 and all(until <= anchor for _, until in snooze_list):
                anchor = _after(anchor, update_every * skipped, calendar)
                kept, count = [anchor], count + skipped
        period_end = _after(anchor, update_every, calendar)
        candidate = _snoozed(period_end, snooze_list)
        if calendar is not None and candidate != period_end:  # snoozed into closed hours: at
            candidate = next(calendar.open_windows(candidate))[0]  # the next opening
        if update is not None and update <= candidate and (wait is None or update <= wait[0]):
            anchor = update  # posted in time (or late): the period restarts from it
            continue
        if wait is not None and wait[0] <= candidate:
            if wait[1] is None:
                break  # waiting on the client until further notice
            anchor = wait[1]
            continue
        if (end is not None and candidate >= end) or candidate > now:
            next_at = None if end is not None and candidate >= end else candidate
            break
        kept = [*kept, candidate] if every else [candidate]
        count += 1
        anchor = candidate
    return kept, count, next_at


def _after(start: datetime, duration: timedelta, calendar: Calendar | None) -> datetime:
    """`duration` of open time after `start` (wall-clock time without a calendar)."""
    return start + duration if calendar is None else add_open_time(start, duration, calendar)


def _open_periods(
    start: datetime, end: datetime, update_every: timedelta, calendar: Calendar | None
) -> int:
    """How many whole periods of open time fit between `start` and `end`."""
    if end <= start:
        return 0
    span = end - start if calendar is None else calendar.open_time(start, end)
    return span // update_every


def plan_nudges(
    ticket_ref: str,
    claimed_at: datetime,
    update_every: timedelta,
    now: datetime,
    *,
    updates: Sequence[datetime] = (),
    waits: Sequence[Pause] = (),
    snoozes: Sequence[Snooze] = (),
    closed_at: datetime | None = None,
    calendar: Calendar | None = None,
) -> NudgePlan:
    """Every nudge of a ticket claimed at `claimed_at`, given its updates, waits and snoozes;
    periods in `calendar`'s open time (wall-clock time without one)."""
    claimed_at, now, update_times, wait_periods, snooze_list, end = _normalized(
        update_every, claimed_at, now, updates, waits, snoozes, closed_at
    )
    due_at_list, _, next_at = _walk(
        claimed_at, update_every, now, update_times, wait_periods, snooze_list, end, calendar,
        every=True,
    )  # fmt: skip
    due: list[Nudge] = []
    missed = 0
    later_updates = iter(update_times)
    pending_update = next(later_updates, None)
    for due_at in due_at_list:
        while pending_update is not None and pending_update < due_at:
            missed = 0  # an update between two nudges: the count starts over
            pending_update = next(later_updates, None)
        missed += 1
        due.append(Nudge(due_at, nudge_key(ticket_ref, due_at), missed))
    last_update = max((u for u in update_times if u <= now), default=claimed_at)
    current_missed = sum(1 for nudge in due if nudge.due_at > last_update)
    return NudgePlan(tuple(due), next_at, current_missed)


def _run_start(claimed_at: datetime, now: datetime, update_times: Sequence[datetime]) -> datetime:
    """Where the current run of nudges starts: the last client update, or the claim without
    one. A period starts there, or at the end of the wait the update was posted in (the walk
    goes there), and the miss count starts over."""
    return max((u for u in update_times if claimed_at < u <= now), default=claimed_at)


def current_nudges(
    ticket_ref: str,
    claimed_at: datetime,
    update_every: timedelta,
    now: datetime,
    *,
    updates: Sequence[datetime] = (),
    waits: Sequence[Pause] = (),
    snoozes: Sequence[Snooze] = (),
    closed_at: datetime | None = None,
    calendar: Calendar | None = None,
    latest: bool = False,
) -> NudgePlan:
    """The nudges of `plan_nudges` due since the last client update (those `missed` counts),
    with its `next_at` and `missed`; with `latest`, the last of them alone, in a time that does
    not grow with how long ago the ticket was claimed or last updated (on a business-hours
    calendar, one step per day since the update, to measure its open time)."""
    claimed_at, now, update_times, wait_periods, snooze_list, end = _normalized(
        update_every, claimed_at, now, updates, waits, snoozes, closed_at
    )
    start = _run_start(claimed_at, now, update_times)
    due_at_list, count, next_at = _walk(
        start, update_every, now, update_times, wait_periods, snooze_list, end, calendar,
        every=not latest,
    )  # fmt: skip
    first = count - len(due_at_list) + 1
    due = tuple(
        Nudge(due_at, nudge_key(ticket_ref, due_at), missed)
        for missed, due_at in enumerate(due_at_list, start=first)
    )
    return NudgePlan(due, next_at, count)


def due_nudge(
    ticket_ref: str,
    claimed_at: datetime,
    update_every: timedelta,
    now: datetime,
    sent: Collection[str],
    *,
    updates: Sequence[datetime] = (),
    waits: Sequence[Pause] = (),
    snoozes: Sequence[Snooze] = (),
    closed_at: datetime | None = None,
    calendar: Calendar | None = None,
) -> Nudge | None:
    """The nudge to send at `now`, if any: the most recent due one, unless already sent."""
    plan = plan_nudges(
        ticket_ref,
        claimed_at,
        update_every,
        now,
        updates=updates,
        waits=waits,
        snoozes=snoozes,
        closed_at=closed_at,
        calendar=calendar,
    )
    if not plan.due or plan.due[-1].key in sent:
        return None
    return plan.due[-1]
