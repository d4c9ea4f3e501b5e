"""`supportbot migrate`: bring the database schema up to date."""

import argparse
import sys

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.database_errors import known_revision, newer_schema, sqlite_folder_refused
from bot.cli.settings_errors import read_settings
from bot.storage.database import (
    DatabaseUnavailableError,
    alembic_config,
    describe,
    migrate,
    open_database,
    reason,
)


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("migrate", help="apply database migrations")
    parser.add_argument(
        "--revision", type=_revision, default="head", help="target revision (default: head)"
    )
    parser.set_defaults(handler=run)


def _revision(text: str) -> str:
    """A revision to upgrade to: not blank (alembic fails on an empty one with a traceback)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a revision is needed (head, or one like 0009)")
    return text.strip()


def run(args: argparse.Namespace) -> int:
    settings = read_settings()
    if settings is None:
        return EXIT_USAGE
    folder = sqlite_folder_refused(settings)
    if folder is not None:
        print(folder, file=sys.stderr)
        return EXIT_USAGE
    try:
        engine = open_database(settings.database_url.get_secret_value())
    except DatabaseUnavailableError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    try:
        current = _current_revision(engine)
        script = ScriptDirectory.from_config(alembic_config(engine))
        if current is not None and not known_revision(script, current):
            shown = describe(engine)
            print(newer_schema(shown, current, script.get_current_head()), file=sys.stderr)
            return EXIT_USAGE
        migrate(engine, args.revision)
        # Said as read back: an upgrade to an older revision than the database's does nothing.
        current = _current_revision(engine)
    except CommandError as error:  # a revision that does not exist
        print(f"migrate: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SQLAlchemyError as error:  # a role without rights, a table of another application
        shown = describe(engine)
        print(f"migrate: the database {shown} refused it: {reason(error)}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine.dispose()
    print(f"{describe(engine)}: at {current or 'no revision'}")
    return EXIT_OK


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
