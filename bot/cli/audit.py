"""`supportbot audit INT-42 [--format text|json]`: a ticket's whole evidence timeline.

Registration and call time, every audited act, clock stops (probe-confirmed or by hand), outage
and restoration instants, the messages Slack accepted with their `ts`, and credit states; JSON
gives each instant in UTC ISO-8601 and in the catalog's local time.
"""

import argparse
import json
import sys
from pathlib import Path

from bot.app import utc_now
from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.database_errors import open_migrated
from bot.cli.settings_errors import read_settings
from bot.config import CatalogError, load_catalog
from bot.errors import UserFacingError
from bot.grammar import parse_ticket
from bot.messages import Messages
from bot.services.evidence import ticket_evidence, to_json, to_text
from bot.storage.catalog_sync import missing_references
from bot.storage.database import make_sessionmaker, reading


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("audit", help="print a ticket's evidence timeline")
    parser.add_argument("ticket", help="INT-42 or 42")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = read_settings()
    if settings is None:
        return EXIT_USAGE
    messages = Messages(settings.language)
    try:
        ticket_id = parse_ticket(args.ticket)
    except UserFacingError as error:
        # The parser's own reason: `INT-4x` is not a ticket; a number too big for one names a
        # ticket that does not exist.
        _refused(error, messages)
        return EXIT_USAGE
    source = settings.catalog_path(Path.cwd())
    try:
        catalog = load_catalog(source)
    except CatalogError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    engine = open_migrated(settings)
    if engine is None:
        return EXIT_USAGE
    try:
        # A read-only session: it neither waits for the running bot's writes nor holds them up.
        with reading(make_sessionmaker(engine)) as session:
            missing = missing_references(session, catalog)
            if missing:  # the clocks' deadlines cannot be read without them, as in `report`
                print(CatalogError(str(source), missing), file=sys.stderr)
                return EXIT_USAGE
            evidence = ticket_evidence(session, ticket_id, catalog=catalog, now=utc_now())
            if evidence is None:
                _refused(UserFacingError("ticket.not_found", id=ticket_id), messages)
                return EXIT_USAGE
            if args.format == "json":
                output = json.dumps(to_json(evidence, catalog.zone), indent=2, ensure_ascii=False)
            else:
                output = to_text(evidence, catalog.zone)
    finally:
        engine.dispose()
    print(output)
    return EXIT_OK


def _refused(error: UserFacingError, messages: Messages) -> None:
    """Why there is no timeline to print, on stderr: what the bot would reply, in the
    configured language, without Slack's code quotes."""
    print(messages.get(error.key, **error.values).replace("`", ""), file=sys.stderr)
