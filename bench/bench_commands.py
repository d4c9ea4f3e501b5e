"""CPU of one command's use case, in process: no HTTP, no Bolt, no threads.

The database holds what bench_ack.py stores (10,000 tickets, 30 of them open) plus 30 tickets
opened through the service, so `list` and `/sla status globex` read 60 open tickets. Each
command runs once uncounted (statements compiled, caches filled), then `--runs` times; the
median of its process CPU time is printed, in ms. What this leaves out (HTTP, Bolt, the hop to
the database thread, the outbox) is what bench_ack.py adds.

    .venv/bin/python bench/bench_commands.py [--runs 12] [--instructions] [command ...]
        [--postgres postgresql://postgres@127.0.0.1:5432/test (a database is made there)]

With `--postgres`, the bench runs in a database it creates on that server and drops at the end
(never in the one the URL names). On a PostgreSQL running on this machine, it also prints the
server's CPU a run of each command.
With `--instructions` it counts, under valgrind's callgrind, the instructions each command
executes (bench/callgrind.py): the same figure at every run, where CPU time on a shared VM
drifts by ±30 %, so two versions of the code can be compared one after the other.
"""

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bench import callgrind
from bench.bench_ack import CATALOG, fill, scratch_database
from bot.config import Catalog, load_catalog
from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from bot.storage.catalog_sync import sync_catalog
from bot.storage.database import make_engine, make_sessionmaker, migrate

TICKETS = 10_000


def commands(service: TicketService) -> dict[str, Callable[[int], object]]:
    """The bench_ack mix, each command on a different open ticket at each run, in the order
    they are timed."""
    tech = Actor("U01AAA")
    first_open = TICKETS - 29
    opened = TICKETS + 1  # the tickets opened by `prepare`, unclaimed

    def new_ticket(_run: int) -> object:
        return service.open(tech, Open("globex-db-01", TicketKind.RESEAU, None, "bench"))

    return {
        "show": lambda run: service.show(first_open + run % 29),
        "update": lambda run: service.update(tech, first_open + run % 29, "told the client"),
        "wait": lambda run: service.wait(tech, first_open + run % 29, "codes"),
        "resume": lambda run: service.resume(tech, first_open + run % 29),
        "claim": lambda run: service.claim(tech, opened + run),
        "list": lambda _run: service.list_tickets("open", user_id=tech.user_id),
        "status": lambda _run: service.status("globex"),
        "open": new_ticket,  # last: the others read the same 60 open tickets
    }


def seed(url: str) -> tuple[Engine, sessionmaker[Session], Catalog]:
    """A migrated database at `url` holding the example catalog and bench_ack.py's tickets."""
    now = datetime.now(UTC)
    engine = make_engine(url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    catalog = load_catalog(CATALOG)
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=now)
    fill(url, TICKETS, now, [f"1700000000.{n:06d}" for n in range(30)])
    return engine, sessions, catalog


def prepare(url: str) -> TicketService:
    _, sessions, catalog = seed(url)
    service = TicketService(sessions, catalog, Messages("en"), clock=lambda: datetime.now(UTC))
    for _ in range(30):
        service.open(Actor("U01AAA"), Open("globex-db-01", TicketKind.RESEAU, None, "bench"))
    return service


def run_all(command: Callable[[int], object], runs: int) -> None:
    for run in range(runs):
        command(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions under valgrind's callgrind instead of timing the CPU"
        " (the same figure at every run; each command's runs are counted together)",
    )
    parser.add_argument("command", nargs="*", help="commands to time (default: all)")
    args = parser.parse_args()
    if not 1 <= args.runs <= 28:
        parser.error("--runs is 1 to 28: each run of wait, resume… takes another open ticket")
    if args.instructions and not callgrind.under_callgrind():
        callgrind.rerun_under_callgrind(__file__, sys.argv[1:])
    with ExitStack() as stack:
        if args.postgres:
            url = stack.enter_context(scratch_database(args.postgres))
        else:
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/bench.db"
        service = prepare(url)
        table = commands(service)
        unknown = set(args.command) - set(table)
        if unknown:
            parser.error(f"unknown command(s): {', '.join(sorted(unknown))}")
        selected = args.command or list(table)
        if "resume" in selected and "wait" not in selected:
            for run in range(args.runs + 1):  # resume needs waiting tickets: put them on hold
                table["wait"](run)
        results: dict[str, float] = {}
        server: dict[str, float] = {}  # the database server's CPU, when it is local
        for name in sorted(selected, key=list(table).index):
            command = table[name]  # a UserFacingError (say, resume of a running clock) is a bug
            # One run first, neither timed nor counted: its statements compiled, its caches
            # filled, as in a bot that has answered commands before (a burst's steady state).
            command(args.runs)
            if args.instructions:
                counted = callgrind.count(functools.partial(run_all, command, args.runs))
                results[name] = counted / args.runs / 1e6
                continue
            spent, served = [], []
            for run in range(args.runs):
                server_before = server_nanoseconds()
                started = time.process_time()
                command(run)
                spent.append(time.process_time() - started)
                served.append(server_nanoseconds() - server_before)
            results[name] = statistics.median(spent) * 1000
            server[name] = statistics.median(served) / 1e6
    unit = "millions of instructions a run" if args.instructions else "ms of CPU, median"
    print("  ".join(f"{name} {value:.2f}" for name, value in results.items()), f"({unit})")
    if any(server.values()):
        print(
            "  ".join(f"{name} {value:.2f}" for name, value in server.items()),
            "(ms of the local PostgreSQL server's CPU, median)",
        )


def server_nanoseconds() -> int:
    """CPU time so far of this machine's PostgreSQL processes, from the scheduler's counters
    (nanoseconds; 0 when it runs elsewhere). Not bench_ack's `database_server_seconds`: its
    /proc ticks (10 ms) are coarser than one command; it also counts ended backends, which
    a run in process leaves none of."""
    total = 0
    for process in Path("/proc").glob("[0-9]*"):
        try:
            if (process / "comm").read_text().strip() == "postgres":
                total += int((process / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


if __name__ == "__main__":
    main()
