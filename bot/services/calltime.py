"""The recorded call time of a ticket: `--at HH:MM` (local; `2h50` and `15h` too, as French
writes them) or ISO-8601, within 24 h.

`24:00` is the midnight that ends a day, as ISO-8601 writes it: `HH:MM` alone, last night's.
`HH:MM` is today's, or yesterday's when today's is still to come and yesterday's is at most
`ROLLOVER` ago: at 01:20, `--at 23:30` is last night's call. A time further off than that is
more likely a typo than a call from the day before, and is refused as in the future (the
ISO-8601 form names any day).

A local time seen twice, when the clocks go back, is the latest of the two not in the future,
written as `HH:MM` or as an ISO-8601 date and time without offset alike; an offset says which."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserFacingError

MAX_BACKDATE = timedelta(hours=24)
ROLLOVER = timedelta(hours=12)
# 02:50, or 2h50 and 15h (15:00) as French writes them; not 15 alone, nor 9:5 (09:05 or 09:50?)
# ASCII digits only, as for a ticket: `\d` alone reads "١٥:٣٠" as 15:30.
_HH_MM = re.compile(r"(\d{1,2})(?::(\d{2})|[hH](\d{2})?)", re.ASCII)
# The midnight that ends a day, as ISO-8601 (and people) write it: `2026-11-26T24:00` is
# `2026-11-27T00:00`; an offset may follow.
_END_OF_DAY = re.compile(
    r"(?P<day>[^T]+)[T ]24:00(?::00(?:\.0+)?)?(?P<offset>(?:Z|[+-]\S+)?)", re.IGNORECASE
)


def resolve_call_time(text: str | None, *, now: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of the client's call; `now` when not given. Never future, ≤ 24 h back."""
    if text is None:
        return now
    at = _parse(text, now=now, zone=zone)
    shown = _shown(at, zone)
    if at > now:
        raise UserFacingError("ticket.at_future", at=shown)
    if now - at > MAX_BACKDATE:
        raise UserFacingError("ticket.at_too_old", at=shown)
    return at


def _shown(at: datetime, zone: ZoneInfo) -> str:
    """`at` as a refusal quotes it: local, to the minute, or to the second (and below) when it
    has any: 16:00:30 refused at 16:00:00 is not "16:00 is in the future"."""
    local = at.astimezone(zone)
    shown = f"{local.year:04d}-{local:%m-%d %H:%M}"  # %Y writes year 1 as "1"
    if local.second or local.microsecond:
        shown += f":{local.second:02d}"
    if local.microsecond:
        shown += f".{local.microsecond:06d}".rstrip("0")
    return shown


def _parse(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    if _is_date(text):  # midnight is not what a call time without a time means
        raise UserFacingError("ticket.at_no_time", value=text[:40])
    try:
        if hh_mm := _HH_MM.fullmatch(text):
            hours, minutes = int(hh_mm[1]), int(hh_mm[2] or hh_mm[3] or 0)
            if (hours, minutes) == (24, 0):  # today's is to come: last night's midnight
                hours = 0
            return _latest(time(hours, minutes), now=now, zone=zone)
        parsed = datetime.fromisoformat(_next_midnight(text))
    except ValueError:
        raise UserFacingError("ticket.at_invalid", value=text[:40]) from None
    try:
        if parsed.tzinfo is None:
            return _latest_on(parsed.date(), parsed.time(), now=now, zone=zone)
        return parsed.astimezone(UTC)
    except OverflowError:
        # Year 1 or 9999 (a typo in the year) taken past what a datetime holds by its offset:
        # refused as any call time too old or to come, quoted as typed.
        key = "ticket.at_too_old" if parsed.year < now.year else "ticket.at_future"
        raise UserFacingError(key, at=text[:40]) from None


def _next_midnight(text: str) -> str:
    """`text` with the `24:00` that ends a day written as the next day's `00:00`, which
    `datetime.fromisoformat` reads; any other text as it is. ValueError if the day is not one."""
    end = _END_OF_DAY.fullmatch(text)
    if end is None:
        return text
    day = date.fromisoformat(end["day"])
    if day == date.max:  # its end is past what a date holds: a typo, and to come anyway
        raise UserFacingError("ticket.at_future", at=text[:40])
    day += timedelta(days=1)
    return f"{day.isoformat()}T00:00{end['offset']}"


def _is_date(text: str) -> bool:
    """Whether `text` is an ISO-8601 date with no time (`2026-11-27`, `20261127`)."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _latest(clock_time: time, *, now: datetime, zone: ZoneInfo) -> datetime:
    """Today's `clock_time`, or yesterday's when today's is to come and yesterday's recent."""
    today = now.astimezone(zone).date()
    past = [at for at in _instants(today, clock_time, zone) if at <= now]
    if past:  # the latest: when the clocks go back, 02:05 typed at 02:10 is 5 minutes ago
        return past[-1]
    yesterday = _instants(today - timedelta(days=1), clock_time, zone)[-1]
    if now - yesterday <= ROLLOVER:
        return yesterday
    return _instants(today, clock_time, zone)[0]


def _latest_on(day: date, clock_time: time, *, now: datetime, zone: ZoneInfo) -> datetime:
    """`clock_time` on `day`: of two (the clocks going back), the latest not in the future."""
    instants = _instants(day, clock_time, zone)
    past = [at for at in instants if at <= now]
    return past[-1] if past else instants[0]


def _instants(day: date, clock_time: time, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants a local time names on `day`, earliest first: two on the night the
    clocks go back; in the hour skipped when they go forward, one, read with the offset before
    the change (a clock not yet put forward)."""
    wall = datetime.combine(day, clock_time)
    return local_instants(wall, zone) or [wall.replace(tzinfo=zone).astimezone(UTC)]


def local_instants(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants the naive local time `wall` names in `zone`, earliest first: two in the
    hour repeated when the clocks go back, none in the hour skipped when they go forward."""
    instants: set[datetime] = set()
    for fold in (0, 1):
        at = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if at.astimezone(zone).replace(tzinfo=None) == wall:
            instants.add(at)
    return sorted(instants)
