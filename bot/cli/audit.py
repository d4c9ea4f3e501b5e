"""`supportbot audit INT-42`: a ticket's timeline, from the append-only audit trail."""

import argparse
import json
import sys
from pathlib import Path

from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.settings_errors import read_settings
from bot.config import CatalogError, load_catalog
from bot.errors import UserFacingError
from bot.grammar import parse_ticket
from bot.services.audit import list_ticket_audit
from bot.storage.database import make_engine, make_sessionmaker
from bot.storage.models import Ticket


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("audit", help="print a ticket's audit timeline")
    parser.add_argument("ticket", help="INT-42 or 42")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = read_settings()
    if settings is None:
        return EXIT_USAGE
    try:
        ticket_id = parse_ticket(args.ticket)
        catalog = load_catalog(settings.catalog_path(Path.cwd()))
    except UserFacingError:
        print(f"not a ticket: {args.ticket!r} (write INT-42 or 42)", file=sys.stderr)
        return EXIT_USAGE
    except CatalogError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    engine = make_engine(settings.database_url.get_secret_value())
    try:
        with make_sessionmaker(engine)() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                print(f"INT-{ticket_id}: no such ticket", file=sys.stderr)
                return EXIT_USAGE
            events = list_ticket_audit(session, ticket_id)
    finally:
        engine.dispose()
    zone = catalog.zone
    if args.format == "json":
        timeline = [
            {
                "at": event.at.isoformat(),
                "actor": event.actor_id,
                "action": event.action,
                "command": event.command,
                "details": event.details,
            }
            for event in events
        ]
        print(json.dumps({"ticket": f"INT-{ticket_id}", "events": timeline}, indent=2))
        return EXIT_OK
    print(f"INT-{ticket_id} ({ticket.kind}, {ticket.client_id}/{ticket.server_id})")
    for event in events:
        local = event.at.astimezone(zone).isoformat(timespec="seconds")
        command = f"  «{event.command}»" if event.command else ""
        print(f"{local}  {event.actor_id:<12} {event.action}{command}")
        for key, value in sorted(event.details.items()):
            print(f"{'':27}{key}: {value}")
    return EXIT_OK
