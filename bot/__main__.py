"""Composition root and CLI entry point: `supportbot <command>`."""

import argparse
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from bot.cli import (
    EXIT_OUTPUT_CLOSED,
    EXIT_USAGE,
    audit,
    check_config,
    migrate,
    outbox,
    report,
    run,
    sla,
)
from bot.cli.database_errors import database_failed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supportbot",
        description="Slack bot for managed-hosting support: probes, tickets, SLA clocks.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (check_config, migrate, outbox, run, sla, audit, report):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
        # None when started with stdout closed (`>&-`): print() then writes nothing.
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped reading (`supportbot audit INT-42 | head`): no traceback for that.
        # Python flushes stdout again at exit, so point it somewhere that accepts the rest.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OUTPUT_CLOSED
    except OperationalError as error:
        # The database failing under a command with no word of its own for it (a writer of
        # SQLite kept past its busy timeout by another program's lock): said, not a traceback.
        print(database_failed(error), file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
