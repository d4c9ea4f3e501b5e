"""The recorded call time of a ticket: `--at HH:MM` (today, local) or ISO-8601, within 24 h."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserFacingError

MAX_BACKDATE = timedelta(hours=24)


def resolve_call_time(text: str | None, *, now: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of the client's call; `now` when not given. Never future, ≤ 24 h back."""
    if text is None:
        return now
    at = _parse(text, now=now, zone=zone)
    shown = at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if at > now:
        raise UserFacingError("ticket.at_future", at=shown)
    if now - at > MAX_BACKDATE:
        raise UserFacingError("ticket.at_too_old", at=shown)
    return at


def _parse(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    try:
        if len(text) <= 5 and ":" in text:
            hours, minutes = (int(part) for part in text.split(":"))
            local_day = now.astimezone(zone).date()
            return datetime.combine(local_day, time(hours, minutes), tzinfo=zone).astimezone(UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UserFacingError("ticket.at_invalid", value=text[:40]) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)
