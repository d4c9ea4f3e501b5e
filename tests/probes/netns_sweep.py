"""Run ICMP sweeps with the real engine and print one JSON line per sweep (used inside netns).

python -m tests.probes.netns_sweep --db PATH --start ISO --sweeps N TARGET...
The clock is injected: sweep i happens at start + i x step seconds. State persists in the
SQLite file, so a second run continues the streaks of the first (a restart).
"""

import argparse
import asyncio
import dataclasses
import json
from datetime import datetime
from pathlib import Path

from bot.probes.engine import ProbeEngine
from bot.probes.state import ProbeEvent
from bot.storage.database import make_engine, make_sessionmaker, migrate
from tests.probes.support import Clock, seed, server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--sweeps", type=int, default=1)
    parser.add_argument("--step", type=float, default=5.0)
    parser.add_argument("--timeout", default="1s")
    parser.add_argument("targets", nargs="+")
    args = parser.parse_args()
    servers = [
        server(f"t-{address}", address, {"type": "icmp", "timeout": args.timeout})
        for address in args.targets
    ]
    fresh = not args.db.exists()
    database = make_engine(f"sqlite:///{args.db}")
    if fresh:
        migrate(database)
    sessions = make_sessionmaker(database)
    if fresh:
        seed(sessions, servers)
    clock = Clock(datetime.fromisoformat(args.start))
    events: list[ProbeEvent] = []

    async def record(event: ProbeEvent) -> None:
        events.append(event)

    async def sweeps() -> None:
        async with ProbeEngine(servers, sessions, clock, on_event=record) as engine:
            for _ in range(args.sweeps):
                results = await engine.sweep()
                line = {
                    "at": clock().isoformat(),
                    "icmp": engine.icmp_mode,
                    "results": {
                        r.key: {"ok": r.ok, "error": r.error, "at": r.at.isoformat()}
                        for r in results
                    },
                    "states": {key: engine.state(key).status.value for key in engine.keys},
                    "events": [_event(e) for e in events],
                }
                events.clear()
                print(json.dumps(line), flush=True)
                clock.advance(args.step)

    asyncio.run(sweeps())
    database.dispose()


def _event(event: ProbeEvent) -> dict[str, str]:
    fields = {"type": type(event).__name__}
    for name, value in dataclasses.asdict(event).items():
        fields[name] = value.isoformat() if isinstance(value, datetime) else str(value)
    return fields


if __name__ == "__main__":
    main()
