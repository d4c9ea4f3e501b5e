"""Calendars the SLA tests share, built from CalendarSpec as the catalog would build them."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.catalog import CalendarSpec
from bot.sla import Calendar, build_calendar

PARIS = ZoneInfo("Europe/Paris")

WEEKDAYS_09_19 = {
    day: ["09:00-19:00"] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}
WEEKEND_09_18 = {day: ["09:00-18:00"] for day in ("saturday", "sunday")}


def calendar(name: str, **spec: Any) -> Calendar:
    """A Calendar in Europe/Paris from CalendarSpec keys, validated like the catalog."""
    return build_calendar(CalendarSpec.model_validate(spec), PARIS, name)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Paris wall-clock instant (first occurrence when ambiguous)."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


# The contract's business hours, as in examples/catalog.toml.
BUSINESS = calendar(
    "business", **WEEKDAYS_09_19, **WEEKEND_09_18, holidays="FR", closed=["2026-12-24"]
)
BUSINESS_NO_HOLIDAYS = calendar("business-no-holidays", **WEEKDAYS_09_19, **WEEKEND_09_18)
ALSACE = calendar(
    "alsace",
    **WEEKDAYS_09_19,
    **WEEKEND_09_18,
    holidays="FR",
    subdivision="57",
    closed=["2026-12-24"],
)
ALWAYS = calendar("always", always_open=True)
ALWAYS_FR = calendar("always-fr", always_open=True, holidays="FR")
DAILY_09_19 = calendar(
    "daily", **{day: ["09:00-19:00"] for day in (*WEEKDAYS_09_19, *WEEKEND_09_18)}
)
