"""Open the database for a CLI command that only reads it, turning a wrong URL into a message."""

import sys
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.storage.database import (
    READ_ONLY,
    DatabaseUnavailableError,
    alembic_config,
    database_url,
    make_engine,
)


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
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        print(f"cannot read the database {shown}: {reason}", file=sys.stderr)
        return None
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current != head:
        engine.dispose()
        print(
            f"the database {shown} is at schema revision {current or 'none'}, not {head}:"
            " run `supportbot migrate` (or check SUPPORTBOT_DATABASE_URL)",
            file=sys.stderr,
        )
        return None
    return engine
