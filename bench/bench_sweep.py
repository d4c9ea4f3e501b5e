"""Cost of one warnings-and-nudges sweep when nothing is due, in process.

The sweep runs every 15 s on the leader, on its database thread: while it runs, the commands
that worker receives wait for it. The database holds what bench_ack.py stores (10,000 tickets,
30 open) plus `--opened` tickets opened through the service, and every open ticket is claimed,
so each is a candidate (a claimed ticket may owe an update nudge). Prints the median CPU and
wall time of `--runs` sweeps, and the transactions one sweep begins.

    .venv/bin/python bench/bench_sweep.py [--opened 30] [--runs 9]
        [--postgres postgresql://postgres@127.0.0.1:5432/test (a database is made there)]
"""

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_ack import scratch_database
from bench.bench_commands import seed
from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.reminders import ReminderService
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from bot.storage.database import READ_ONLY
from bot.storage.open_tickets import open_tickets


def prepare(url: str, opened: int) -> tuple[ReminderService, Engine]:
    engine, sessions, catalog = seed(url)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    tickets = TicketService(sessions, catalog, Messages("en"), clock=clock)
    tech = Actor("U01AAA")
    for _ in range(opened):
        tickets.open(tech, Open("globex-db-01", TicketKind.RESEAU, None, "bench"))
    with sessions() as session:
        ids = [ticket.id for ticket in open_tickets(session)]
    for ticket_id in ids:
        tickets.claim(tech, ticket_id)
    return ReminderService(sessions, catalog, Messages("en"), clock=clock), engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opened", type=int, default=30, help="tickets opened on top of 30")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: a SQLite file)")
    args = parser.parse_args()
    if args.runs < 1 or args.opened < 0:
        parser.error("--runs is at least 1, --opened at least 0")
    with ExitStack() as stack:
        if args.postgres:
            url = stack.enter_context(scratch_database(args.postgres))
        else:
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/bench.db"
        reminders, engine = prepare(url, args.opened)
        begins: list[str] = []

        def record(connection: Connection) -> None:
            read_only = connection.get_execution_options().get(READ_ONLY)
            begins.append("read" if read_only else "write")

        event.listen(engine, "begin", record)
        cpu, wall = [], []
        for _ in range(args.runs):
            begins.clear()
            started, started_cpu = time.perf_counter(), time.process_time()
            report = reminders.sweep()
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started)
            if report.warnings or report.nudges or report.failed:
                raise RuntimeError(f"the bench expects a sweep that owes nothing: {report}")
    print(
        f"{report.tickets} candidates: sweep {statistics.median(cpu) * 1000:.1f} ms CPU,"
        f" {statistics.median(wall) * 1000:.1f} ms wall (median of {args.runs});"
        f" transactions: {begins.count('read')} read, {begins.count('write')} write"
    )


if __name__ == "__main__":
    main()
