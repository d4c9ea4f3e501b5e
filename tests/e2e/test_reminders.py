"""Warnings and nudges end to end: the scheduler's sweep, the outbox, DMs in the emulator."""

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import URL

from bot.sandbox import EmulatorThread
from bot.slack.ids import Action
from tests.e2e.processes import short_catalog
from tests.plugins.bot import ALERTS, TECH, TECH2, MovableClock, start_bot, stop_bot

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)


def test_warnings_and_nudges_reach_slack_by_dm(
    slack: EmulatorThread, database_url: URL, tmp_path: Path
) -> None:
    """The running scheduler sweeps: a GTI warning DMs on-call with Claim; once claimed, a nudge
    DMs the assignee with Post update; a snooze is answered and told in the thread."""
    catalog = short_catalog(
        tmp_path / "catalog.toml", oncall=TECH2, technicians=[TECH, TECH2], alerts=ALERTS
    )
    clock = MovableClock(START)
    bot, loop = start_bot(slack, database_url, catalog=catalog, clock=clock, sweep_seconds=0.2)
    try:
        bot.command("open fast-01 secours down")
        root = slack.wait_until(
            lambda: next((m for m in slack.messages(ALERTS) if m.text.startswith("INT-1")), None)
        )
        assert "as of 2026-11-25 10:00" in str(root.blocks)
        clock.set(START + timedelta(seconds=61))
        (warning,) = slack.wait_until(lambda: slack.dms(TECH2) or None, timeout_s=10)
        assert "INT-1" in warning.text
        assert "GTI at 50%" in warning.text
        assert warning.action_ids() == [Action.CLAIM.value]
        # The root's clock is brought up to the warning, though the ticket did not change.
        slack.wait_until(
            lambda: "as of 2026-11-25 10:01" in str(slack.message(ALERTS, root.ts).blocks) or None,
            timeout_s=10,
        )
        bot.command("claim 1")
        clock.set(START + timedelta(seconds=122))
        (nudge,) = slack.wait_until(lambda: slack.dms(TECH) or None, timeout_s=10)
        assert "no client update for 1m" in nudge.text
        assert nudge.action_ids() == [Action.POST_UPDATE.value]
        reply = bot.command("snooze 1 10m")
        assert reply.startswith("Update nudges of INT-1 delayed until 2026-11-25 10:12")
    finally:
        stop_bot(bot, loop)
