"""`supportbot run`: migrate, then serve Slack (HTTP or Socket Mode, or the local emulator)."""

import argparse
import asyncio
import logging
import sys

from alembic.util import CommandError

from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.database_errors import NEWER_HINT, sqlite_folder_refused
from bot.cli.settings_errors import read_settings
from bot.config import CatalogError
from bot.errors import ListenError, SlackRefusedError
from bot.storage.database import DatabaseUnavailableError

logger = logging.getLogger("supportbot")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("run", help="run the bot (local emulator without credentials)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    parser.set_defaults(handler=run)


def configure_logging(level: str, *, prefix: str = "") -> None:
    """Log lines to stderr; `prefix` tells the workers of one supervisor apart."""
    logging.basicConfig(
        level=level, format=f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s"
    )
    # APScheduler logs every run of every job at INFO: a line every few seconds says nothing.
    if level != "DEBUG":
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    settings = read_settings()
    if settings is None:
        return EXIT_USAGE
    missing = settings.missing_credential
    if missing is not None:
        # Said here, before anything starts: raised from a worker, it restarted it forever.
        print(missing, file=sys.stderr)
        return EXIT_USAGE
    folder = sqlite_folder_refused(settings)
    if folder is not None:
        print(folder, file=sys.stderr)
        return EXIT_USAGE
    if settings.workers > 1 and settings.local_mode:
        logger.warning(
            "SUPPORTBOT_WORKERS=%d ignored: the local Slack emulator serves one process",
            settings.workers,
        )
    try:
        if settings.workers > 1 and not settings.local_mode:
            from bot.workers import supervise

            supervise(settings, log_level=args.log_level)
        else:
            from bot.app import serve  # the composition root; imported late: other commands

            asyncio.run(serve(settings))
    except CatalogError as error:
        print(f"{error.source}: {len(error.problems)} problem(s)", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (DatabaseUnavailableError, ListenError, SlackRefusedError) as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    except CommandError as error:  # the migrations at start, on a schema they do not know
        print(f"cannot migrate the database: {error} ({NEWER_HINT})", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
