"""`supportbot migrate`: bring the database schema up to date."""

import argparse

from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.settings_errors import read_settings
from bot.storage.database import describe, make_engine, migrate


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("migrate", help="apply database migrations")
    parser.add_argument("--revision", default="head", help="target revision (default: head)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = read_settings()
    if settings is None:
        return EXIT_USAGE
    engine = make_engine(settings.database_url.get_secret_value())
    migrate(engine, args.revision)
    print(f"{describe(engine)}: at {args.revision}")
    engine.dispose()
    return EXIT_OK
