"""/healthz shows the outbox: pending, failed, age of the oldest pending message."""

import json
import urllib.request
from datetime import timedelta
from typing import Any

from bot.storage.models import OutboxStatus
from bot.storage.outbox import Outbound
from tests.outbox.harness import enqueue, statuses, wait_until
from tests.plugins.bot import ALERTS, RunningBot


def healthz(bot: RunningBot) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{bot.server.port}/healthz") as response:
        body: dict[str, Any] = json.load(response)
    return body


def test_healthz_shows_pending_failed_and_the_oldest_pending_age(bot: RunningBot) -> None:
    """A message Slack refuses for good is failed (and its report queued); messages held by
    Slack's rate limit stay pending, and the oldest one's age grows with the clock."""
    bot.slack.inject_error("chat.postMessage", "channel_not_found", times=1)
    bot.slack.inject_429(1.0, retry_after=(30, 30), seed=1)  # every call after that one: 429
    enqueue(bot.sessions, [Outbound(key="doomed", text="to nowhere", channel_id="C404")])
    bot.server.sender.wake()
    wait_until(lambda: statuses(bot.sessions)["doomed"] is OutboxStatus.FAILED)
    enqueue(
        bot.sessions,
        [Outbound(key=f"held/{n}", text=f"held {n}", channel_id=ALERTS) for n in range(3)],
    )
    bot.server.sender.wake()
    bot.clock.advance(timedelta(minutes=10))
    outbox = healthz(bot)["outbox"]
    # The three held messages and the failure report of "doomed", all blocked by the 429s.
    assert (outbox["pending"], outbox["failed"]) == (4, 1)
    assert 600 <= outbox["oldest_pending_age_s"] < 660
