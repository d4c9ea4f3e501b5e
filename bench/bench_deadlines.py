"""Time 10,000 deadline computations on the business calendar (FR holidays).

Budgets are random from 15 minutes to 10 days, starts random over 2026 (Europe/Paris).
Run: .venv/bin/python bench/bench_deadlines.py [--n 10000] [--seed 42]
"""

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_catalog
from bot.sla import add_open_time, build_calendar

CATALOG = Path(__file__).resolve().parents[1] / "examples" / "catalog.toml"
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 24 * 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of deadlines")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    catalog = load_catalog(CATALOG)
    rng = random.Random(args.seed)
    cases = [
        (
            YEAR_START + timedelta(seconds=rng.randrange(YEAR_SECONDS)),
            timedelta(minutes=rng.randint(15, 10 * 24 * 60)),
        )
        for _ in range(args.n)
    ]
    for label in ("cold (fresh calendar, day cache empty)", "warm (day cache filled)"):
        if label.startswith("cold"):
            calendar = build_calendar(catalog.calendars["business"], catalog.zone, "business")
        began = time.perf_counter()
        for start, budget in cases:
            add_open_time(start, budget, calendar)
        elapsed = time.perf_counter() - began
        print(
            f"{label}: {args.n} deadlines in {elapsed * 1000:.1f} ms, "
            f"{elapsed / args.n * 1e6:.1f} µs per deadline"
        )


if __name__ == "__main__":
    main()
