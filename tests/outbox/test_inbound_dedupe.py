"""Inbound de-duplication end to end: Slack's HTTP retries and Socket Mode redeliveries."""

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL

from bot.sandbox import EmulatorThread, driver
from bot.storage.models import AuditEvent, InboundEvent, OutboxMessage, Ticket
from bot.storage.outbox import get_stats
from bot.storage.probes import add_outage
from tests.plugins.bot import ALERTS, OUTSIDER, TECH, RunningBot, start_bot, stop_bot


def mention(text: str) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": TECH,
        "text": f"<@U0SUPPORTBOT> {text}",
        "channel": ALERTS,
        "ts": f"{time.time():.6f}",
    }


def count_mentions(running: RunningBot) -> list[str]:
    """Register a real Bolt listener that records each app_mention it runs for."""
    seen: list[str] = []

    async def handle_mention_event(event: dict[str, Any]) -> None:
        seen.append(event["text"])

    running.server.bolt.event("app_mention")(handle_mention_event)
    return seen


def inbound_keys(running: RunningBot) -> list[str]:
    with running.sessions() as session:
        return list(session.scalars(select(InboundEvent.key)))


def settle(seen: list[str], expected: int) -> None:
    """Wait for listeners that run after the ack (Socket Mode), then a little more for extras."""
    deadline = time.monotonic() + 5
    while len(seen) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)


def test_an_event_retried_over_http_runs_its_listener_once(bot: RunningBot) -> None:
    """The first delivery and Slack's retries 1 and 2 (same event_id) have one effect."""
    seen = count_mentions(bot)
    event = mention("first")
    replies = [
        bot.slack.send_event(event, event_id="Ev0RETRIED", retry_num=retry)
        for retry in (None, 1, 2)
    ]
    assert [reply.status for reply in replies] == [200, 200, 200]
    settle(seen, 1)
    assert seen == ["<@U0SUPPORTBOT> first"]
    assert inbound_keys(bot) == ["event:Ev0RETRIED"]


def test_an_event_that_could_not_be_recorded_is_run_when_slack_retries_it(
    bot: RunningBot,
) -> None:
    """The database refused to record the delivery: Slack is answered with an error, and its
    retry of the same event is carried out, not taken for a repeat of the failed one."""
    seen = count_mentions(bot)
    event = mention("while the database was away")
    with bot.runtime.engine.begin() as connection:
        connection.execute(text("ALTER TABLE inbound_events RENAME TO inbound_events_away"))
    try:
        failed = bot.slack.send_event(event, event_id="Ev0AWAY")
    finally:
        with bot.runtime.engine.begin() as connection:
            connection.execute(text("ALTER TABLE inbound_events_away RENAME TO inbound_events"))
    assert failed.status != 200
    retried = bot.slack.send_event(event, event_id="Ev0AWAY", retry_num=1)
    assert retried.status == 200
    settle(seen, 1)
    assert seen == ["<@U0SUPPORTBOT> while the database was away"]
    assert inbound_keys(bot) == ["event:Ev0AWAY"]


def test_other_events_are_not_mistaken_for_retries(bot: RunningBot) -> None:
    """Two events with different ids both run."""
    seen = count_mentions(bot)
    bot.slack.send_event(mention("one"), event_id="Ev0ONE")
    bot.slack.send_event(mention("two"), event_id="Ev0TWO")
    settle(seen, 2)
    assert sorted(seen) == ["<@U0SUPPORTBOT> one", "<@U0SUPPORTBOT> two"]


def test_an_event_redelivered_over_socket_mode_and_retried_runs_once(
    slack: EmulatorThread, database_url: URL
) -> None:
    """A Socket Mode envelope redelivered (same envelope, next retry_attempt), then the same
    event_id arriving again as an HTTP retry: three deliveries, one effect."""
    running, loop = start_bot(slack, database_url, socket_mode=True)
    try:
        slack.wait_for_socket()
        seen = count_mentions(running)
        event = mention("over the socket")
        first = slack.send_event(event, event_id="Ev0SOCKET", via="socket")
        assert first.envelope_id is not None
        slack.redeliver(first.envelope_id)
        slack.send_event(event, event_id="Ev0SOCKET", retry_num=2)
        settle(seen, 1)
        assert seen == ["<@U0SUPPORTBOT> over the socket"]
        assert inbound_keys(running) == ["event:Ev0SOCKET"]
    finally:
        stop_bot(running, loop)


def test_a_slash_command_delivered_twice_is_answered_once(bot: RunningBot) -> None:
    """The same signed request (same trigger_id) posted again is acked empty, not re-run. A
    command that only reads leaves no key in the database: the process remembers it."""
    form = driver.slash_command(bot.slack, "/intervention", "help", user_id=TECH, channel_id=ALERTS)
    body = urlencode(form)
    first, second, third = (bot.slack.send_http(body) for _ in range(3))
    assert "/intervention" in first.text  # the help
    assert (second.status, second.text, third.status, third.text) == (200, "", 200, "")
    assert inbound_keys(bot) == []


def test_a_command_that_changed_something_is_not_run_again_by_another_instance(
    slack: EmulatorThread, database_url: URL
) -> None:
    """`open` delivered to one instance, then again to another sharing its database: the key
    committed with the ticket refuses the repeat, and the repeat's transaction rolls back."""
    first_bot, first_loop = start_bot(slack, database_url, instance_id="one")
    second_bot, second_loop = start_bot(slack, database_url, instance_id="two")
    try:
        form = driver.slash_command(
            slack, "/intervention", "open acme-web-01 secours down", user_id=TECH, channel_id=ALERTS
        )
        body = urlencode(form)
        slack.bot_url = f"http://127.0.0.1:{first_bot.server.port}/slack/events"
        first = slack.send_http(body)
        slack.bot_url = f"http://127.0.0.1:{second_bot.server.port}/slack/events"
        again = slack.send_http(body)
        assert "INT-" in first.text, first.text
        assert (again.status, again.text) == (200, "")
        with first_bot.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        assert [key.split(":")[0] for key in inbound_keys(first_bot)] == ["trigger"]
    finally:
        stop_bot(second_bot, second_loop)
        stop_bot(first_bot, first_loop)


def test_a_modal_submission_delivered_again_is_recorded_once(bot: RunningBot) -> None:
    """The same signed submission (same trigger_id) posted again, as Socket Mode may redeliver
    it: the update is recorded once, the repeat acked empty."""
    from bot.slack.ids import View

    bot.command("open acme-web-01 secours down")
    typed = {"update_text": {"text": {"type": "plain_text_input", "value": "told the client"}}}
    payload = driver.view_submission(
        bot.slack, View.UPDATE, typed, user_id=TECH, private_metadata="1"
    )
    body = urlencode({"payload": json.dumps(payload)})
    first, again = (bot.slack.send_http(body) for _ in range(2))
    assert (first.status, first.text, again.status, again.text) == (200, "", 200, "")
    with bot.sessions() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.ticket_id == 1)))
    assert actions == ["ticket.opened", "ticket.updated"]


def test_a_public_report_delivered_again_to_another_instance_is_posted_once(
    slack: EmulatorThread, database_url: URL
) -> None:
    """`/sla report public` builds and posts outside the answer's time limit (a report may take
    seconds): its post still records the command's key, and the repeat delivered to another
    instance is acked empty instead of posting the report a second time."""
    first_bot, first_loop = start_bot(slack, database_url, instance_id="one")
    second_bot, second_loop = start_bot(slack, database_url, instance_id="two")
    try:
        form = driver.slash_command(slack, "/sla", "report public", user_id=TECH, channel_id=ALERTS)
        body = urlencode(form)
        slack.bot_url = f"http://127.0.0.1:{first_bot.server.port}/slack/events"
        first = slack.send_http(body)
        slack.bot_url = f"http://127.0.0.1:{second_bot.server.port}/slack/events"
        again = slack.send_http(body)
        assert first.text.endswith("posted in the channel."), first.text
        assert (again.status, again.text) == (200, "")
        with first_bot.sessions() as session:
            reports = session.scalars(
                select(func.count()).where(OutboxMessage.key.startswith("report/"))
            )
            assert reports.one() == 1
    finally:
        stop_bot(second_bot, second_loop)
        stop_bot(first_bot, first_loop)


def test_a_refused_click_delivered_again_to_another_instance_is_not_told_as_a_bug(
    slack: EmulatorThread, database_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    """An outsider's click on Post update or Open intervention, delivered to one instance and
    again to another sharing its database: the refusal is recorded once and told once; the
    repeat's commit, refused as a repeat, is not taken for a bug (logged with its traceback,
    and answered "Internal error" but for the reply's key, the first answer's)."""
    from bot.slack.ids import Action

    first_bot, first_loop = start_bot(slack, database_url, instance_id="one")
    second_bot, second_loop = start_bot(slack, database_url, instance_id="two")
    try:
        first_bot.command("open acme-web-01 secours down")
        with first_bot.sessions.begin() as session:
            now = datetime.now(UTC)
            outage_id = add_outage(session, "acme-web-01", started_at=now, confirmed_at=now).id
        clicks = ((Action.POST_UPDATE, "1"), (Action.OPEN_INTERVENTION, str(outage_id)))
        for action, value in clicks:
            payload = driver.block_actions(
                slack, action, user_id=OUTSIDER, channel_id=ALERTS, value=value
            )
            body = urlencode({"payload": json.dumps(payload)})
            for running in (first_bot, second_bot):
                slack.bot_url = f"http://127.0.0.1:{running.server.port}/slack/events"
                assert slack.send_http(body).status == 200
        # Both handlers answer once they queued their reply: it is sent once none is pending.

        def sent() -> bool | None:
            with first_bot.sessions() as session:
                return get_stats(session, now=datetime.now(UTC)).pending == 0 or None

        slack.wait_until(sent, timeout_s=15)
        refused = "Only technicians may do that; the attempt is recorded."
        assert [r.text for r in slack.responses(OUTSIDER)] == [refused, refused]
        with first_bot.sessions() as session:
            commands = session.scalars(
                select(AuditEvent.command).where(AuditEvent.action == "refused")
            ).all()
        assert commands == [
            "[button] update INT-1",
            f"[button] open intervention from outage {outage_id}",
        ]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        stop_bot(second_bot, second_loop)
        stop_bot(first_bot, first_loop)


def test_a_technicians_refused_click_delivered_again_to_another_instance_is_not_a_bug(
    slack: EmulatorThread, database_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    """A technician's Post update on a resolved ticket, and Open intervention on an outage
    that does not exist, each delivered to one instance and again to another: the refusal is
    told once, by the reply whose commit records the click; the repeat's, refused as a repeat,
    is not logged as a bug with its traceback."""
    from bot.slack.ids import Action

    first_bot, first_loop = start_bot(slack, database_url, instance_id="one")
    second_bot, second_loop = start_bot(slack, database_url, instance_id="two")
    try:
        first_bot.command("open acme-web-01 secours down")
        first_bot.command("claim 1")
        first_bot.command("resolve 1 fixed")
        clicks = ((Action.POST_UPDATE, "1"), (Action.OPEN_INTERVENTION, "999"))
        for action, value in clicks:
            payload = driver.block_actions(
                slack, action, user_id=TECH, channel_id=ALERTS, value=value
            )
            body = urlencode({"payload": json.dumps(payload)})
            for running in (first_bot, second_bot):
                slack.bot_url = f"http://127.0.0.1:{running.server.port}/slack/events"
                assert slack.send_http(body).status == 200

        def sent() -> bool | None:
            with first_bot.sessions() as session:
                return get_stats(session, now=datetime.now(UTC)).pending == 0 or None

        slack.wait_until(sent, timeout_s=15)
        assert len(slack.responses(TECH)) == 2
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        stop_bot(second_bot, second_loop)
        stop_bot(first_bot, first_loop)
