"""`supportbot check-config`: validate a catalog and summarize it."""

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.database_errors import existing_at_head, sqlite_folder_refused
from bot.cli.settings_errors import read_settings
from bot.config import Catalog, CatalogError, Problem, Settings, format_duration, load_catalog
from bot.storage.catalog_sync import missing_references
from bot.storage.database import (
    DatabaseUnavailableError,
    database_url,
    make_sessionmaker,
    reading,
    reason,
)


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("check-config", help="validate the catalog and print a summary")
    parser.add_argument(
        "--catalog",
        type=Path,
        help="catalog file (default: as `run` would pick, checking the settings `run` reads too)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path: Path | None = args.catalog
    settings: Settings | None = None
    refused: list[str] = []
    if path is not None:
        # The file named is checked alone, but against the history `run` would read it with:
        # an edited catalog that drops a calendar or a level in use was said OK, then refused.
        settings = _settings_if_valid()
    else:
        settings = read_settings()
        if settings is None:
            return EXIT_USAGE
        path = settings.catalog_path(Path.cwd())
        refused = settings_refused(settings)
        for refusal in refused:
            print(refusal, file=sys.stderr)
    try:
        catalog = load_catalog(path)
    except CatalogError as error:
        print_problems(error)
        return EXIT_USAGE
    if refused:
        return EXIT_USAGE
    if settings is not None:  # as `run` would: against the history it already has
        try:
            missing = history_refused(settings, catalog)
        except SQLAlchemyError as error:  # `run` could not open it either
            url = database_url(settings.database_url.get_secret_value())
            shown = url.render_as_string(hide_password=True)
            print(f"cannot read the database {shown}: {reason(error)}", file=sys.stderr)
            if args.catalog is None:
                return EXIT_USAGE
            missing = []  # the file named is checked whatever the database's state
        except DatabaseUnavailableError as error:  # a newer version's schema: `run` refuses it
            print(error, file=sys.stderr)
            if args.catalog is None:
                return EXIT_USAGE
            missing = []
        if missing:
            print_problems(CatalogError(str(path), missing))
            return EXIT_USAGE
    print(f"{path}: OK")
    print(summary(catalog))
    return EXIT_OK


def _settings_if_valid() -> Settings | None:
    """The settings `run` would read, or None, unsaid, when they are not valid: with
    `--catalog`, only the file is being checked, and only a database they name is read."""
    try:
        return Settings()
    except ValidationError:
        return None


def print_problems(error: CatalogError) -> None:
    """Every problem of `error`, under its source, on stderr."""
    print(f"{error.source}: {len(error.problems)} problem(s)", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)


def settings_refused(settings: Settings) -> list[str]:
    """What `run` would refuse in these settings before it starts: a Slack credential missing
    for the mode they ask for, a database URL that is none or needs a driver not installed, a
    SQLite file whose folder is missing or not writable.
    Opens no connection: the database may not exist yet (`run` creates a SQLite file)."""
    problems = []
    missing = settings.missing_credential
    if missing is not None:
        problems.append(missing)
    try:
        database_url(settings.database_url.get_secret_value())
    except DatabaseUnavailableError as error:
        problems.append(str(error))
    folder = sqlite_folder_refused(settings)
    if folder is not None:
        problems.append(folder)
    return problems


def history_refused(settings: Settings, catalog: Catalog) -> list[Problem]:
    """What `run` refuses of `catalog` on the settings' database, if it already exists at this
    version's schema: the calendars its clocks run on and the levels its clients had that the
    catalog no longer has (`missing_references`). A database a newer version migrated raises
    DatabaseUnavailableError, as `run` would refuse it whatever the catalog."""
    engine = existing_at_head(settings)
    if engine is None:
        return []
    try:
        with reading(make_sessionmaker(engine)) as session:
            return missing_references(session, catalog)
    finally:
        engine.dispose()


def summary(catalog: Catalog) -> str:
    """A human summary: levels, clients, servers and probes."""
    lines = [f"time zone: {catalog.timezone}", f"levels ({len(catalog.levels)}):"]
    for name, level in catalog.levels.items():
        lines.append(
            f"  {name}: GTI {format_duration(level.gti)} ({level.calendar_for('gti')}), "
            f"GTR {format_duration(level.gtr)} ({level.calendar_for('gtr')}), "
            f"{level.monthly_interventions} interventions/month, {level.monthly_fee:.2f} €/month"
        )
    lines.append(f"clients ({len(catalog.clients)}):")
    for client in catalog.clients:
        # A fee of its own is what its credits are computed on: the level's would mislead.
        fee = "" if client.monthly_fee is None else f", {client.monthly_fee:.2f} €/month"
        lines.append(f"  {client.id}: {client.name} [{client.level}{fee}]")
    probes = sum(len(s.probes) for s in catalog.servers)
    lines.append(f"servers ({len(catalog.servers)}, {probes} probes):")
    for server in catalog.servers:
        kinds = (
            ", ".join(f"{p.type}:{p.port}" if p.type == "tcp" else p.type for p in server.probes)
            or "no probe"
        )
        lines.append(f"  {server.id} ({server.client}) {server.host}: {kinds}")
    return "\n".join(lines)
