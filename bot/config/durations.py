"""Durations as people write them in the catalog and in commands: "90m", "1h30m", "2d", "PT4H".

Days are "d" or, as French writes them and the bot shows them in French, "j" (jours): "2j"."""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, TypeAdapter, ValidationError

# Minutes right after the hours, at the end, may go without their "m", as French writes "1h30".
_COMPACT = re.compile(
    r"(?:(?P<d>\d+)[dj])?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m|(?<=h)(?P<hm>[0-5]\d)$)?(?:(?P<s>\d+)s)?",
    re.ASCII,  # `\d` alone reads "٣٠m" as 30m
)
_ISO = TypeAdapter(timedelta)
# Months and years (before the T: "P1M" is a month, "PT1M" a minute) have no fixed length.
_ISO_CALENDAR = re.compile(r"[ym]")
_MAX = timedelta(days=3650)


def parse_duration(text: str) -> timedelta:
    """Parse "90m", "4h", "1h30m" (or "1h30"), "2d" (or "2j"), "45s" or ISO-8601 "PT4H"; raise
    ValueError otherwise."""
    cleaned = text.strip().lower().replace(" ", "")
    match = _COMPACT.fullmatch(cleaned)
    if cleaned and match is not None:
        parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
        try:
            value = timedelta(
                days=parts.get("d", 0),
                hours=parts.get("h", 0),
                minutes=parts.get("m", parts.get("hm", 0)),
                seconds=parts.get("s", 0),
            )
        except OverflowError:  # "99999999999d": past what a timedelta holds, so past _MAX too
            raise ValueError(f"duration too long: {text!r} (at most 3650 days)") from None
    elif cleaned.startswith("p"):
        if _ISO_CALENDAR.search(cleaned.partition("t")[0]):
            raise ValueError(
                f"not a duration: {text!r} (ISO-8601 months and years have no fixed length; "
                "write days such as 30d, and a minute PT1M)"
            )
        try:
            value = _ISO.validate_python(cleaned.upper())
        except ValidationError:
            raise ValueError(f"not a duration: {text!r}") from None
    else:
        raise ValueError(f"not a duration: {text!r} (write 90m, 4h, 1h30m, 2d or PT4H)")
    if value < timedelta(0):
        raise ValueError(f"duration must not be negative: {text!r}")
    if value > _MAX:
        raise ValueError(f"duration too long: {text!r} (at most 3650 days)")
    return value


def format_duration(value: timedelta, *, day: str = "d") -> str:
    """Compact rendering, the inverse of parse_duration: 5400 s -> "1h30m". `day` is the unit
    of days: "d" as the catalog writes it; a language may write it otherwise (French "1j5h",
    bot.slack.render), which parse_duration reads too."""
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "".join(
        f"{n}{unit}" for n, unit in ((days, day), (hours, "h"), (minutes, "m"), (seconds, "s")) if n
    )
    return sign + (text or "0m")


def _coerce(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, timedelta):
        return value
    raise ValueError("expected a duration string such as 90m, 4h, 1h30m, 2d or PT4H")


Duration = Annotated[
    timedelta, BeforeValidator(_coerce), PlainSerializer(format_duration, return_type=str)
]
"""A timedelta field written as a duration string in TOML."""
