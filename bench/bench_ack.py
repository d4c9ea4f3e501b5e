"""Ack latency of slash commands under load: 50 concurrent commands, 10,000 tickets stored.

Runs the real bot (HTTP, Bolt, services, outbox) against the local Slack emulator, on SQLite and
on PostgreSQL, and reports p50/p99 of the time from sending a signed command to its ack.
Target: p99 under 100 ms. It also reports the CPU a command costs, while the bursts are
answered, to the bot, to this process (the load generator and the emulator) and, on a
PostgreSQL running on this machine, to the database server: on a machine where they all share
the cores, a burst is answered when their sum is spent.

    .venv/bin/python bench/bench_ack.py [--tickets 10000] [--concurrent 50] [--rounds 4]
        [--workers N (default: one per core)] [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--only sqlite|postgresql]
"""

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_catalog
from bot.sandbox import SlackEmulator
from bot.storage.catalog_sync import sync_catalog
from bot.storage.database import make_engine, make_sessionmaker, migrate
from bot.storage.models import (
    Clock,
    OutboxMessage,
    OutboxOperation,
    OutboxStatus,
    Scope,
    Ticket,
    TicketStatus,
)

CATALOG = Path(__file__).resolve().parents[1] / "examples" / "catalog.toml"
TECHS = ["U01AAA", "U01BBB"]
SUPPORTBOT = Path(sys.executable).with_name("supportbot")


def fill(url: str, tickets: int, now: datetime, root_ts: list[str]) -> None:
    """`tickets` tickets: all but 30 resolved over the last year, 30 open on globex whose root
    messages were posted (`root_ts`), so their threads exist in the emulator."""
    engine = make_engine(url)
    rows = []
    for n in range(tickets):
        called = now - timedelta(minutes=50 * (tickets - n))
        resolved = n < tickets - 30
        rows.append(
            {
                "client_id": "globex" if not resolved else ("acme" if n % 2 else "globex"),
                "server_id": "globex-db-01",
                "kind": "materiel" if resolved else "reseau",
                "level": "premium",
                "description": f"bench ticket {n}",
                "status": TicketStatus.RESOLVED if resolved else TicketStatus.OPEN,
                "scope": Scope.IN,
                "called_at": called,
                "registered_at": called,
                "opened_by": "U01AAA",
                "resolved_at": called + timedelta(hours=1) if resolved else None,
                "revision": 0,
                "thread_key": None,
            }
        )
    with engine.begin() as connection:
        for start in range(0, len(rows), 2000):
            connection.execute(insert(Ticket), rows[start : start + 2000])
        ids = [row[0] for row in connection.execute(text("SELECT id FROM tickets ORDER BY id"))]
        # As the bot stores them: a resolved ticket's clock stopped at its restoration, an open
        # one's running since 10 min with its deadline (24/7: the budget from its start), which
        # the bot keeps for the sweep (a stopped clock keeps none) and a first write fills in.
        clocks = []
        for ticket_id, row in zip(ids, rows, strict=True):
            started = row["called_at"] if row["resolved_at"] else now - timedelta(minutes=10)
            clocks.append(
                {
                    "ticket_id": ticket_id,
                    "kind": "gtr",
                    "budget_seconds": 4 * 3600,
                    "calendar": "always",
                    "started_at": started,
                    "stopped_at": row["resolved_at"],
                    "stopped_by": "probe" if row["resolved_at"] else None,
                    "deadline_at": None if row["resolved_at"] else started + timedelta(hours=4),
                }
            )
        for start in range(0, len(clocks), 2000):
            connection.execute(insert(Clock), clocks[start : start + 2000])
        # The open tickets' root messages, as if delivered long ago: their threads exist.
        open_ids = ids[-30:]
        connection.execute(
            text("UPDATE tickets SET thread_key = 'INT-' || id || '/root' WHERE id >= :first"),
            {"first": open_ids[0]},
        )
        connection.execute(
            insert(OutboxMessage),
            [
                {
                    "key": f"INT-{ticket_id}/root",
                    "operation": OutboxOperation.POST,
                    "channel_id": "C01ALERTS",
                    "text": "seeded root",
                    "status": OutboxStatus.SENT,
                    "created_at": now,
                    "next_attempt_at": now,
                    "sent_at": now,
                    "ts": ts,
                    "sent_channel_id": "C01ALERTS",
                    "attempts": 1,
                }
                for ticket_id, ts in zip(open_ids, root_ts, strict=True)
            ],
        )
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def post_root(emulator: SlackEmulator, n: int) -> str:
    """Post a ticket root message through the emulator's Web API; its ts."""
    client = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
    reply = await client.chat_postMessage(channel="C01ALERTS", text=f"seeded root {n}")
    return str(reply["ts"])


async def wait_healthy(port: int, bot: subprocess.Popen[bytes], workers: int) -> None:
    """Until every worker answers /healthz (each on a new connection: the kernel picks one)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        while time.monotonic() < deadline:
            if bot.poll() is not None:
                raise RuntimeError("the bot exited")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    seen.add((await response.json())["instance"])
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
            if len(seen) == workers:
                return
    raise RuntimeError(f"the bot did not start: {len(seen)} of {workers} workers answered")


@dataclass(frozen=True)
class _Process:
    parent: int
    name: str
    cpu: float  # user + system seconds
    waited: float  # what the children it waited for used


def processes() -> dict[int, _Process]:
    """Every process's CPU time, from /proc."""
    found: dict[int, _Process] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue  # gone meanwhile
        fields = tail.split()
        found[int(stat.parent.name)] = _Process(
            parent=int(fields[1]),
            name=head.split("(", 1)[1],
            cpu=(int(fields[11]) + int(fields[12])) / tick,
            waited=(int(fields[13]) + int(fields[14])) / tick,
        )
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and of its descendants alive (the workers)."""
    found = processes()
    tree = {pid}
    while grown := {p for p, proc in found.items() if proc.parent in tree and p not in tree}:
        tree |= grown
    return sum(found[member].cpu for member in tree if member in found)


def database_server_seconds() -> float:
    """CPU time of this machine's PostgreSQL: its processes alive, and what the backends that
    ended left to the server process that waited for them (0 when it runs elsewhere)."""
    return sum(proc.cpu + proc.waited for proc in processes().values() if proc.name == "postgres")


@dataclass(frozen=True)
class Measured:
    latencies: list[tuple[str, float]]  # (verb, seconds from sending to the ack)
    # CPU seconds spent while the bursts were answered (not the outbox's drain between them):
    bot_cpu: float  # the bot's processes
    load_cpu: float  # this process: the load generator and the emulator
    server_cpu: float  # the local PostgreSQL's processes (0 on SQLite)


async def measure(url: str, tickets: int, concurrent: int, rounds: int, workers: int) -> Measured:
    """Latencies of `rounds` bursts of `concurrent` commands to a bot in its own process.

    The bot runs as `supportbot run` (as in production: Slack is another machine), the
    emulator and the load in this process.
    """
    now = datetime.now(UTC)
    engine = make_engine(url)
    migrate(engine)
    with make_sessionmaker(engine).begin() as session:
        sync_catalog(session, load_catalog(CATALOG), now=now)
    engine.dispose()
    emulator = SlackEmulator(rate_limit=False)
    await emulator.start()
    emulator.add_channel("C01ALERTS")
    root_ts = [await post_root(emulator, n) for n in range(30)]
    await asyncio.to_thread(fill, url, tickets, now, root_ts)
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": emulator.bot_token,
        "SLACK_SIGNING_SECRET": emulator.signing_secret,
        "SUPPORTBOT_SLACK_API_URL": emulator.api_url,
        "SUPPORTBOT_DATABASE_URL": url,
        "SUPPORTBOT_CATALOG": str(CATALOG),
        "SUPPORTBOT_PORT": str(port),
        "SUPPORTBOT_LANGUAGE": "en",
        "SUPPORTBOT_WORKERS": str(workers),
    }
    bot = subprocess.Popen(  # noqa: ASYNC220 (returns at once; the bench waits on purpose)
        [str(SUPPORTBOT), "run", "--log-level", "WARNING"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    emulator.bot_url = f"http://127.0.0.1:{port}/slack/events"
    first_open = tickets - 29
    commands = [
        ("/intervention", "open globex-db-01 reseau bench link down"),
        ("/intervention", "claim {n}"),
        ("/intervention", "update {n} told the client"),
        ("/intervention", "show {n}"),
        ("/intervention", "list"),
        ("/sla", "status globex"),
        ("/intervention", "wait {n} codes"),
        ("/intervention", "resume {n}"),
    ]
    latencies: list[tuple[str, float]] = []
    # wait and resume take turns on two halves of 14 open tickets: a round puts one half on hold
    # and resumes the other, which the round before (or the warm-up) put on hold; so a resume
    # resumes, instead of answering that the ticket is not waiting. A round of 50 has at most 7
    # of each verb.
    on_hold = [first_open + 15 + n for n in range(14)]

    def ticket_for(i: int, verb: str) -> int:
        round_, slot = divmod(i, concurrent)
        if verb not in ("wait", "resume"):
            return first_open + i % 29
        half = (round_ + (verb == "resume")) % 2
        return on_hold[7 * half + slot // len(commands)]

    async def one(i: int, *, text: str | None = None) -> None:
        """Command `i` of the mix, or `text` (an /intervention command) for the warm-up."""
        name, template = commands[i % len(commands)]
        if text is not None:
            name, template = "/intervention", text
        body = template.format(n=ticket_for(i, template.split()[0]))
        started = time.perf_counter()
        reply = await emulator.send_slash_command(
            name, body, user_id=TECHS[i % 2], channel_id="C01ALERTS"
        )
        latencies.append((template.split()[0], time.perf_counter() - started))
        if reply.status != 200 or "Internal error" in reply.text:
            raise RuntimeError(f"{name} {body}: HTTP {reply.status} {reply.text[:200]}")

    try:
        await wait_healthy(port, bot, workers)
        # Warm-up (connections, auth.test): the other commands once, and the tickets the first
        # round resumes put on hold.
        await asyncio.gather(*(one(i) for i in range(6)))
        await asyncio.gather(*(one(0, text=f"wait {n} codes") for n in on_hold[7:]))
        latencies.clear()
        spent = [0.0, 0.0, 0.0]  # during the bursts: the bot, this process, PostgreSQL
        for round_ in range(rounds):
            before = cpu_now(bot.pid, url)
            await asyncio.gather(*(one(round_ * concurrent + i) for i in range(concurrent)))
            after = cpu_now(bot.pid, url)
            spent = [total + b - a for total, a, b in zip(spent, before, after, strict=True)]
            await asyncio.sleep(1)  # let the outbox drain between bursts
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.to_thread(bot.wait, 30)  # the emulator keeps answering meanwhile
        await emulator.stop()
    return Measured(latencies, *spent)


def cpu_now(bot: int, url: str) -> tuple[float, float, float]:
    """CPU seconds so far of the bot, of this process, and of a local PostgreSQL (0 for
    SQLite)."""
    server = database_server_seconds() if "postgresql" in url else 0.0
    return cpu_seconds(bot), time.process_time(), server


def percentile(ordered: list[float], share: float) -> float:
    return ordered[max(0, int(len(ordered) * share) - 1)]


def report(name: str, result: Measured) -> None:
    ordered = sorted(seconds for _, seconds in result.latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = percentile(ordered, 0.99) * 1000
    verdict = "OK" if p99 < 100 else "over target"

    def per_command(seconds: float) -> str:
        return f"{seconds / len(ordered) * 1000:.1f} ms"

    server = f", PostgreSQL {per_command(result.server_cpu)}" if result.server_cpu else ""
    print(
        f"{name:<11} n={len(ordered):<4} p50={p50:6.1f} ms  p99={p99:6.1f} ms  ({verdict})"
        f"  CPU a command (during the bursts): bot {per_command(result.bot_cpu)}"
        f", load generator and emulator {per_command(result.load_cpu)}{server}"
    )
    by_kind: dict[str, list[float]] = {}
    for kind, seconds in result.latencies:
        by_kind.setdefault(kind, []).append(seconds * 1000)
    print(
        "            "
        + "  ".join(f"{kind} {statistics.median(values):.0f}" for kind, values in by_kind.items())
        + "  (p50 ms by command)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="run one backend")
    args = parser.parse_args()
    print(
        f"{args.concurrent} concurrent commands x {args.rounds} rounds, {args.tickets} tickets,"
        f" {args.workers} worker(s)"
    )
    measured = (args.tickets, args.concurrent, args.rounds, args.workers)
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            sqlite = f"sqlite:///{folder}/bench.db"
            report("SQLite", asyncio.run(measure(sqlite, *measured)))
    if args.only != "sqlite":
        postgres(args.postgres, measured)


def postgres(server: str, measured: tuple[int, int, int, int]) -> None:
    """The bench on a database created for it on `server`, dropped afterwards."""
    with scratch_database(server) as url:
        report("PostgreSQL", asyncio.run(measure(url, *measured)))


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    """The URL of a new database on the PostgreSQL `server`, dropped on exit."""
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    name = f"supportbot_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()
