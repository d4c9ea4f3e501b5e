"""Composition root and CLI entry point: `supportbot <command>`."""

import argparse
import sys
from collections.abc import Sequence

from bot.cli import audit, check_config, migrate, outbox, report, run, sla


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
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
