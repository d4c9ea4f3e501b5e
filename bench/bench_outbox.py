"""Deliver N queued messages over C channels through `supportbot outbox send` to the emulator.

Rate limiting is on (Slack's 1 message/s/channel, bursts of 3), so the ceiling is C messages/s
sustained. Prints the delivery rate against that ceiling and the sender process's CPU per
message (utime + stime from /proc, startup excluded). The emulator runs in this process.
Run: .venv/bin/python bench/bench_outbox.py [--n 300] [--channels 10] [--ratio-429 0]
        [--postgres postgresql://postgres@127.0.0.1:5432/test (a database is made there)]
"""

import argparse
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_ack import scratch_database
from bot.sandbox import EmulatorThread, SlackEmulator
from bot.storage.database import make_engine, make_sessionmaker, migrate
from bot.storage.outbox import Outbound, add_message

REPO = Path(__file__).resolve().parents[1]
BURST = 3  # the emulator's (and Slack's) per-channel burst
THREADS_PER_CHANNEL = 3


def plan(n: int, channels: int) -> list[Outbound]:
    """Per channel, THREADS_PER_CHANNEL threads (a root, then replies), written interleaved."""
    messages: list[Outbound] = []
    for index in range(n):
        channel, lane = index % channels, (index // channels) % THREADS_PER_CHANNEL
        seq = index // (channels * THREADS_PER_CHANNEL)
        root = f"c{channel}/t{lane}/0"
        text = f"c{channel} t{lane} #{seq}"
        if seq == 0:
            messages.append(Outbound(key=root, text=text, channel_id=f"C{channel:03d}"))
        else:
            messages.append(Outbound(key=f"c{channel}/t{lane}/{seq}", text=text, thread_key=root))
    return messages


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="messages")
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--ratio-429", type=float, default=0.0, help="extra injected 429s")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: a SQLite file)")
    args = parser.parse_args()

    with ExitStack() as stack:
        if args.postgres:
            url = stack.enter_context(scratch_database(args.postgres))
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-outbox-"))
            url = f"sqlite:///{folder}/outbox.db"
        engine = make_engine(url)
        migrate(engine)
        sessions = make_sessionmaker(engine)
        with sessions.begin() as session:
            for message in plan(args.n, args.channels):
                add_message(session, message, now=datetime.now(UTC))

        with EmulatorThread(SlackEmulator()) as slack:
            for channel in range(args.channels):
                slack.add_channel(f"C{channel:03d}")
            slack.add_channel("C01ALERTS")
            if args.ratio_429:
                slack.inject_429(args.ratio_429, retry_after=(1, 5), seed=1)
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO),
                "SUPPORTBOT_DATABASE_URL": url,
                "SUPPORTBOT_SLACK_API_URL": slack.api_url,
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SUPPORTBOT_CATALOG": str(REPO / "examples" / "catalog.toml"),
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "outbox", "send", "--log-level", "WARNING"],
                cwd=REPO,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            # Startup (imports, migrations) is excluded: wait for the first post, then measure.
            slack.wait_until(lambda: slack.calls, timeout_s=30)
            cpu_start, began = cpu_seconds(process.pid), time.monotonic()
            first_at = slack.calls[0].at

            def delivered() -> int:
                return sum(len(slack.messages(f"C{c:03d}")) for c in range(args.channels))

            slack.wait_until(lambda: delivered() >= args.n, timeout_s=args.n)
            cpu_used = cpu_seconds(process.pid) - cpu_start
            elapsed = time.monotonic() - began
            last_at = slack.calls[-1].at
            process.send_signal(signal.SIGTERM)
            process.wait(10)
            calls = slack.calls
            if process.stderr is not None and select.select([process.stderr], [], [], 0)[0]:
                sys.stderr.write(process.stderr.read())
        engine.dispose()

    window = last_at - first_at
    per_channel = args.n / args.channels
    ideal = args.n / max(per_channel - BURST, 1.0)  # a burst at once, then 1/s per channel
    rate = args.n / window
    status_429 = sum(1 for call in calls if call.status == 429)
    print(f"{args.n} messages over {args.channels} channels, {len(calls)} calls, {status_429} 429s")
    print(
        f"delivered in {window:.1f} s (first to last call): {rate:.2f} msg/s; ceiling "
        f"{args.channels:.0f} msg/s sustained, {ideal:.2f} msg/s for this run with bursts of "
        f"{BURST} ({rate / ideal:.0%} of it)"
    )
    print(
        f"sender CPU: {cpu_used * 1000:.0f} ms over {elapsed:.1f} s, "
        f"{cpu_used * 1000 / args.n:.2f} ms per message"
    )


if __name__ == "__main__":
    main()
