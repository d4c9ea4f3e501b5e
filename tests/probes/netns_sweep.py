"""Run sweeps with the real engine and print one JSON line per sweep (used inside netns).

python -m tests.probes.netns_sweep --db PATH --start ISO --sweeps N [--kind K] TARGET...
The clock is injected: sweep i happens at start + i x step seconds. State persists in the
SQLite file, so a second run continues the streaks of the first (a restart). Probes are ICMP,
or (`--kind tcp|http`) TCP or HTTP to a server this process runs on 127.0.0.1 (or `--listen`),
each target being the host the probe names.
"""

import argparse
import asyncio
import dataclasses
import json
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.probes.engine import ProbeEngine
from bot.probes.errors import english
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
    parser.add_argument("--kind", choices=["icmp", "tcp", "http"], default="icmp")
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("targets", nargs="+")
    args = parser.parse_args()
    fresh = not args.db.exists()
    database = make_engine(f"sqlite:///{args.db}")
    if fresh:
        migrate(database)
    sessions = make_sessionmaker(database)
    runner = web.AppRunner(web.Application())  # answers 404: the HTTP probes expect it
    clock = Clock(datetime.fromisoformat(args.start))
    events: list[ProbeEvent] = []

    async def record(event: ProbeEvent) -> None:
        events.append(event)

    async def sweeps() -> None:
        port = await listen(runner, args.listen)
        servers = [
            server(f"t-{host.replace(':', '-')}", host, probe(args.kind, host, port, args.timeout))
            for host in args.targets
        ]
        if fresh:
            seed(sessions, servers)
        async with ProbeEngine(servers, sessions, clock, on_event=record) as engine:
            for _ in range(args.sweeps):
                results = await engine.sweep()
                line = {
                    "at": clock().isoformat(),
                    "icmp": engine.icmp_mode,
                    "results": {
                        r.key: {"ok": r.ok, "error": english(r.error), "at": r.at.isoformat()}
                        for r in results
                    },
                    "states": {key: engine.state(key).status.value for key in engine.keys},
                    "events": [_event(e) for e in events],
                }
                events.clear()
                print(json.dumps(line), flush=True)
                clock.advance(args.step)
        await runner.cleanup()

    asyncio.run(sweeps())
    database.dispose()


async def listen(runner: web.AppRunner, address: str) -> int:
    """Serve HTTP on a free port of `address`; the port."""
    await runner.setup()
    site = web.TCPSite(runner, address, 0)
    await site.start()
    return int(runner.addresses[0][1])


def probe(kind: str, host: str, port: int, timeout: str) -> dict[str, object]:
    """The catalog's probe of `kind` on `host` (TCP and HTTP: to this process's server)."""
    if kind == "tcp":
        return {"type": "tcp", "port": port, "timeout": timeout}
    if kind == "http":
        return {"type": "http", "url": f"http://{host}:{port}/", "expect_status": 404,
                "timeout": timeout}  # fmt: skip
    return {"type": "icmp", "timeout": timeout}


def _event(event: ProbeEvent) -> dict[str, str]:
    fields = {"type": type(event).__name__}
    for name, value in dataclasses.asdict(event).items():
        fields[name] = value.isoformat() if isinstance(value, datetime) else str(value)
    return fields


if __name__ == "__main__":
    main()
