"""/sla report and /sla credit end to end through the emulator, and the monthly summary posted
once, even when the bot restarts at 09:00 on the first business day."""

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from bot.jobs import MONTHLY_REPORT_JOB, run_soon
from bot.sandbox import EmulatorThread
from bot.services.reminders import ReminderService
from bot.services.reports import ReportService
from bot.storage.models import AuditEvent, Credit, CreditState, OutboxMessage
from tests.plugins.bot import ALERTS, OUTSIDER, MovableClock, RunningBot, start_bot, stop_bot

PARIS = ZoneInfo("Europe/Paris")
FRIDAY_4PM = datetime(2026, 11, 27, 16, 0, tzinfo=PARIS)
DECEMBER_1ST_9AM = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)  # a Tuesday


def late_claim(bot: RunningBot) -> None:
    """INT-1: GTI due Saturday 10:00, claimed at 11:00: breached."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    bot.clock.set(datetime(2026, 11, 28, 11, 0, tzinfo=PARIS))
    bot.command("claim 1")


def test_sla_report_answers_ephemerally_or_posts_in_the_channel(bot: RunningBot) -> None:
    """The summary comes back in the reply; with `public` it is posted in the channel."""
    late_claim(bot)
    reply = bot.command("report acme 2026-11", command="/sla")
    assert reply.startswith("*SLA report November 2026*")
    assert "*ACME SARL* (`acme`)" in reply
    assert "GTI *breached* (5h of 4h)" in reply
    assert "1 eligible 60.00 €" in reply
    posted_reply = bot.command("report public", command="/sla")
    assert posted_reply == "Report November 2026 posted in the channel."
    posted = bot.slack.wait_until(
        lambda: next((m for m in bot.slack.roots(ALERTS) if "SLA report" in m.text), None),
        timeout_s=15,
    )
    assert "Globex SAS" in posted.text
    assert posted.blocks
    assert "YYYY-MM" in bot.command("report acme 2026-13", command="/sla")
    future = bot.command("report acme 2026-12", command="/sla")
    assert future == "December 2026 has not begun: there is nothing to report yet."
    assert "Unknown client `nobody`" in bot.command("report nobody", command="/sla")


def test_a_report_slow_to_build_follows_its_ack(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month of many clients takes seconds to build (1 to 2 s for 50 clients on a small VM):
    past 1.5 s the ack says the report follows, and it does, on the command's response_url;
    posted in the channel, it is posted all the same."""
    late_claim(bot)
    build = ReportService.build

    def slow_build(self: ReportService, *args: Any, **kwargs: Any) -> Any:
        time.sleep(2)  # as a month of many clients takes on a small VM
        return build(self, *args, **kwargs)

    monkeypatch.setattr(ReportService, "build", slow_build)
    follows = "The report takes a while to build: it will follow here in a moment."
    assert bot.command("report acme 2026-11", command="/sla") == follows
    followed = bot.slack.wait_until(lambda: [r.text for r in bot.slack.responses()] or None)
    assert followed[0].startswith("*SLA report November 2026*")
    assert bot.command("report public", command="/sla") == follows
    bot.slack.wait_until(
        lambda: next((m for m in bot.slack.roots(ALERTS) if "SLA report" in m.text), None),
        timeout_s=15,
    )
    assert bot.slack.wait_until(
        lambda: (
            "Report November 2026 posted in the channel." in [r.text for r in bot.slack.responses()]
            or None
        )
    )


def test_anyone_may_read_a_report_but_only_technicians_post_one(bot: RunningBot) -> None:
    """An outsider gets the report in the reply; posting it in the channel is refused and
    audited, and nothing is posted."""
    late_claim(bot)
    assert bot.command("report acme", command="/sla", user_id=OUTSIDER).startswith(
        "*SLA report November 2026*"
    )
    refused = bot.command("report acme public", command="/sla", user_id=OUTSIDER)
    assert refused == "Only technicians may do that; the attempt is recorded."
    with bot.sessions() as session:
        (refusal,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "refused"))
        queued = session.scalars(select(OutboxMessage.text)).all()
    assert refusal.actor_id == OUTSIDER
    assert refusal.details == {"attempted": "report public"}
    assert not [text for text in queued if "SLA report" in text]  # nothing to post


def test_sla_credit_moves_the_ledger_for_technicians_only(bot: RunningBot) -> None:
    """request then grant, told in the ticket thread; an outsider is refused and audited."""
    late_claim(bot)
    assert "Only technicians" in bot.command("credit request 1", command="/sla", user_id=OUTSIDER)
    assert bot.command("credit request INT-1 asked by phone", command="/sla") == (
        "INT-1 GTI credit (60.00 €, November 2026) requested by <@U01AAA>. Note: asked by phone"
    )
    assert "granted" in bot.command("credit grant 1", command="/sla")
    assert "applies only to a credit that is requested" in bot.command(
        "credit grant 1", command="/sla"
    )
    assert "Usage" in bot.command("credit give 1", command="/sla")
    thread = bot.slack.wait_until(
        lambda: (
            replies
            if len(
                replies := [
                    m
                    for root in bot.slack.roots(ALERTS)
                    for m in bot.slack.thread(ALERTS, root.ts)
                    if m.is_reply and "credit" in m.text
                ]
            )
            == 2
            else None
        ),
        timeout_s=15,
    )
    assert ["requested" in thread[0].text, "granted" in thread[1].text] == [True, True]


def test_a_breach_announced_after_its_credit_was_granted_says_the_credit_stands_granted(
    slack: EmulatorThread, database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot's sweep had not come round to INT-1's GTI breach (claimed late, its credit
    requested and granted at once) when it stopped; back up, it announces the breach late, in
    the thread after "granted": the credit stands granted, the client has nothing to request."""
    sweeps: list[datetime] = []
    sweep = ReminderService.sweep

    def counted_sweep(self: ReminderService) -> Any:
        sweeps.append(datetime.now(UTC))
        return sweep(self)

    monkeypatch.setattr(ReminderService, "sweep", counted_sweep)
    clock = MovableClock(FRIDAY_4PM)
    first, loop = start_bot(slack, database_url, clock=clock, sweep_seconds=300)
    try:
        slack.wait_until(lambda: sweeps or None)  # its catch-up at start; the next in 5 min
        late_claim(first)
        first.command("credit request 1", command="/sla")
        assert "granted" in first.command("credit grant 1", command="/sla")
    finally:
        stop_bot(first, loop)
    second, loop = start_bot(slack, database_url, clock=clock)
    try:
        breach = slack.wait_until(
            lambda: next(
                (
                    m
                    for root in slack.roots(ALERTS)
                    for m in slack.thread(ALERTS, root.ts)
                    if m.is_reply and "*breached*: the" in m.text
                ),
                None,
            ),
            timeout_s=15,
        )
    finally:
        stop_bot(second, loop)
    assert "may request a credit" not in breach.text
    assert "its credit is already granted (60.00 €)" in breach.text


def test_a_breach_past_local_midnight_on_the_1st_counts_in_the_new_month_s_cap_and_report(
    bot: RunningBot,
) -> None:
    """Globex's GTR is 4h on 24/7, its cap 299 €. INT-1 and INT-2, called on Nov 30 at 19:00
    and 19:30, breach at 23:00 and 23:30 (Paris): 149.50 € each, November's cap reached. INT-3,
    called at 20:30, breaches on Dec 1 at 00:30 Paris, still Nov 30 (23:30) in UTC: its credit
    is December's, in full, not cut to 0 by November's cap; each month's report says so."""
    for minute, ref in ((19 * 60, "INT-1"), (19 * 60 + 30, "INT-2"), (20 * 60 + 30, "INT-3")):
        bot.clock.set(datetime(2026, 11, 30, minute // 60, minute % 60, tzinfo=PARIS))
        assert bot.command("open globex-db-01 materiel disk").startswith(ref)
    bot.clock.set(datetime(2026, 12, 1, 1, 0, tzinfo=PARIS))
    assert "(149.50 €, November 2026) requested" in bot.command("credit request 1", command="/sla")
    assert "(149.50 €, November 2026) requested" in bot.command("credit request 2", command="/sla")
    assert bot.command("credit request 3", command="/sla") == (
        "INT-3 GTR credit (149.50 €, December 2026) requested by <@U01AAA>."
    )
    november = bot.command("report globex 2026-11", command="/sla")
    assert "2 requested 299.00 €" in november
    december = bot.command("report globex 2026-12", command="/sla")
    assert "1 requested 149.50 €" in december
    assert "called 2026-11-30 20:30 (carried over: called in November 2026)" in december


def test_an_outsider_s_credit_moves_are_refused_ephemerally_and_audited_on_their_ticket(
    bot: RunningBot,
) -> None:
    """Request, grant and decline alike: each refusal is told to the outsider alone, audited
    on the ticket aimed at (none for a ticket that does not exist), and moves nothing."""
    late_claim(bot)
    for verb in ("request", "grant", "decline"):
        refused = bot.slack.send_slash_command(
            "/sla", f"credit {verb} INT-1", user_id=OUTSIDER, channel_id=ALERTS
        ).json()
        assert refused["response_type"] == "ephemeral"
        assert refused["text"] == "Only technicians may do that; the attempt is recorded."
    bot.command("credit request 99", command="/sla", user_id=OUTSIDER)
    with bot.sessions() as session:
        refusals = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "refused").order_by(AuditEvent.id)
        ).all()
        credits = session.scalars(select(Credit)).all()
        queued = session.scalars(select(OutboxMessage.text)).all()
    assert [(r.actor_id, r.ticket_id, r.details["attempted"]) for r in refusals] == [
        (OUTSIDER, 1, "credit request"),
        (OUTSIDER, 1, "credit grant"),
        (OUTSIDER, 1, "credit decline"),
        (OUTSIDER, None, "credit request"),
    ]
    assert refusals[0].command == "/sla credit request INT-1"
    assert [c.state for c in credits] in ([], [CreditState.ELIGIBLE])  # nothing moved
    assert not [text for text in queued if " credit (" in text]  # no move told in a thread


def post_monthly(bot: RunningBot) -> list[str]:
    """What the scheduler's monthly job does, at the bot's clock: the months it queued."""
    runtime = bot.runtime
    service = ReportService(
        runtime.sessions,
        runtime.catalog,
        runtime.messages,
        clock=runtime.clock,
        wake=bot.server.sender.wake,
    )
    return service.post_monthly_reports_if_due(runtime.clock())


def test_the_monthly_report_is_posted_once_across_a_restart_at_nine_on_the_first(
    slack: EmulatorThread, database_url: URL
) -> None:
    """Two bot instances in turn on one database, both at 09:00 on Dec 1: one message."""

    def monthly_posts() -> list[str]:
        title = "*SLA report November 2026*"
        return [m.text for m in slack.roots(ALERTS) if m.text.startswith(title)]

    clock = MovableClock(FRIDAY_4PM)  # installed in November: there is a November to report
    first, loop = start_bot(slack, database_url, clock=clock)
    clock.set(DECEMBER_1ST_9AM)
    try:
        assert post_monthly(first) == ["2026-11"]
        assert post_monthly(first) == []
        slack.wait_until(lambda: monthly_posts() or None, timeout_s=15)
    finally:
        stop_bot(first, loop)
    second, loop = start_bot(slack, database_url, clock=MovableClock(DECEMBER_1ST_9AM))
    try:
        assert post_monthly(second) == []
        time.sleep(0.5)  # give the second sender a chance to (wrongly) send it again
    finally:
        stop_bot(second, loop)
    assert len(monthly_posts()) == 1


def test_a_bot_installed_since_posts_no_report_of_the_month_before(
    slack: EmulatorThread, database_url: URL
) -> None:
    """Installed on Dec 1: November had no client in its catalog, nothing to report."""
    bot, loop = start_bot(slack, database_url, clock=MovableClock(DECEMBER_1ST_9AM))
    try:
        assert post_monthly(bot) == []
        with bot.sessions() as session:
            assert not session.scalars(select(OutboxMessage.key)).all()
    finally:
        stop_bot(bot, loop)


def test_months_missed_while_down_are_posted_by_the_leader_oldest_first_once_each(
    slack: EmulatorThread, database_url: URL
) -> None:
    """Installed on Oct 27, stopped on the 28th, back on Dec 2 as two instances: the leader's
    monthly job posts October's summary, then November's, each once; the follower's, paused,
    posts nothing."""

    def monthly_posts() -> list[str]:
        return [m.text for m in slack.roots(ALERTS) if m.text.startswith("*SLA report")]

    first, loop = start_bot(
        slack, database_url, clock=MovableClock(datetime(2026, 10, 27, 16, tzinfo=PARIS))
    )
    stop_bot(first, loop)
    back = MovableClock(datetime(2026, 12, 2, 10, tzinfo=PARIS))
    leader, leader_loop = start_bot(slack, database_url, clock=back, instance_id="bot-a")
    follower, follower_loop = start_bot(slack, database_url, clock=back, instance_id="bot-b")
    try:
        assert leader.server.leadership.is_leader
        assert not follower.server.leadership.is_leader
        for running, loop in ((follower, follower_loop), (leader, leader_loop)):
            loop.run(monthly_job_now(running), 10)  # instead of waiting its 5 minutes
        posts = slack.wait_until(lambda: p if len(p := monthly_posts()) >= 2 else None)
        with leader.sessions() as session:
            keys = session.scalars(
                select(OutboxMessage.key)
                .where(OutboxMessage.key.like("report/monthly/%"))
                .order_by(OutboxMessage.id)
            ).all()
    finally:
        stop_bot(follower, follower_loop)
        stop_bot(leader, leader_loop)
    assert keys == ["report/monthly/2026-10", "report/monthly/2026-11"]
    assert [text.split("\n")[0] for text in posts] == [
        "*SLA report October 2026* (Europe/Paris time)",
        "*SLA report November 2026* (Europe/Paris time)",
    ]


async def monthly_job_now(running: RunningBot) -> None:
    """Bring the scheduler's monthly job forward to now (it runs only while leading)."""
    run_soon(running.server.scheduler, MONTHLY_REPORT_JOB, now=datetime.now(UTC))
