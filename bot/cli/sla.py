"""`supportbot sla`: deadlines and open windows from the catalog, to check the engine by hand."""

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.instants import local_instant
from bot.cli.settings_errors import read_settings
from bot.config import Catalog, CatalogError, format_duration, load_catalog
from bot.sla import CalendarError, Clock, ClockError, Pause, budget_for, calendar_for

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_OUT_OF_RANGE = "dates out of range: the days computed must fall between years 1 and 9999"
_MAX_DAYS = 3660

_DUE_EPILOG = """\
Instants are ISO-8601; without an offset they are read in the catalog's time zone. A local
time the clocks show twice (when they go back) or skip (when they go forward) is refused:
write it with its offset (2026-10-25T02:30+01:00 is the second 02:30 in Paris).
Output: the deadline, ISO-8601 with the catalog's UTC offset (2026-11-28T12:00:00+01:00).
With --stop, a second line: "met" (stopped at or before the deadline) or "breached", then the
open time consumed between start and stop, pauses excluded, in compact form (3h10m, 1d2h, 0m;
1d is 24 h of open time): "met 3h10m".

example: supportbot sla due --level essentiel --clock gti --start 2026-11-27T18:00
         prints 2026-11-28T12:00:00+01:00 (4 h of business hours from Friday 18:00)
"""

_CALENDAR_EPILOG = """\
Output: one open window a line, in the catalog's time zone, as an ISO-8601 interval followed by
the weekday it opens and its length: 2026-11-27T09:00:00+01:00/2026-11-27T19:00:00+01:00 (Fri, 10h).
Windows are clipped to the requested days; touching windows are merged.
"""


class _UsageError(Exception):
    """Bad input from the command line, reported on stderr with exit code 2."""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("sla", help="compute deadlines and open windows of a level")
    commands = parser.add_subparsers(dest="sla_command", required=True, metavar="SLA_COMMAND")

    due = commands.add_parser(
        "due",
        help="the deadline of a clock (and met/breached with --stop)",
        epilog=_DUE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(due)
    due.add_argument("--start", required=True, metavar="ISO-8601", help="when the clock started")
    due.add_argument(
        "--pause",
        action="append",
        default=[],
        metavar="START/END",
        help="a pause while waiting on the client (repeatable)",
    )
    due.add_argument("--stop", metavar="ISO-8601", help="when the clock stopped")
    due.set_defaults(handler=run_due)

    calendar = commands.add_parser(
        "calendar",
        help="the open windows of a clock's calendar",
        epilog=_CALENDAR_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(calendar)
    calendar.add_argument(
        "--from", dest="from_date", required=True, metavar="DATE", help="first day (YYYY-MM-DD)"
    )
    calendar.add_argument("--days", required=True, type=int, metavar="N", help="number of days")
    calendar.set_defaults(handler=run_calendar)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--level", required=True, help="a level of the catalog")
    parser.add_argument("--clock", required=True, choices=("gti", "gtr"), help="which clock")
    parser.add_argument("--catalog", type=Path, help="catalog file (default: as `run` would pick)")


def run_due(args: argparse.Namespace) -> int:
    """Print the deadline of the described clock; with --stop, also met/breached and consumed."""
    catalog = _load(args.catalog)
    if catalog is None:
        return EXIT_USAGE
    try:
        zone = catalog.zone
        calendar = calendar_for(catalog, args.level, args.clock)
        budget = budget_for(catalog, args.level, args.clock)
        start = _instant(args.start, zone, "--start")
        pauses = tuple(_pause(text, zone) for text in args.pause)
        stop = None if args.stop is None else _instant(args.stop, zone, "--stop")
        try:
            clock = Clock(start, budget, calendar, pauses, stop)
        except ClockError as error:
            raise _UsageError(str(error)) from None
        # Every pause is closed, so the deadline does not depend on `now`: use the last instant.
        now = max([start, stop or start, *(p.ended_at or p.started_at for p in pauses)])
        deadline = clock.deadline(now)
        print(deadline.astimezone(zone).isoformat())
        if stop is not None:
            print(f"{clock.state(now)} {format_duration(clock.consumed(now))}")
    except (_UsageError, ValueError, CalendarError) as error:
        print(f"sla due: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OverflowError:  # the calendar or the deadline passes year 1 or 9999
        print(f"sla due: {_OUT_OF_RANGE}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def run_calendar(args: argparse.Namespace) -> int:
    """Print the open windows of a clock's calendar over the requested days."""
    catalog = _load(args.catalog)
    if catalog is None:
        return EXIT_USAGE
    try:
        zone = catalog.zone
        calendar = calendar_for(catalog, args.level, args.clock)
        try:
            first = date.fromisoformat(args.from_date)
        except ValueError:
            raise _UsageError(
                f"--from: not a date: {args.from_date!r} (write YYYY-MM-DD)"
            ) from None
        if not 1 <= args.days <= _MAX_DAYS:
            raise _UsageError(f"--days must be between 1 and {_MAX_DAYS}, got {args.days}")
        start = datetime.combine(first, datetime.min.time(), zone)
        end = datetime.combine(first + timedelta(days=args.days), datetime.min.time(), zone)
        lines: list[tuple[date, str]] = []
        open_days: set[date] = set()
        for opens, closes in calendar.open_windows(start, until=end):
            closes = min(closes, end)
            # Lengths come from UTC instants: subtracting local times would ignore DST.
            length = format_duration(closes.astimezone(UTC) - opens.astimezone(UTC))
            local_open, local_close = opens.astimezone(zone), closes.astimezone(zone)
            lines.append(
                (
                    local_open.date(),
                    f"{local_open.isoformat()}/{local_close.isoformat()} "
                    f"({_WEEKDAYS[local_open.weekday()]}, {length})",
                )
            )
            last = (local_close - timedelta(microseconds=1)).date()
            open_days.update(
                local_open.date() + timedelta(days=n)
                for n in range((last - local_open.date()).days + 1)
            )
        for day in (first + timedelta(days=n) for n in range(args.days)):
            if day not in open_days:  # said, not left out: a blank day reads as a bug
                lines.append((day, f"{day.isoformat()} ({_WEEKDAYS[day.weekday()]}, closed)"))
        for _, line in sorted(lines, key=lambda entry: entry[0]):
            print(line)
    except (_UsageError, ValueError) as error:
        print(f"sla calendar: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OverflowError:
        print(f"sla calendar: {_OUT_OF_RANGE}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _load(path: Path | None) -> Catalog | None:
    source = path
    if source is None:
        settings = read_settings()
        if settings is None:
            return None
        source = settings.catalog_path(Path.cwd())
    try:
        return load_catalog(source)
    except CatalogError as error:
        print(f"{error.source}: {len(error.problems)} problem(s)", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _instant(text: str, zone: ZoneInfo, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _UsageError(
            f"{option}: not an ISO-8601 instant: {text!r} (write 2026-11-27T18:00 or with offset)"
        ) from None
    try:
        return value if value.tzinfo is not None else local_instant(value, zone)
    except ValueError as error:
        raise _UsageError(f"{option}: {text.strip()!r} {error}") from None


def _pause(text: str, zone: ZoneInfo) -> Pause:
    if text.count("/") != 1:
        raise _UsageError(f"--pause: expected START/END, got {text!r}")
    start_text, end_text = text.split("/")
    start = _instant(start_text, zone, "--pause")
    end = _instant(end_text, zone, "--pause")
    if end < start:
        raise _UsageError(f"--pause: {text!r} ends before it starts")
    return Pause(start, end)
