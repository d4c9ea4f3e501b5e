"""`supportbot migrate`: bring the database schema up to date."""

import argparse
import re
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
    MIGRATIONS,
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
    migrations = ScriptDirectory(str(MIGRATIONS))
    if _out_of_range(migrations, args.revision):  # said before a database is made
        ordered = _in_order(migrations)
        print(
            f"migrate: no revision {args.revision!r} (head, or one of {ordered[0]} …"
            f" {ordered[-1]})",
            file=sys.stderr,
        )
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


def _out_of_range(script: ScriptDirectory, revision: str) -> bool:
    """Whether `revision` counts steps past the head (`head+1`, `0013+1`) or back to the base
    or before it (`head-100`, `0001-1`, `base+0`): alembic fails on either with a bare
    AssertionError (or, for `base-1`, upgrades to the head). A base it cannot find is left to
    its own message."""
    match = re.fullmatch(r"(\w+)([-+])(\d+)", revision)
    if match is None:
        return False
    base, sign, digits = match.groups()
    ordered = _in_order(script)
    if base == "base":
        start = -1
    else:
        try:
            found = script.get_revision(base)
        except CommandError:
            return False
        if found is None:
            return False
        start = ordered.index(found.revision)
    target = start + int(digits) if sign == "+" else start - int(digits)
    return not 0 <= target < len(ordered)


def _in_order(script: ScriptDirectory) -> list[str]:
    """This version's revisions, oldest first (the history is one line)."""
    return [step.revision for step in reversed(list(script.walk_revisions()))]


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
