"""Composition root and CLI entry point: `supportbot <command>`."""

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence

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
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped reading (`supportbot audit INT-42 | head`): no traceback for that.
        # Python flushes stdout again at exit, so point it somewhere that accepts the rest.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OUTPUT_CLOSED
    except sqlite3.OperationalError as error:
        # Raised bare where a transaction begins (SQLite's BEGIN is sent to the driver directly),
        # so the commands' handlers of SQLAlchemy's errors never see it.
        from bot.cli.database_errors import sqlite_failed

        print(sqlite_failed(error), file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
