"""Open the database for a CLI command that only reads it, turning a wrong URL into a message."""

import os
import sys
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.config import Settings
from bot.storage.database import (
    READ_ONLY,
    DatabaseUnavailableError,
    alembic_config,
    database_url,
    make_engine,
    reason,
)


def sqlite_folder_refused(settings: Settings) -> str | None:
    """What keeps SQLite from creating or writing the settings' database file in its folder,
    if anything: said by the setting's name, where SQLite only says "unable to open database
    file". None for another database, or a URL that does not parse (said where it is opened)."""
    try:
        url = database_url(settings.database_url.get_secret_value())
    except DatabaseUnavailableError:
        return None
    path = url.database or ""
    if url.get_backend_name() != "sqlite" or path in ("", ":memory:") or path.startswith("file:"):
        return None
    file = Path(path)
    folder = file.parent
    if not folder.exists():
        problem = "does not exist"
    elif not folder.is_dir():
        problem = "is not a folder"
    elif not os.access(folder, os.W_OK | os.X_OK):
        # SQLite writes its journal (or WAL) beside the file, even when the file is writable.
        problem = "is not writable by this user"
    else:
        return None
    return f"SUPPORTBOT_DATABASE_URL: the folder {folder} of the SQLite file {file.name} {problem}"


def database_failed(error: OperationalError) -> str:
    """What to say of the database failing under a command that has no word of its own for it
    (a writer of SQLite waited past its busy timeout for another program's lock, a disk I/O
    error, a PostgreSQL server gone in the middle): which database, and why (`reason`)."""
    try:
        url = database_url(Settings().database_url.get_secret_value())
        shown = url.render_as_string(hide_password=True)
    except (ValueError, DatabaseUnavailableError):  # the command read them: not expected
        shown = "(SUPPORTBOT_DATABASE_URL)"
    return f"the database {shown} failed: {reason(error)}"


def open_migrated(settings: Settings) -> Engine | None:
    """An engine on the settings' database if it exists and has this version's schema; else
    None after saying on stderr what is wrong (password hidden). Creates and migrates nothing:
    a mistyped SQLite path must not come out as a new, empty, healthy-looking database."""
    try:
        url = database_url(settings.database_url.get_secret_value())
    except DatabaseUnavailableError as error:
        print(error, file=sys.stderr)
        return None
    shown = url.render_as_string(hide_password=True)
    path = url.database or ""
    if url.get_backend_name() == "sqlite" and path in ("", ":memory:"):
        # Migrating it, as the message below would say, makes one that is gone at exit.
        raw = settings.database_url.get_secret_value()
        print(
            f"SUPPORTBOT_DATABASE_URL is an in-memory SQLite database"
            f" ({raw if url.password is None else shown}), empty in every process that opens"
            " it: set the file the bot writes (sqlite:///supportbot.db)",
            file=sys.stderr,
        )
        return None
    if (
        url.get_backend_name() == "sqlite"
        and path not in ("", ":memory:")
        and not path.startswith("file:")
        and not Path(path).is_file()
    ):
        print(f"no database at {path}: check SUPPORTBOT_DATABASE_URL", file=sys.stderr)
        return None
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as error:
        engine.dispose()
        print(f"cannot read the database {shown}: {reason(error)}", file=sys.stderr)
        return None
    script = ScriptDirectory.from_config(alembic_config(engine))
    head = script.get_current_head()
    if current is not None and not known_revision(script, current):
        engine.dispose()
        print(newer_schema(shown, current, head), file=sys.stderr)
        return None
    if current != head:
        engine.dispose()
        print(
            f"the database {shown} is at schema revision {current or 'none'}, not {head}:"
            " run `supportbot migrate` (or check SUPPORTBOT_DATABASE_URL)",
            file=sys.stderr,
        )
        return None
    return engine


def existing_at_head(settings: Settings) -> Engine | None:
    """An engine on the settings' database if it exists and has this version's schema; None,
    silently, otherwise (no SQLite file yet, an older revision, a URL that does not parse), for
    a check that needs the database only when there is one. A server that cannot be reached
    raises SQLAlchemyError; a revision this version does not know (a newer version migrated
    it: `run` cannot start on it), DatabaseUnavailableError saying so."""
    try:
        url = database_url(settings.database_url.get_secret_value())
    except DatabaseUnavailableError:
        return None
    path = url.database or ""
    if url.get_backend_name() == "sqlite" and (
        path in ("", ":memory:") or path.startswith("file:") or not Path(path).is_file()
    ):
        return None
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError:
        engine.dispose()
        raise
    script = ScriptDirectory.from_config(alembic_config(engine))
    head = script.get_current_head()
    if current is not None and not known_revision(script, current):
        engine.dispose()
        shown = url.render_as_string(hide_password=True)
        raise DatabaseUnavailableError(newer_schema(shown, current, head))
    if current != head:
        engine.dispose()
        return None
    return engine


# What the commands that migrate add to alembic's "Can't locate revision identified by '0010'".
NEWER_HINT = "did a newer supportbot migrate it? `supportbot migrate` says"


def known_revision(script: ScriptDirectory, revision: str) -> bool:
    """Whether this version's migrations include `revision`."""
    try:
        script.get_revision(revision)
    except CommandError:
        return False
    return True


def newer_schema(shown: str, current: str, head: str | None) -> str:
    """What to say of a database that a newer supportbot migrated: `supportbot migrate` cannot
    help (it fails on a revision it does not know), the version that migrated it can."""
    return (
        f"the database {shown} is at schema revision {current}, which this supportbot does not"
        f" know (its latest is {head}): a newer version migrated it; run that version"
    )
