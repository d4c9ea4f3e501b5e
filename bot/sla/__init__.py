"""Pure SLA engine: calendars, clocks, deadlines, warnings, nudges, allowance and credits.

No I/O, no ORM, no reading of the real clock: every function takes the instants it needs
(`now` included) as aware datetimes and answers in UTC.
"""

from bot.sla.allowance import (
    AllowanceUsage,
    Intervention,
    allowance_usage,
    month_bounds,
    month_of,
    within_allowance,
)
from bot.sla.calendar import (
    Calendar,
    CalendarError,
    Window,
    add_open_time,
    budget_for,
    build_calendar,
    calendar_for,
    named_calendar,
)
from bot.sla.clock import Clock, ClockError, ClockState, ClockStatus, Pause
from bot.sla.credits import Breach, Credit, credits_for, month_credits, to_cents, total
from bot.sla.kinds import (
    ClockKind,
    TicketKind,
    clock_for,
    counts_towards_allowance,
    parse_clock_kind,
    parse_kind,
)
from bot.sla.nudges import (
    Nudge,
    NudgePlan,
    Snooze,
    current_nudges,
    due_nudge,
    nudge_key,
    plan_nudges,
)
from bot.sla.warnings import (
    PlannedWarning,
    due_warning,
    due_warnings,
    plan_warnings,
    warning_key,
)

__all__ = [
    "AllowanceUsage",
    "Breach",
    "Calendar",
    "CalendarError",
    "Clock",
    "ClockError",
    "ClockKind",
    "ClockState",
    "ClockStatus",
    "Credit",
    "Intervention",
    "Nudge",
    "NudgePlan",
    "Pause",
    "PlannedWarning",
    "Snooze",
    "TicketKind",
    "Window",
    "add_open_time",
    "allowance_usage",
    "budget_for",
    "build_calendar",
    "calendar_for",
    "clock_for",
    "counts_towards_allowance",
    "credits_for",
    "current_nudges",
    "due_nudge",
    "due_warning",
    "due_warnings",
    "month_bounds",
    "month_credits",
    "month_of",
    "named_calendar",
    "nudge_key",
    "parse_clock_kind",
    "parse_kind",
    "plan_nudges",
    "plan_warnings",
    "to_cents",
    "total",
    "warning_key",
    "within_allowance",
]
