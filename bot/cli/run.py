"""`supportbot run`: migrate, then serve Slack (HTTP or Socket Mode, or the local emulator)."""

import argparse
import asyncio
import logging
import sys

from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.settings_errors import read_settings
from bot.config import CatalogError


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("run", help="run the bot (local emulator without credentials)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # APScheduler logs every run of every job at INFO: a line every few seconds says nothing.
    if args.log_level != "DEBUG":
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    settings = read_settings()
    if settings is None:
        return EXIT_USAGE
    from bot.app import serve  # the composition root; imported late to keep other commands light

    try:
        asyncio.run(serve(settings))
    except CatalogError as error:
        print(f"{error.source}: {len(error.problems)} problem(s)", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
