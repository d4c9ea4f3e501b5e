"""CPU a slash command costs the bot outside its use case: HTTP, Bolt, the handlers, the hops.

The bot is built in this process as `supportbot run` builds it (`build_runtime`, `BotServer`,
the example catalog, a SQLite database in a temporary folder holding bench_ack.py's 10,000
tickets; no probes) and answers over real HTTP on 127.0.0.1. A child process runs the local
Slack emulator and sends the signed commands, one after the other: `/intervention help`, which
does no database work, and `/intervention show <n>`, one read on a database thread. What this
process spends while they are answered is the server's side: its CPU a request (the median of
`--rounds` rounds of `--requests`), split by thread, or with `--instructions` the instructions
a request counted under callgrind (bench/callgrind.py), the same figure at every run.

    .venv/bin/python bench/bench_request.py [--requests 200] [--rounds 5] [--instructions]

The bot is a follower (another instance holds the lease): its campaign every 5 s is all it does
besides the requests. Under callgrind, two runs of the same code give counts within about 1 %
(the event loop's iterations depend on when the threads wake); compare medians of runs.
"""

import argparse
import asyncio
import functools
import gc
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import callgrind
from bench.bench_ack import CATALOG, TECHS, free_port
from bench.bench_commands import TICKETS, seed
from bot.app import BotServer, Runtime, SlackCredentials, build_runtime, utc_now
from bot.config import Settings
from bot.sandbox import SlackEmulator
from bot.services.leader import SCHEDULER_LEASE
from bot.storage import threads as database_threads
from bot.storage.leases import mark_lease_held

CHANNEL = "C01ALERTS"
FIRST_OPEN = TICKETS - 29  # bench_ack.py's 30 open tickets
VERBS = ("help", "show")


def command_text(verb: str, n: int) -> str:
    return "help" if verb == "help" else f"show {FIRST_OPEN + n % 29}"


class LoadProcess:
    """The emulator and the load generator, in a child process driven line by line: the
    instructions and CPU of this one are the bot's alone."""

    def __init__(self, bot_token: str, signing_secret: str) -> None:
        env = {**os.environ, "BENCH_BOT_TOKEN": bot_token, "BENCH_SIGNING_SECRET": signing_secret}
        self._child = subprocess.Popen(
            [sys.executable, __file__, "--load-generator"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.api_url = self._answer()

    def _answer(self) -> str:
        assert self._child.stdout is not None
        line = self._child.stdout.readline().strip()
        if not line.startswith("ok"):
            raise RuntimeError(f"the load generator failed: {line or 'it exited'}")
        return line[3:]

    def ask(self, line: str) -> str:
        assert self._child.stdin is not None
        self._child.stdin.write(line + "\n")
        self._child.stdin.flush()
        return self._answer()

    def send(self, verb: str, count: int) -> None:
        """`count` signed commands of `verb`, each sent when the previous one was answered."""
        self.ask(f"{verb} {count}")

    def close(self) -> None:
        assert self._child.stdin is not None
        self._child.stdin.close()
        self._child.wait(30)


async def generate_load() -> None:
    """The child: start the emulator, say where its API is, then send what stdin asks."""
    emulator = SlackEmulator(
        bot_token=os.environ["BENCH_BOT_TOKEN"],
        signing_secret=os.environ["BENCH_SIGNING_SECRET"],
        rate_limit=False,
    )
    await emulator.start()
    emulator.add_channel(CHANNEL)
    loop = asyncio.get_running_loop()
    say = functools.partial(print, flush=True)
    say(f"ok {emulator.api_url}")
    try:
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).split():
            if line[0] == "bot":
                emulator.bot_url = line[1]
                say("ok")
                continue
            for n in range(int(line[1])):
                text = command_text(line[0], n)
                reply = await emulator.send_slash_command(
                    "/intervention", text, user_id=TECHS[0], channel_id=CHANNEL
                )
                if reply.status != 200 or "Internal error" in reply.text:
                    say(f"failed /intervention {text}: HTTP {reply.status} {reply.text[:200]}")
                    break
            else:
                say("ok")
    finally:
        await emulator.stop()


def lead_elsewhere(runtime: Runtime) -> None:
    """Another worker leads: this one only answers requests, as a follower worker does, and
    the leader's duties (the outbox sender's read every second, the scheduler's jobs) do not
    run meanwhile. Run as the leader, they add 4 % to a `help` and make the count wander."""
    with runtime.sessions.begin() as session:
        held = mark_lease_held(
            session, SCHEDULER_LEASE, holder="bench-leader#0", now=utc_now(), ttl=timedelta(hours=1)
        )
    assert held


def thread_nanoseconds() -> Counter[str]:
    """CPU nanoseconds so far of this process's threads, summed by name: the event loop's
    (`MainThread`), the database threads', …"""
    spent: Counter[str] = Counter()
    for thread in threading.enumerate():
        name = thread.name.split(" ")[0].rstrip("_0123456789")
        try:
            schedstat = Path(f"/proc/self/task/{thread.native_id}/schedstat").read_text()
            spent[name] += int(schedstat.split()[0])
        except (OSError, ValueError):
            continue  # ended meanwhile
    return spent


def timed(load: LoadProcess, verb: str, requests: int) -> tuple[float, Counter[str]]:
    """This process's CPU a request, in all and by thread, while `requests` are answered."""
    threads_before, started = thread_nanoseconds(), time.process_time()
    load.send(verb, requests)
    spent = time.process_time() - started
    by_thread = thread_nanoseconds()
    by_thread.subtract(threads_before)
    return spent / requests, by_thread


async def measure(args: argparse.Namespace, folder: str) -> None:
    url = f"sqlite:///{folder}/bench.db"
    await asyncio.to_thread(seed, url)
    bot_token, signing_secret = f"xoxb-bench-{secrets.token_hex(8)}", secrets.token_hex(16)
    load = await asyncio.to_thread(LoadProcess, bot_token, signing_secret)
    settings = Settings(
        SUPPORTBOT_DATABASE_URL=url,
        SUPPORTBOT_CATALOG=CATALOG,
        SUPPORTBOT_LANGUAGE="en",
        SUPPORTBOT_HOST="127.0.0.1",
        SUPPORTBOT_PORT=free_port(),
    )
    database_threads.configure(settings.threads_for_database)  # as serve() does
    runtime = await asyncio.to_thread(build_runtime, settings)
    await asyncio.to_thread(lead_elsewhere, runtime)
    credentials = SlackCredentials(bot_token, signing_secret, None, load.api_url)
    server = BotServer(runtime, credentials, host=settings.host, port=settings.port, probes=False)
    await server.start()
    gc.freeze()  # as serve() does
    try:
        await asyncio.to_thread(load.ask, f"bot http://127.0.0.1:{server.port}/slack/events")
        for verb in VERBS:  # warm-up: connections, auth.test, compiled statements, caches
            await asyncio.to_thread(load.send, verb, 30)
        for verb in VERBS:
            if args.instructions:
                work = functools.partial(load.send, verb, args.requests)
                counted = await asyncio.to_thread(callgrind.count, work)
                print(f"{verb:<5} {counted / args.requests / 1e6:.3f} M instructions a request")
                continue
            rounds = [
                await asyncio.to_thread(timed, load, verb, args.requests)
                for _ in range(args.rounds)
            ]
            median = statistics.median(seconds for seconds, _ in rounds)
            threads: Counter[str] = Counter()
            for _, by_thread in rounds:
                threads.update(by_thread)
            split = ", ".join(
                f"{name} {nanoseconds / args.rounds / args.requests / 1e3:.0f}"
                for name, nanoseconds in threads.most_common()
                if nanoseconds > 0
            )
            print(
                f"{verb:<5} {median * 1e6:.0f} µs of CPU a request, median ({split} µs by thread)"
            )
    finally:
        await server.stop()
        runtime.engine.dispose()
        await asyncio.to_thread(load.close)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests a round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions under valgrind's callgrind instead of timing the CPU",
    )
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_generator:
        asyncio.run(generate_load())
        return
    if args.instructions and not callgrind.under_callgrind():
        callgrind.rerun_under_callgrind(__file__, sys.argv[1:])
    print(f"{args.requests} requests a round, one at a time, {TICKETS} tickets stored")
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure(args, folder))


if __name__ == "__main__":
    main()
