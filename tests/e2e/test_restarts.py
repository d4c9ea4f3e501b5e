"""Real processes, real time: `supportbot run` SIGKILLed at random moments and restarted while
a 3-minute GTR, a 2-minute GTI and 1-minute nudges run their course. Every warning and nudge
reaches the emulator, once (beyond the outbox's bounded duplicate: one message per channel being
sent to at the kill), on time while the bot is up; one that fell due while the bot was down is
sent on restart, or superseded by a later one of the same clock."""

import os
import random
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import selectinload

from bot.config import load_catalog
from bot.sandbox import EmulatorThread
from bot.services.views import sla_clock
from bot.sla import ClockKind, Pause, plan_nudges, plan_warnings
from bot.storage.database import make_engine, make_sessionmaker, normalize_url
from bot.storage.models import OutboxMessage, OutboxStatus, Ticket
from bot.storage.nudges import list_updates
from bot.storage.outbox import UNCHANGED
from tests.e2e.processes import ALERTS, ONCALL, TECH, BotProcess, fast_workspace

SWEEP = 2.0
SLACK = SWEEP + 5.0  # how late a reminder may reach Slack while the bot is up
KILLS = int(os.environ.get("SUPPORTBOT_TEST_RESTART_KILLS", "10"))
RUN_FOR = 200.0  # seconds: past the GTR breach (180 s) and the third nudge (180 s)


@pytest.mark.long
def test_reminders_survive_random_sigkills(slack: EmulatorThread, tmp_path: Path) -> None:
    """10 SIGKILLs over 200 s: each reminder at most once (bounded), late only after downtime."""
    catalog_path = fast_workspace(slack, tmp_path)
    url = normalize_url(f"sqlite:///{tmp_path / 'bot.db'}")
    bot = BotProcess(slack, url, catalog_path, tmp_path / "bot.log", "restarts", SWEEP)
    rng = random.Random(int(os.environ.get("SUPPORTBOT_TEST_RESTART_SEED", "7")))
    up: list[tuple[float, float]] = []  # wall-clock intervals while leading
    bot.start()
    try:
        bot.wait_healthy(leader=True)
        up_since = time.time()
        slack.bot_url = bot.url
        for text in ("open fast-01 materiel disk failed", "claim 1", "open fast-01 secours down"):
            reply = slack.send_slash_command("/intervention", text, user_id=TECH, channel_id=ALERTS)
            assert reply.status == 200, reply.body
        started = time.time()
        kill_at = sorted(rng.uniform(5, RUN_FOR - 15) for _ in range(KILLS))
        for moment in kill_at:
            time.sleep(max(0.0, started + moment - time.time()))
            bot.kill()
            up.append((up_since, time.time()))
            time.sleep(rng.uniform(0, 3))
            bot.start()
            bot.wait_healthy(leader=True)
            up_since = time.time()
        time.sleep(max(0.0, started + RUN_FOR - time.time()))
        wait_drained(url)
        up.append((up_since, time.time()))
    finally:
        bot.terminate()
    check_deliveries(slack, url, catalog_path, up, kills=KILLS)


def wait_drained(url: URL, timeout_s: float = 30) -> None:
    engine = make_engine(url)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                pending = connection.execute(
                    select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING)
                ).first()
            if pending is None:
                return
            time.sleep(0.2)
        raise AssertionError("the outbox never drained")
    finally:
        engine.dispose()


def check_deliveries(
    slack: EmulatorThread, url: URL, catalog_path: Path, up: list[tuple[float, float]], kills: int
) -> None:
    """The assertions of the restart tests (see the module docstring)."""
    catalog = load_catalog(catalog_path)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = datetime.fromtimestamp(up[-1][1]).astimezone()
    with sessions() as session:
        rows = {
            row.key: row
            for row in session.scalars(select(OutboxMessage))
            if "/gti/" in row.key or "/gtr/" in row.key or "/nudge/" in row.key
        }
        series: list[list[tuple[str, datetime]]] = []
        tickets = session.scalars(
            select(Ticket).options(selectinload(Ticket.clocks), selectinload(Ticket.pauses))
        ).all()
        for ticket in tickets:
            for clock in ticket.clocks:
                plan = plan_warnings(
                    ticket.ref,
                    ClockKind(clock.kind),
                    sla_clock(clock, ticket.pauses, catalog),
                    catalog.policy,
                    now,
                )
                series.append([(w.key, w.due_at) for w in plan if w.due_at < now])
            if ticket.claimed_at is not None:
                nudges = plan_nudges(
                    ticket.ref,
                    ticket.claimed_at,
                    catalog.policy.update_every,
                    now,
                    updates=list_updates(session, ticket.id),
                    waits=[Pause(p.started_at, p.ended_at) for p in ticket.pauses],
                )
                series.append([(n.key, n.due_at) for n in nudges.due])
    engine.dispose()
    # A reminder's edit of the root that changes nothing it shows (the minute it is written
    # and the time left read as before) is settled without a call.
    unchanged = (OutboxStatus.COALESCED, UNCHANGED)
    assert all(
        row.status is OutboxStatus.SENT
        or (row.target_key is not None and (row.status, row.last_error) == unchanged)
        for row in rows.values()
    )
    delivered = {key.rsplit("/", 1)[0] for key in rows if key.endswith(("/thread", "/dm"))}
    delivered |= {key.rsplit("/", 2)[0] for key in rows if "/dm/" in key}

    posted: dict[tuple[str, str], list[float]] = {}
    for channel in (ALERTS, slack.open_dm(TECH), slack.open_dm(ONCALL)):
        for message in slack.messages(channel):
            posted.setdefault((channel, message.text), []).append(message.posted_at)

    def first_post(row: OutboxMessage) -> float:
        channel = (
            ALERTS
            if row.channel_id == ALERTS or row.thread_key
            else slack.open_dm(row.channel_id or "")
        )
        times = posted.get((channel, row.text), [])
        assert times, f"{row.key} was marked sent but never reached the emulator"
        return min(times)

    def up_throughout(start: float, end: float) -> bool:
        return any(a <= start and end <= b for a, b in up)

    assert sum(len(s) for s in series) == 12  # 5 GTR + 4 GTI warnings (75 % = 30 s left), 3 nudges
    for items in series:
        for index, (key, due_at) in enumerate(items):
            due = due_at.timestamp()
            on_watch = up_throughout(due, due + SLACK)
            if key not in delivered:
                later = [k for k, _ in items[index + 1 :] if k in delivered]
                assert later, f"{key} was lost"
                assert not on_watch, f"{key} was superseded although the bot was up"
                continue
            # Posts only: a reminder's edit of the ticket's root (`/root`) posts nothing.
            posts = (r for k, r in rows.items() if k.startswith(key + "/") and not r.target_key)
            for row in posts:
                lateness = first_post(row) - due
                assert lateness > -1.0, f"{row.key} early by {-lateness:.1f} s"
                if on_watch:
                    assert lateness <= SLACK, f"{row.key} late by {lateness:.1f} s while up"
    copies = Counter(
        {f"{channel} {text}": len(times) - 1 for (channel, text), times in posted.items()}
    )
    assert sum(copies.values()) <= kills, f"duplicates beyond the bound: {+copies}"
