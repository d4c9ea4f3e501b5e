"""`supportbot report --month YYYY-MM [--client ID] --format text|csv|json`: a month's SLA report.

Text is the summary posted in Slack; CSV is one row per ticket; JSON is the whole report
(docs/report.schema.json). Figures are read as of now (the real clock of the composition root)
or as of `--as-of`.
"""

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.app import utc_now
from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.database_errors import open_migrated
from bot.cli.instants import local_instant
from bot.cli.settings_errors import read_settings
from bot.config import Catalog, CatalogError, load_catalog
from bot.errors import UserFacingError
from bot.grammar import FIRST_YEAR, parse_month
from bot.messages import Messages
from bot.services.reports import ReportService, to_csv, to_json, to_text
from bot.sla import month_bounds, month_of
from bot.storage.catalog_sync import missing_references
from bot.storage.database import make_sessionmaker, reading


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("report", help="print a month's SLA report")
    parser.add_argument("--month", required=True, help="calendar month in the catalog's zone")
    parser.add_argument("--client", help="one client id (default: every client)")
    parser.add_argument("--format", choices=["text", "csv", "json"], default="text")
    parser.add_argument(
        "--as-of",
        help="read the figures as of this ISO-8601 instant, local time unless it has an offset"
        " (default: now): reproducible",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = read_settings()
    if settings is None:
        return EXIT_USAGE
    try:
        year, month = parse_month(args.month)
    except UserFacingError as error:
        if error.key == "usage.month_too_early":
            print(f"{args.month}: reports start at {FIRST_YEAR}-01", file=sys.stderr)
        else:
            print(f"not a month: {args.month!r} (write YYYY-MM, e.g. 2026-11)", file=sys.stderr)
        return EXIT_USAGE
    source = settings.catalog_path(Path.cwd())
    try:
        catalog = load_catalog(source)
    except CatalogError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    clock: Callable[[], datetime] = utc_now
    if args.as_of is not None:
        try:
            as_of = datetime.fromisoformat(args.as_of)
        except ValueError:
            print(
                f"not an instant: {args.as_of!r} (ISO-8601, e.g. 2026-11-27T18:00)", file=sys.stderr
            )
            return EXIT_USAGE
        try:
            if as_of.tzinfo is None:  # local time, as `sla due --start` reads it
                try:
                    as_of = local_instant(as_of, catalog.zone)
                except ValueError as error:
                    print(f"--as-of: {args.as_of!r} {error}", file=sys.stderr)
                    return EXIT_USAGE
            as_of.astimezone(UTC)
            month_bounds(year, month, catalog.zone)  # 9999-12 ends in year 10000
        except (OverflowError, ValueError):
            print("--as-of and --month must fall between years 1 and 9999", file=sys.stderr)
            return EXIT_USAGE
        clock = lambda: as_of  # noqa: E731
        if as_of > utc_now():
            # Nothing after now is known: the figures would pass for what happened by then.
            print(
                f"note: --as-of {args.as_of} is in the future: running clocks and open outages"
                " are counted as if nothing changed until then",
                file=sys.stderr,
            )
    # A month to come is a slip; as of a past instant, it is "as it stood": nothing yet.
    if args.as_of is None and (year, month) > month_of(clock(), catalog.zone):
        print(f"{year:04d}-{month:02d} has not begun: there is nothing to report", file=sys.stderr)
        return EXIT_USAGE
    messages = Messages(settings.language)
    engine = open_migrated(settings)
    if engine is None:
        return EXIT_USAGE
    try:
        sessions = make_sessionmaker(engine)
        # Read-only sessions (the service's too): they neither wait for the running bot's
        # writes nor hold them up.
        with reading(sessions) as session:
            missing = missing_references(session, catalog)
        if missing:  # the clocks and allowances cannot be read without them
            print(CatalogError(str(source), missing), file=sys.stderr)
            return EXIT_USAGE
        service = ReportService(sessions, catalog, messages, clock=clock)
        try:
            if args.client is not None:
                service.require_client_then(args.client, year, month)
            report = service.build(year, month, client=args.client)
        except UserFacingError as error:
            _refused(error, args.client, messages, catalog)
            return EXIT_USAGE
    finally:
        engine.dispose()
    if args.format == "json":
        print(json.dumps(to_json(report), indent=2, ensure_ascii=False))
    elif args.format == "csv":
        sys.stdout.write(to_csv(report))
    else:
        print("\n\n".join(to_text(report, messages)))
    return EXIT_OK


def _refused(
    error: UserFacingError, client: str | None, messages: Messages, catalog: Catalog
) -> None:
    """Why `--client` was refused, on stderr: a client unknown (and the known ones), one the
    catalog has that the database does not record yet (`run` records it when it starts), or
    one that was not a client in the month (and when it was)."""
    if error.key != "report.unknown_client":
        print(messages.get(error.key, **error.values).replace("`", ""), file=sys.stderr)
        return
    if client is not None and any(c.id.lower() == client.lower() for c in catalog.clients):
        print(
            f"{client!r} is a client of the catalog the database has no record of yet: it is"
            " recorded when `supportbot run` starts with this catalog",
            file=sys.stderr,
        )
        return
    known = str(error.values.get("known", "-")).replace("`", "")
    if known == "-":
        print(f"unknown client: {client!r} (the database has no client yet)", file=sys.stderr)
        return
    print(f"unknown client: {client!r}", file=sys.stderr)
    print(f"clients: {known}", file=sys.stderr)
