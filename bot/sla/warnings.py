"""Breach warnings: when each is due, under a key that stays the same across recomputation.

- A fraction warning (`warn_at`, e.g. 0.5) is due at the instant the consumed open time reaches
  that fraction of the budget, moved by pauses.
- The `before` warning is due when `warn_before` of OPEN time remains: with 15 min, a deadline at
  19:00 warns at 18:45, and a deadline at 09:10 the next morning warns at 18:55 the evening
  before (5 min that evening + 10 min the next morning), never in the night. It is skipped
  when it would fall at or before the start (budget no longer than `warn_before`) and when it
  coincides with a fraction warning or the breach.
- The breach is due once the clock is breached, i.e. strictly after the deadline.
- Only the most advanced warning is ever due: an unsent earlier one is superseded by a later one
  (and by the breach), so a bot that was down does not send stale warnings in a burst. Nothing
  is due for a paused or met clock; the breach stays due for a clock stopped late.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config.catalog import Policy
from bot.sla.calendar import require_aware
from bot.sla.clock import Clock, ClockState
from bot.sla.kinds import ClockKind

BEFORE = "before"
BREACH = "breach"


@dataclass(frozen=True, order=True)
class PlannedWarning:
    """One warning of a clock: its stable key, when it is due, what it says."""

    due_at: datetime
    fraction: float
    key: str
    threshold: str  # "50", "75", "90", BEFORE or BREACH

    @property
    def is_breach(self) -> bool:
        return self.threshold == BREACH


def threshold_label(fraction: float) -> str:
    """A fraction as a key part: 0.5 -> "50", 0.333 -> "33.3"."""
    return f"{fraction * 100:g}"


def warning_key(ticket_ref: str, clock_kind: ClockKind, threshold: str) -> str:
    """The stable key of a warning, e.g. `INT-42/gtr/75` or `INT-42/gtr/breach`."""
    return f"{ticket_ref}/{clock_kind.value}/{threshold}"


def plan_warnings(
    ticket_ref: str, clock_kind: ClockKind, clock: Clock, policy: Policy, now: datetime
) -> list[PlannedWarning]:
    """Every warning of the clock, breach last, in the order they fall due."""
    now = require_aware(now, "now")
    budget = clock.budget
    planned: list[PlannedWarning] = []
    deadline = clock.deadline(now)
    if budget:
        for fraction in sorted(policy.warn_at):
            label = threshold_label(fraction)
            due_at = clock.when_consumed(budget * fraction, now)
            planned.append(
                PlannedWarning(due_at, fraction, warning_key(ticket_ref, clock_kind, label), label)
            )
        before_target = budget - policy.warn_before
        if before_target > timedelta(0):
            due_at = clock.when_consumed(before_target, now)
            if due_at != deadline and all(w.due_at != due_at for w in planned):
                planned.append(
                    PlannedWarning(
                        due_at,
                        before_target / budget,
                        warning_key(ticket_ref, clock_kind, BEFORE),
                        BEFORE,
                    )
                )
    planned.sort()
    planned.append(
        PlannedWarning(deadline, 1.0, warning_key(ticket_ref, clock_kind, BREACH), BREACH)
    )
    return planned


def due_warning(
    ticket_ref: str,
    clock_kind: ClockKind,
    clock: Clock,
    policy: Policy,
    now: datetime,
    sent: Collection[str],
) -> PlannedWarning | None:
    """The one warning to send at `now`, if any: the most advanced due one, unless already sent."""
    state = clock.state(now)
    planned = plan_warnings(ticket_ref, clock_kind, clock, policy, now)
    if state is ClockState.BREACHED:
        latest: PlannedWarning | None = planned[-1]
    elif state is ClockState.RUNNING:
        due = [w for w in planned[:-1] if w.due_at <= now]
        latest = due[-1] if due else None
    else:
        latest = None
    return latest if latest is not None and latest.key not in sent else None


def due_warnings(
    ticket_ref: str,
    clock_kind: ClockKind,
    clock: Clock,
    policy: Policy,
    now: datetime,
    sent: Collection[str],
) -> list[PlannedWarning]:
    """`due_warning` as a list (empty or one item), for callers that iterate."""
    warning = due_warning(ticket_ref, clock_kind, clock, policy, now, sent)
    return [] if warning is None else [warning]
