"""Warnings and nudges decided by ReminderService.sweep(), on a real database, with an injected
clock stepped through the life of a ticket: what lands in the outbox, once, in order."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, select, text, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Catalog, parse_catalog
from bot.grammar import Open
from bot.messages import Language, Messages
from bot.services import reminders
from bot.services.audit import Actor
from bot.services.credits import CreditService
from bot.services.reminders import ReminderService, SweepReport
from bot.services.reports import build_month_report
from bot.services.tickets import TicketService
from bot.sla import ClockState, TicketKind, nudges
from bot.slack.ids import Action
from bot.storage.catalog_sync import sync_catalog
from bot.storage.credits import mark_eligible, withdraw_eligible
from bot.storage.database import READ_ONLY
from bot.storage.models import (
    AuditEvent,
    Clock,
    Credit,
    CreditState,
    OutboxMessage,
    OutboxOperation,
)

PARIS = ZoneInfo("Europe/Paris")
TECH, ONCALL, ALERTS = "U01AAA", "U01ONCALL", "C01ALERTS"
STEP = timedelta(minutes=1)

CATALOG = """
timezone = "Europe/Paris"

[calendars.business]
monday = ["09:00-19:00"]
tuesday = ["09:00-19:00"]
wednesday = ["09:00-19:00"]
thursday = ["09:00-19:00"]
friday = ["09:00-19:00"]
saturday = ["09:00-18:00"]
sunday = ["09:00-18:00"]

[calendars.always]
always_open = true

[levels.essentiel]
gti = "4h"
gtr = "8h"
calendar = "business"
monthly_interventions = 50
monthly_fee = 100.0

[levels.critique]
gti = "30m"
gtr = "2h"
calendar = "always"
monthly_interventions = 50
monthly_fee = 900.0

[policy]
update_every = "1h"
warn_at = [0.5, 0.75, 0.9]
warn_before = "15m"

[team]
technicians = ["U01AAA", "U01BBB"]
oncall = ["U01ONCALL"]
alerts_channel = "C01ALERTS"

[[clients]]
id = "acme"
name = "ACME SARL"
level = "essentiel"

[[clients]]
id = "crit"
name = "Crit SA"
level = "critique"

[[servers]]
id = "acme-web-01"
client = "acme"
host = "127.0.0.1"

[[servers]]
id = "crit-db-01"
client = "crit"
host = "127.0.0.1"
"""


@dataclass
class SetClock:
    """The injected clock: frozen where the test puts it."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class World:
    sessions: sessionmaker[Session]
    catalog: Catalog
    clock: SetClock
    tickets: TicketService
    reminders: ReminderService

    def open(self, server: str, kind: TicketKind) -> int:
        reply = self.tickets.open(Actor(TECH), Open(server, kind, None, "down"))
        return int(reply.text.split(" ")[0].removeprefix("INT-").rstrip(":"))

    def sweep_until(self, end: datetime, step: timedelta = STEP) -> None:
        """Sweep at every `step` from the clock's instant up to `end` (inclusive)."""
        while self.clock.at <= end:
            report = self.reminders.sweep()
            assert report.failed == 0
            self.clock.at += step
        self.clock.at = end

    def outbox(self, contains: str = "") -> list[OutboxMessage]:
        with self.sessions() as session:
            rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            return [row for row in rows if contains in row.key]

    def keys(self, contains: str, suffix: str = "/thread") -> list[str]:
        """SLA keys of the reminders queued so far, in order (one per reminder)."""
        return [
            row.key.removesuffix(suffix)
            for row in self.outbox(contains)
            if row.key.endswith(suffix)
        ]


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> Iterator[World]:
    catalog = parse_catalog(CATALOG)
    clock = SetClock(datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))  # a Wednesday
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=clock())
    messages = Messages("en")
    tickets = TicketService(sessions, catalog, messages, clock=clock)
    reminders = ReminderService(
        sessions, catalog, messages, clock=clock, late_after=timedelta(minutes=5)
    )
    return World(sessions, catalog, clock, tickets, reminders)


def sent_at(world: World, key: str) -> datetime:
    (row,) = [row for row in world.outbox(key) if row.key == key]
    return row.created_at


def test_gtr_warnings_fire_once_in_order_on_an_always_open_calendar(world: World) -> None:
    """2 h GTR on 24/7, claimed: 50 % (1h), 75 % (1h30), 15 min left (1h45), 90 % (1h48), then
    the breach, each once, on time, by DM to the assignee and in the thread; the breach also in
    the alert channel, and the credit becomes eligible."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.MATERIEL)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(hours=2, minutes=10))
    assert world.keys("/gtr/") == [
        "INT-1/gtr/50",
        "INT-1/gtr/75",
        "INT-1/gtr/before",
        "INT-1/gtr/90",
        "INT-1/gtr/breach",
    ]
    for key, due in [
        ("INT-1/gtr/50", timedelta(hours=1)),
        ("INT-1/gtr/75", timedelta(minutes=90)),
        ("INT-1/gtr/before", timedelta(minutes=105)),
        ("INT-1/gtr/90", timedelta(minutes=108)),
    ]:
        assert start + due <= sent_at(world, f"{key}/dm/{TECH}") <= start + due + STEP
    assert world.keys("/gtr/", suffix=f"/dm/{TECH}") == world.keys("/gtr/")[:-1]
    assert world.keys("/gtr/", suffix=f"/dm/{ONCALL}") == []  # claimed: the assignee only
    (alert,) = world.outbox("/gtr/breach/alert")
    assert alert.channel_id == ALERTS
    assert alert.thread_key is None
    assert "*breached*" in alert.text
    assert "crit-db-01" in alert.text
    (dm,) = world.outbox("/gtr/75/dm/")
    assert dm.channel_id == TECH
    assert "INT-1" in dm.text
    assert "Crit SA" in dm.text
    assert "30m of open time left" in dm.text
    assert "2026-11-25 12:00" in dm.text  # the deadline, local time
    assert [e["action_id"] for b in dm.blocks or [] for e in b.get("elements", [])] == [
        Action.POST_UPDATE.value
    ]
    with world.sessions() as session:
        credit = session.scalars(select(Credit)).one()
        assert (credit.clock, credit.state) == ("gtr", CreditState.ELIGIBLE)
        assert credit.breached_at == start + timedelta(hours=2)
    # Each threshold edits the root, whose clock would otherwise read as of the claim.
    assert world.keys("/gtr/", suffix="/root") == world.keys("/gtr/")
    (edit,) = world.outbox("/gtr/breach/root")
    assert (edit.operation, edit.target_key) == (OutboxOperation.UPDATE, "INT-1/root")


def test_gti_warnings_of_an_unclaimed_ticket_go_to_on_call_across_the_night(world: World) -> None:
    """4 h GTI on business hours called Friday 17:00: 50 % at 19:00 (closing), then Saturday
    10:00, 10:36, 10:45 and the breach after 11:00, by DM to on-call with a Claim button."""
    world.clock.at = datetime(2026, 11, 27, 17, 0, tzinfo=PARIS)
    world.open("acme-web-01", TicketKind.SECOURS)
    world.sweep_until(datetime(2026, 11, 28, 11, 10, tzinfo=PARIS), step=timedelta(minutes=5))
    assert world.keys("/gti/") == [
        "INT-1/gti/50",
        "INT-1/gti/75",
        "INT-1/gti/90",
        "INT-1/gti/before",
        "INT-1/gti/breach",
    ]
    assert sent_at(world, f"INT-1/gti/50/dm/{ONCALL}") == datetime(
        2026, 11, 27, 19, 0, tzinfo=PARIS
    )
    assert sent_at(world, f"INT-1/gti/75/dm/{ONCALL}") == datetime(
        2026, 11, 28, 10, 0, tzinfo=PARIS
    )
    (dm,) = world.outbox("/gti/90/dm/")
    assert dm.channel_id == ONCALL
    assert "nobody" in dm.text
    (breach,) = world.outbox("/gti/breach/dm/")  # the channel's post mentions nobody
    assert breach.channel_id == ONCALL
    assert "*breached*" in breach.text
    assert [e["action_id"] for b in dm.blocks or [] for e in b.get("elements", [])] == [
        Action.CLAIM.value
    ]
    assert "Late" not in dm.text


def test_a_pause_moves_the_thresholds_and_nothing_fires_while_paused(world: World) -> None:
    """A 2 h GTR paused from 0h50 to 1h50: the 50 % warning comes at 2h, the breach at 3h."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.MATERIEL)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(minutes=50))
    world.tickets.wait(Actor(TECH), ticket, "root password")
    world.sweep_until(start + timedelta(minutes=110))
    assert world.keys("/gtr/") == []
    assert world.keys("/nudge/", suffix="/dm") == []  # waiting on the client: no nudge
    world.tickets.resume(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(hours=3, minutes=5))
    assert world.keys("/gtr/") == [
        "INT-1/gtr/50",
        "INT-1/gtr/75",
        "INT-1/gtr/before",
        "INT-1/gtr/90",
        "INT-1/gtr/breach",
    ]
    assert start + timedelta(hours=2) <= sent_at(world, "INT-1/gtr/50/thread")
    assert sent_at(world, "INT-1/gtr/50/thread") <= start + timedelta(hours=2) + STEP


def test_after_downtime_only_the_most_advanced_warning_is_sent_marked_late(world: World) -> None:
    """Down from 0h10 to 1h40: 75 % is sent (late), 50 % never; down again until past the
    deadline: the breach replaces the stale 15-min and 90 % warnings."""
    start = world.clock.at
    world.open("crit-db-01", TicketKind.MATERIEL)
    world.reminders.sweep()
    world.clock.at = start + timedelta(minutes=100)
    world.reminders.sweep()
    assert world.keys("/gtr/") == ["INT-1/gtr/75"]
    (late,) = world.outbox("/gtr/75/thread")
    assert "Late: due at 2026-11-25 11:30" in late.text
    world.clock.at = start + timedelta(hours=2, minutes=30)
    world.reminders.sweep()
    world.reminders.sweep()
    assert world.keys("/gtr/") == ["INT-1/gtr/75", "INT-1/gtr/breach"]
    assert "Late: due at 2026-11-25 12:00" in world.outbox("/gtr/breach/alert")[0].text


def test_a_call_backdated_past_its_deadline_is_announced_breached_but_not_late(
    world: World,
) -> None:
    """Registered at 10:00 for a call at 09:00 with a 30 min GTI: the breach goes at the first
    sweep, without the note saying the bot was down."""
    start = world.clock.at
    reply = world.tickets.open(
        Actor(TECH),
        Open("crit-db-01", TicketKind.SECOURS, (start - timedelta(hours=1)).isoformat(), "down"),
    )
    assert reply.text.startswith("INT-1")
    report = world.reminders.sweep()
    assert (report.warnings, report.late) == (1, 0)
    (alert,) = world.outbox("/gti/breach/alert")
    assert "*breached*" in alert.text
    assert "Late" not in alert.text
    with world.sessions() as session:
        (breach,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "clock.breached"))
    assert breach.details["late"] is False


def test_a_clock_stopped_after_its_deadline_still_gets_its_breach_announced(world: World) -> None:
    """GTI breached and claimed before the next sweep: the breach is announced, once."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.clock.at = start + timedelta(minutes=31)
    world.tickets.claim(Actor(TECH), ticket)
    world.reminders.sweep()
    world.reminders.sweep()
    assert world.keys("/gti/") == ["INT-1/gti/breach"]


def test_a_breach_the_bot_was_down_for_days_to_see_is_announced_once_when_it_is_back(
    world: World,
) -> None:
    """GTI breached at 10:30, claimed at 10:31 and resolved; the bot is down until two days
    later. The first sweep announces the breach, late, and the next sweeps no longer even look
    at the ticket: nothing is owed any more."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.clock.at = start + timedelta(minutes=31)
    world.tickets.claim(Actor(TECH), ticket)
    world.tickets.resolve(Actor(TECH), ticket, "restarted")
    world.clock.at = start + timedelta(days=2)
    report = world.reminders.sweep()
    assert (report.tickets, report.warnings, report.late) == (1, 1, 1)
    assert world.keys("/gti/") == ["INT-1/gti/breach"]
    (alert,) = world.outbox("/gti/breach/alert")
    assert "Late: due at 2026-11-25 10:30" in alert.text
    assert world.reminders.sweep() == SweepReport()
    with world.sessions() as session:
        credit = session.scalars(select(Credit)).one()
    assert credit.announced_at == start + timedelta(days=2)


def test_a_credit_recorded_again_after_its_breach_was_announced_is_not_looked_at_forever(
    world: World,
) -> None:
    """A breach announced, its credit withdrawn and recorded again (the clock judged met, then
    breached after all): the announcement is not made twice, and the credit takes the time it
    was queued, so the sweeps stop looking at its ticket."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.clock.at = start + timedelta(minutes=31)
    world.tickets.claim(Actor(TECH), ticket)
    world.tickets.resolve(Actor(TECH), ticket, "restarted")
    world.reminders.sweep()
    (announced,) = world.outbox("/gti/breach/thread")
    world.clock.at = start + timedelta(minutes=40)
    with world.sessions.begin() as session:
        credit = session.scalars(select(Credit)).one()
        breached_at = credit.breached_at
        assert withdraw_eligible(session, ticket_id=ticket, clock="gti")
        assert mark_eligible(
            session, ticket_id=ticket, clock="gti", client_id=credit.client_id,
            breached_at=breached_at, now=world.clock.at, by="U01AAA",
        )  # fmt: skip
    report = world.reminders.sweep()
    assert (report.tickets, report.warnings) == (1, 0)
    assert world.reminders.sweep() == SweepReport()
    with world.sessions() as session:
        credit = session.scalars(select(Credit)).one()
    assert credit.announced_at == announced.created_at
    assert [row.id for row in world.outbox("/gti/breach/thread")] == [announced.id]  # once


def test_a_clock_paused_after_its_deadline_still_gets_its_breach_announced(world: World) -> None:
    """2 h GTR on 24/7, breached at 12:00; the technician waits on the client at 12:00:05,
    before the next sweep: the wait does not save the clock, and the breach is announced (with
    its credit and audit event) while the ticket waits, not only once the wait ends."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.MATERIEL)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(
        start + timedelta(hours=1, minutes=59, seconds=50), step=timedelta(seconds=15)
    )
    world.clock.at = start + timedelta(hours=2, seconds=5)
    world.tickets.wait(Actor(TECH), ticket, "root password")
    world.sweep_until(start + timedelta(hours=3))
    assert world.keys("/gtr/")[-2:] == ["INT-1/gtr/90", "INT-1/gtr/breach"]
    with world.sessions() as session:
        credit = session.scalars(select(Credit)).one()
        assert credit.breached_at == start + timedelta(hours=2)
        (breach,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "clock.breached"))
    assert breach.details["late"] is False
    world.tickets.resume(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(hours=3, minutes=5))
    assert world.keys("/gtr/breach") == ["INT-1/gtr/breach"]  # once


def test_a_restoration_confirmed_after_the_deadline_it_beat_withdraws_the_breach_credit(
    world: World,
) -> None:
    """2 h GTR on 24/7 due at 12:00; the server answers again at 11:59:50, but its streak
    confirms it UP only at 12:00:50, after a sweep announced the breach. The GTR met: the
    eligible credit goes (the report owes the client nothing), and the audit says why."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.MATERIEL)
    world.tickets.claim(Actor(TECH), ticket)
    deadline = start + timedelta(hours=2)
    world.sweep_until(deadline + timedelta(seconds=15), step=timedelta(seconds=15))
    assert world.keys("/gtr/breach") == ["INT-1/gtr/breach"]
    world.clock.at = deadline + timedelta(seconds=50)
    with world.sessions.begin() as session:
        stopped = world.tickets.stop_gtr_on_recovery(
            session, "crit-db-01", deadline - timedelta(seconds=10)
        )
    assert stopped == [ticket]
    world.sweep_until(deadline + timedelta(minutes=5))
    with world.sessions() as session:
        assert session.scalars(select(Credit)).all() == []
        month = build_month_report(session, world.catalog, 2026, 11, now=world.clock.at)
        (restored,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "clock.restored")
        )
    crit = next(c for c in month.clients if c.client_id == "crit")
    assert crit.credits == ()
    assert [clock.state for clock in crit.tickets[0].clocks] == [ClockState.MET]
    assert restored.details["state"] == "met"
    assert restored.details["credit_withdrawn"] is True
    assert world.keys("/gtr/breach") == ["INT-1/gtr/breach"]  # not announced again


def test_a_breach_past_the_monthly_cap_does_not_promise_a_credit(world: World) -> None:
    """Credits are half the 900 € fee, capped at the fee: the month's third breach owes 0 €,
    and its announcement says so instead of telling the team the client may request one."""
    start = world.clock.at
    for minute in range(3):
        world.clock.at = start + timedelta(minutes=minute)
        world.open("crit-db-01", TicketKind.SECOURS)
    world.clock.at = start + timedelta(minutes=35)
    world.reminders.sweep()
    alerts = {row.key: row.text for row in world.outbox("/gti/breach/alert")}
    for ticket in (1, 2):
        assert "may request a credit" in alerts[f"INT-{ticket}/gti/breach/alert"]
    assert "already reach the cap, so this one is 0" in alerts["INT-3/gti/breach/alert"]


def test_a_breach_under_a_cap_of_0_says_the_cap_not_that_earlier_credits_reached_it(
    world: World,
) -> None:
    """`credit_cap = 0` (credits are never paid): the month's first breach owes 0 €, not
    because earlier credits reached the cap (there are none) but because the cap is 0 €."""
    catalog = parse_catalog(
        CATALOG.replace('warn_before = "15m"', 'warn_before = "15m"\ncredit_cap = 0')
    )
    assert catalog.policy.credit_cap == 0
    world.reminders = ReminderService(
        world.sessions, catalog, Messages("en"), clock=world.clock, late_after=timedelta(minutes=5)
    )
    start = world.clock.at
    world.open("crit-db-01", TicketKind.SECOURS)
    world.clock.at = start + timedelta(minutes=35)
    world.reminders.sweep()
    (alert,) = world.outbox("/gti/breach/alert")
    assert "already reach the cap" not in alert.text
    assert "the monthly cap is 0.00 €, so its credit is 0" in alert.text


def test_nudges_come_every_hour_and_escalate_to_the_thread_after_two_misses(world: World) -> None:
    """Claimed at 10:00: DMs at 11:00 and 12:00; nobody updates, so the 13:00 nudge goes to the
    thread mentioning the assignee and on-call. An update at 13:30 starts over: DM at 14:30."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(hours=3, minutes=30))
    dms = world.outbox("/nudge/")
    assert [(row.key, row.channel_id) for row in dms] == [
        ("INT-1/nudge/2026-11-25T10:00:00Z/dm", TECH),
        ("INT-1/nudge/2026-11-25T11:00:00Z/dm", TECH),
        ("INT-1/nudge/2026-11-25T12:00:00Z/thread", ALERTS),
    ]
    assert dms[0].created_at == start + timedelta(hours=1)
    assert f"<@{TECH}> <@{ONCALL}>" in dms[2].text
    assert "2 nudges unanswered" in dms[2].text
    assert [e["action_id"] for b in dms[0].blocks or [] for e in b.get("elements", [])] == [
        Action.POST_UPDATE.value
    ]
    world.tickets.update(Actor(TECH), ticket, "told the client")
    world.sweep_until(start + timedelta(hours=4, minutes=31))
    assert world.outbox("/nudge/")[-1].key == "INT-1/nudge/2026-11-25T13:30:00Z/dm"
    assert len(world.outbox("/nudge/")) == 4


def test_a_reassigned_ticket_s_nudges_escalate_after_two_sent_to_its_new_assignee(
    world: World,
) -> None:
    """Claimed at 10:00, a DM at 11:00 to the first assignee, reassigned at 11:40: the new one
    cannot have ignored that DM. 12:00 and 13:00 are DMs to them; 14:00 goes to the thread."""
    start = world.clock.at
    other = "U01BBB"
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(hours=1, minutes=40))
    world.tickets.reassign(Actor(TECH), ticket, other)
    world.sweep_until(start + timedelta(hours=4, minutes=10))
    rows = world.outbox("/nudge/")
    assert [(row.key, row.channel_id) for row in rows] == [
        ("INT-1/nudge/2026-11-25T10:00:00Z/dm", TECH),
        ("INT-1/nudge/2026-11-25T11:00:00Z/dm", other),
        ("INT-1/nudge/2026-11-25T12:00:00Z/dm", other),
        ("INT-1/nudge/2026-11-25T13:00:00Z/thread", ALERTS),
    ]
    assert f"<@{other}> <@{ONCALL}>" in rows[3].text
    assert "2 nudges unanswered" in rows[3].text


def test_reassigning_a_ticket_back_and_forth_does_not_keep_its_nudges_from_escalating(
    world: World,
) -> None:
    """DMs to the first assignee at 11:00 and 12:00, reassigned at 12:10, a DM to the second at
    13:00, given back at 13:10: the first assignee already ignored two nudges, so 14:00 goes to
    the thread mentioning them and on-call, not a fresh DM as to someone new to the ticket."""
    start = world.clock.at
    other = "U01BBB"
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(hours=2, minutes=10))
    world.tickets.reassign(Actor(TECH), ticket, other)
    world.sweep_until(start + timedelta(hours=3, minutes=10))
    world.tickets.reassign(Actor(other), ticket, TECH)
    world.sweep_until(start + timedelta(hours=4, minutes=10))
    rows = world.outbox("/nudge/")
    assert [(row.key, row.channel_id) for row in rows] == [
        ("INT-1/nudge/2026-11-25T10:00:00Z/dm", TECH),
        ("INT-1/nudge/2026-11-25T11:00:00Z/dm", TECH),
        ("INT-1/nudge/2026-11-25T12:00:00Z/dm", other),
        ("INT-1/nudge/2026-11-25T13:00:00Z/thread", ALERTS),
    ]
    assert f"<@{TECH}> <@{ONCALL}>" in rows[3].text
    assert "2 nudges unanswered" in rows[3].text


def test_a_nudge_due_before_a_reassignment_but_sent_after_it_counts_for_the_new_assignee(
    world: World,
) -> None:
    """Swept every 15 s; the 11:00 nudge falls due and the ticket is reassigned at 11:00:05,
    before the sweep: that nudge goes to the new assignee, and counts. 12:00 is their second
    DM, 13:00 the thread post, not a third DM."""
    start = world.clock.at
    other = "U01BBB"
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    sweeps = timedelta(seconds=15)
    world.sweep_until(start + timedelta(minutes=59, seconds=50), step=sweeps)
    world.clock.at = start + timedelta(hours=1, seconds=5)
    world.tickets.reassign(Actor(TECH), ticket, other)
    world.sweep_until(start + timedelta(hours=3, seconds=10), step=sweeps)
    assert [(row.key, row.channel_id) for row in world.outbox("/nudge/")] == [
        ("INT-1/nudge/2026-11-25T10:00:00Z/dm", other),
        ("INT-1/nudge/2026-11-25T11:00:00Z/dm", other),
        ("INT-1/nudge/2026-11-25T12:00:00Z/thread", ALERTS),
    ]


def test_a_ticket_claimed_a_year_ago_gets_its_next_nudge_on_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claimed 2025-11-25 10:00 Paris on 24/7, one update on 2026-06-01 10:30 and nothing
    since: the sweep of 2026-11-25 10:45 owes the 10:30 nudge, the 4,296th hour after the
    update, then the 11:30 one at 11:30, in the thread as both escalate. A sweep that owes
    nothing plans a nudge or two, not the 4,296 since the update."""
    now = world.clock.at
    world.clock.at = datetime(2025, 11, 25, 10, 0, tzinfo=PARIS)
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.clock.at = datetime(2026, 6, 1, 10, 30, tzinfo=PARIS)
    world.tickets.update(Actor(TECH), ticket, "told the client")
    world.sweep_until(world.clock.at + timedelta(hours=2, minutes=5))
    world.clock.at = now + timedelta(minutes=45)
    world.sweep_until(now + timedelta(hours=1, minutes=35), step=timedelta(minutes=5))
    assert [row.key for row in world.outbox("/nudge/")] == [
        "INT-1/nudge/2026-06-01T09:30:00Z/dm",
        "INT-1/nudge/2026-06-01T10:30:00Z/dm",
        "INT-1/nudge/2026-11-25T09:30:00Z/thread",
        "INT-1/nudge/2026-11-25T10:30:00Z/thread",
    ]
    assert "Late: due at 2026-11-25 10:30" in world.outbox("/nudge/")[2].text
    planned: list[datetime] = []
    key = nudges.nudge_key
    monkeypatch.setattr(nudges, "nudge_key", lambda ref, at: planned.append(at) or key(ref, at))
    assert world.reminders.sweep() == SweepReport(tickets=1)
    assert planned == [datetime(2026, 11, 25, 10, 30, tzinfo=UTC)]


def test_nudges_of_a_business_hours_ticket_wait_for_the_calendar_to_open(world: World) -> None:
    """An 8 h GTR on business hours (09:00-19:00), claimed Wednesday 17:30: nudged at 18:30,
    then nobody is woken at night; the hour goes on at 09:00, so the next nudge is Thursday
    09:30 (half an hour before the close, half an hour after the opening), then 10:30."""
    world.clock.at = datetime(2026, 11, 25, 17, 30, tzinfo=PARIS)
    ticket = world.open("acme-web-01", TicketKind.MATERIEL)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(datetime(2026, 11, 26, 10, 45, tzinfo=PARIS), step=timedelta(minutes=5))
    assert [row.key for row in world.outbox("/nudge/")] == [
        "INT-1/nudge/2026-11-25T17:30:00Z/dm",
        "INT-1/nudge/2026-11-26T08:30:00Z/dm",
        "INT-1/nudge/2026-11-26T09:30:00Z/thread",
    ]
    # Snoozed at 10:45 for 12 h, into the night: the nudge comes at Friday's opening.
    reply = world.tickets.snooze(Actor(TECH), ticket, timedelta(hours=12))
    assert "2026-11-27 09:00" in reply.text
    world.sweep_until(datetime(2026, 11, 27, 9, 5, tzinfo=PARIS), step=timedelta(minutes=5))
    assert world.outbox("/nudge/")[-1].key == "INT-1/nudge/2026-11-27T08:00:00Z/thread"
    assert len(world.outbox("/nudge/")) == 4


def test_nudges_follow_the_calendar_of_the_ticket_s_clock_after_its_level_moves(
    world: World,
) -> None:
    """An 8 h GTR on business hours claimed Wednesday 17:30; then the catalog moves the level
    to the 24/7 calendar (new tickets only: this one's clock keeps business hours, and its
    deadline with it). Its nudges keep counting the open time of its clock: 18:30, then
    Thursday 09:30, not every hour through the night."""
    world.clock.at = datetime(2026, 11, 25, 17, 30, tzinfo=PARIS)
    ticket = world.open("acme-web-01", TicketKind.MATERIEL)
    world.tickets.claim(Actor(TECH), ticket)
    moved = parse_catalog(
        CATALOG.replace('gtr = "8h"\ncalendar = "business"', 'gtr = "8h"\ncalendar = "always"')
    )
    assert moved.levels["essentiel"].calendar == "always"
    with world.sessions.begin() as session:
        sync_catalog(session, moved, now=world.clock())
    world.reminders = ReminderService(
        world.sessions, moved, Messages("en"), clock=world.clock, late_after=timedelta(minutes=5)
    )
    world.sweep_until(datetime(2026, 11, 26, 9, 45, tzinfo=PARIS), step=timedelta(minutes=5))
    assert [row.key for row in world.outbox("/nudge/")] == [
        "INT-1/nudge/2026-11-25T17:30:00Z/dm",
        "INT-1/nudge/2026-11-26T08:30:00Z/dm",
    ]


def claimed_and_updated_at_10_05(world: World) -> None:
    """A ticket opened and claimed at 10:00, its client told at 10:05: nudges from 11:05."""
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.clock.at += timedelta(minutes=5)
    world.tickets.update(Actor(TECH), ticket, "told the client")


def test_after_downtime_an_escalated_nudge_counts_only_the_nudges_sent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Updated at 10:05: DMs at 11:05 and 12:05; the bot is down from 12:10 to 15:20, so the
    13:05 and 14:05 nudges are superseded, never sent. The 15:05 one (the third sent, late) goes
    to the thread saying 2 nudges went unanswered, not 4; the 16:05 one says 3, not 5."""
    monkeypatch.setattr(reminders, "_KEYS_PER_LOOKUP", 1)  # the count adds up across lookups
    start = world.clock.at
    claimed_and_updated_at_10_05(world)
    world.sweep_until(start + timedelta(hours=2, minutes=10))
    assert [row.key for row in world.outbox("/nudge/")] == [
        "INT-1/nudge/2026-11-25T10:05:00Z/dm",
        "INT-1/nudge/2026-11-25T11:05:00Z/dm",
    ]
    world.clock.at = start + timedelta(hours=5, minutes=20)  # back up: no sweep until now
    world.sweep_until(start + timedelta(hours=6, minutes=10))
    rows = world.outbox("/nudge/")
    assert [(row.key, row.channel_id, row.thread_key) for row in rows[2:]] == [
        ("INT-1/nudge/2026-11-25T14:05:00Z/thread", ALERTS, "INT-1/root"),
        ("INT-1/nudge/2026-11-25T15:05:00Z/thread", ALERTS, "INT-1/root"),
    ]
    assert f"<@{TECH}> <@{ONCALL}>" in rows[2].text
    assert "2 nudges unanswered" in rows[2].text
    assert "Late: due at 2026-11-25 15:05" in rows[2].text
    assert "3 nudges unanswered" in rows[3].text
    assert "Late" not in rows[3].text


def test_after_downtime_escalation_waits_for_two_nudges_actually_sent(world: World) -> None:
    """Updated at 10:05: a DM at 11:05, then the bot is down from 11:10 to 14:20 (12:05, 13:05
    and 14:05 fall due unsent). The assignee got one nudge only: 14:05 is a second DM, not a
    thread post; 15:05, the third one sent, goes to the thread saying 2 went unanswered."""
    start = world.clock.at
    claimed_and_updated_at_10_05(world)
    world.sweep_until(start + timedelta(hours=1, minutes=10))
    world.clock.at = start + timedelta(hours=4, minutes=20)
    world.sweep_until(start + timedelta(hours=5, minutes=10))
    rows = world.outbox("/nudge/")
    assert [(row.key, row.channel_id) for row in rows] == [
        ("INT-1/nudge/2026-11-25T10:05:00Z/dm", TECH),
        ("INT-1/nudge/2026-11-25T13:05:00Z/dm", TECH),
        ("INT-1/nudge/2026-11-25T14:05:00Z/thread", ALERTS),
    ]
    assert "Late: due at 2026-11-25 14:05" in rows[1].text
    assert f"<@{TECH}> <@{ONCALL}>" in rows[2].text
    assert "2 nudges unanswered" in rows[2].text


def test_snooze_delays_the_next_nudge_and_is_audited(world: World) -> None:
    """Snoozed 30 min at 10:50: the 11:00 nudge comes at 11:20, the next one at 12:20."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(minutes=50))
    reply = world.tickets.snooze(
        Actor(TECH, "/intervention snooze 1 30m"), ticket, timedelta(minutes=30)
    )
    assert reply.text == "Update nudges of INT-1 delayed until 2026-11-25 11:20 by <@U01AAA>."
    world.sweep_until(start + timedelta(hours=2, minutes=25))
    assert [row.key for row in world.outbox("/nudge/")] == [
        "INT-1/nudge/2026-11-25T10:20:00Z/dm",
        "INT-1/nudge/2026-11-25T11:20:00Z/dm",
    ]
    with world.sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "ticket.snoozed")
        ).one()
        assert event.command == "/intervention snooze 1 30m"
        until = datetime.fromisoformat(event.details["until"])
        assert until == datetime(2026, 11, 25, 10, 20, tzinfo=UTC)


def test_a_snooze_ending_before_the_next_nudge_says_it_changes_nothing(world: World) -> None:
    """Claimed at 10:00 (nudges every hour), snoozed 10 min at 10:05: the next nudge was due at
    11:00 anyway. The reply says so, rather than "delayed until 10:15"; nothing is recorded, and
    the nudge still comes at 11:00."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(minutes=5))
    reply = world.tickets.snooze(
        Actor(TECH, "/intervention snooze 1 10m"), ticket, timedelta(minutes=10)
    )
    assert reply.text == (
        "Nothing to delay: the next update nudge of INT-1 is due at 2026-11-25 11:00, "
        "after 2026-11-25 10:15 anyway."
    )
    assert "snoozed" not in " ".join(row.text for row in world.outbox("/event/"))
    with world.sessions() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
        assert "ticket.snoozed" not in actions
    world.sweep_until(start + timedelta(hours=1, minutes=5))
    assert [row.key for row in world.outbox("/nudge/")] == ["INT-1/nudge/2026-11-25T10:00:00Z/dm"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "Nothing to delay: the next update nudge of INT-1 is already due at 2026-11-25 11:00, "
            "the time asked for.",
        ),
        (
            "fr",
            "Rien à repousser : la prochaine relance du ticket INT-1 est déjà prévue à "
            "2026-11-25 11:00, l'heure demandée.",
        ),
    ],
)
@pytest.mark.parametrize("claimed_after", [timedelta(0), timedelta(seconds=20)])
def test_a_snooze_ending_when_the_next_nudge_is_due_says_so_not_after_it(
    world: World, language: Language, expected: str, claimed_after: timedelta
) -> None:
    """Claimed at 10:00 (nudges every hour), snoozed 55 min at 10:05: the nudge is due at 11:00,
    when the snooze would end. The reply read "due at 11:00, after 11:00 anyway"; so it did
    when claimed at 10:00:20, the nudge due at 11:00:20, shown to the minute. Nothing is
    recorded."""
    start = world.clock.at
    tickets = TicketService(world.sessions, world.catalog, Messages(language), clock=world.clock)
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.clock.at = start + claimed_after
    world.tickets.claim(Actor(TECH), ticket)
    world.clock.at = start + timedelta(minutes=5)
    reply = tickets.snooze(Actor(TECH), ticket, timedelta(minutes=55))
    assert reply.text == expected
    with world.sessions() as session:
        assert "ticket.snoozed" not in session.scalars(select(AuditEvent.action)).all()


def test_a_snooze_says_when_the_next_nudge_comes_in_french(world: World) -> None:
    """Claimed at 10:00, snoozed 1 h at 10:30: the 11:00 nudge moves to 11:30, as the reply
    says; snoozed again 10 min at 10:40, nothing changes: the next one is still 11:30."""
    start = world.clock.at
    tickets = TicketService(world.sessions, world.catalog, Messages("fr"), clock=world.clock)
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.clock.at = start + timedelta(minutes=30)
    reply = tickets.snooze(Actor(TECH), ticket, timedelta(hours=1))
    assert reply.text == (
        "Relances du ticket INT-1 repoussées jusqu'à 2026-11-25 11:30 par <@U01AAA>."
    )
    world.clock.at = start + timedelta(minutes=40)
    reply = tickets.snooze(Actor(TECH), ticket, timedelta(minutes=10))
    assert reply.text == (
        "Rien à repousser : la prochaine relance du ticket INT-1 est prévue à 2026-11-25 11:30, "
        "déjà après 2026-11-25 10:50."
    )


def test_a_snooze_while_waiting_names_the_end_of_an_earlier_longer_snooze(world: World) -> None:
    """Claimed at 10:00, snoozed 2 h at 10:00 (nothing before 12:00), waiting on the client
    from 10:10. Snoozed 30 min at 10:20: the reply says 12:00, not 10:50, since the first
    snooze still holds; the wait ends at 10:30, and the nudge indeed comes at 12:00."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.tickets.snooze(Actor(TECH), ticket, timedelta(hours=2))
    world.clock.at = start + timedelta(minutes=10)
    world.tickets.wait(Actor(TECH), ticket, "access codes")
    world.clock.at = start + timedelta(minutes=20)
    reply = world.tickets.snooze(Actor(TECH), ticket, timedelta(minutes=30))
    assert reply.text == "Update nudges of INT-1 delayed until 2026-11-25 12:00 by <@U01AAA>."
    world.clock.at = start + timedelta(minutes=30)
    world.tickets.resume(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(hours=2, minutes=5))
    assert [row.key for row in world.outbox("/nudge/")] == ["INT-1/nudge/2026-11-25T11:00:00Z/dm"]


def test_a_snooze_while_waiting_into_the_night_names_the_next_opening(world: World) -> None:
    """A business-hours ticket (09:00-19:00) waiting on the client, snoozed 12 h on Wednesday
    at 14:20: no nudge comes before Thursday's opening, as a snooze into closed hours says
    when the ticket is not waiting; the reply does not name 02:20, in the night."""
    world.clock.at = datetime(2026, 11, 25, 14, 0, tzinfo=PARIS)
    ticket = world.open("acme-web-01", TicketKind.MATERIEL)
    world.tickets.claim(Actor(TECH), ticket)
    world.clock.at = datetime(2026, 11, 25, 14, 10, tzinfo=PARIS)
    world.tickets.wait(Actor(TECH), ticket, "access codes")
    world.clock.at = datetime(2026, 11, 25, 14, 20, tzinfo=PARIS)
    reply = world.tickets.snooze(Actor(TECH), ticket, timedelta(hours=12))
    assert reply.text == "Update nudges of INT-1 delayed until 2026-11-26 09:00 by <@U01AAA>."


def test_nudges_stop_while_waiting_on_the_client_and_once_resolved(world: World) -> None:
    """Waiting from 10:30 to 12:00: no nudge; the period restarts at 12:00 (nudge at 13:00);
    resolved at 13:30: nothing more."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.SECOURS)
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(minutes=30))
    world.tickets.wait(Actor(TECH), ticket, "access codes")
    world.sweep_until(start + timedelta(hours=2))
    world.tickets.resume(Actor(TECH), ticket)
    world.sweep_until(start + timedelta(hours=3, minutes=30))
    world.tickets.resolve(Actor(TECH), ticket, "done")
    world.sweep_until(start + timedelta(hours=6))
    assert [row.key for row in world.outbox("/nudge/")] == ["INT-1/nudge/2026-11-25T12:00:00Z/dm"]


def on_hold_just_after_eleven_until_one(world: World, kind: TicketKind) -> datetime:
    """A ticket of `kind` claimed at 10:00 (the start, returned), swept every 15 s until
    10:59:50, put on hold at 11:00:05 (before the sweep after 11:00), swept on, resumed at
    13:00."""
    start = world.clock.at
    ticket = world.open("crit-db-01", kind)
    world.tickets.claim(Actor(TECH), ticket)
    sweeps = timedelta(seconds=15)
    world.sweep_until(start + timedelta(minutes=59, seconds=50), step=sweeps)
    world.clock.at = start + timedelta(hours=1, seconds=5)
    world.tickets.wait(Actor(TECH), ticket, "access codes")
    world.sweep_until(start + timedelta(hours=3), step=sweeps)
    world.tickets.resume(Actor(TECH), ticket)
    return start


def test_a_nudge_due_just_before_a_wait_is_not_sent_when_the_wait_ends(world: World) -> None:
    """Claimed at 10:00, swept every 15 s: the 11:00 nudge falls due, and the ticket goes on
    hold at 11:00:05, before the next sweep. Resumed at 13:00, the period restarts: the next
    nudge is at 14:00, not the 11:00 one at once, marked late as if the bot had been down."""
    start = on_hold_just_after_eleven_until_one(world, TicketKind.SECOURS)
    world.sweep_until(start + timedelta(hours=4, minutes=1), step=timedelta(seconds=15))
    (nudge,) = world.outbox("/nudge/")
    assert nudge.key == "INT-1/nudge/2026-11-25T13:00:00Z/dm"
    assert "Late" not in nudge.text


def test_a_warning_due_just_before_a_wait_is_not_called_late_when_the_wait_ends(
    world: World,
) -> None:
    """A 2 h GTR claimed at 10:00, swept every 15 s: its 50 % warning falls due at 11:00 and
    the ticket goes on hold at 11:00:05, before the next sweep. Resumed at 13:00, the warning
    goes then (the clock is at 50 %), without "Late: … (the bot was down)": it was up, and no
    sweep warns of a paused clock."""
    start = on_hold_just_after_eleven_until_one(world, TicketKind.MATERIEL)
    world.sweep_until(start + timedelta(hours=3, minutes=1), step=timedelta(seconds=15))
    (warning,) = world.outbox(f"/gtr/50/dm/{TECH}")
    assert warning.created_at == start + timedelta(hours=3)
    assert "Late" not in warning.text


def test_a_repeated_sweep_queues_nothing_twice(world: World) -> None:
    """The outbox keys make every reminder idempotent: sweeping again at the same instant (as a
    second instance would) adds nothing."""
    start = world.clock.at
    world.open("crit-db-01", TicketKind.MATERIEL)
    world.clock.at = start + timedelta(hours=1, minutes=1)
    first = world.reminders.sweep()
    second = world.reminders.sweep()
    assert (first.warnings, second.warnings) == (1, 0)
    assert len(world.outbox("/gtr/50/")) == 3  # the on-call DM, the thread post, the root


def begins_during(world: World, sweep: Callable[[], SweepReport]) -> tuple[SweepReport, list[str]]:
    """What `sweep` returned, and each transaction it began: "read" or "write"."""
    engine = world.sessions.kw["bind"]
    begins: list[str] = []

    def record(connection: Connection) -> None:
        begins.append("read" if connection.get_execution_options().get(READ_ONLY) else "write")

    sqlalchemy_event.listen(engine, "begin", record)
    try:
        return sweep(), begins
    finally:
        sqlalchemy_event.remove(engine, "begin", record)


def test_a_sweep_that_owes_nothing_judges_in_one_read_and_writes_nothing(world: World) -> None:
    """Candidates are judged in one read transaction; a write transaction per candidate would
    hold SQLite's writers' lock, one after the other, for the whole pass. A ticket that owes
    something gets its own write transaction, which locks it and judges again."""
    start = world.clock.at
    first = world.open("crit-db-01", TicketKind.MATERIEL)
    world.tickets.claim(Actor(TECH), first)
    for _ in range(3):
        world.open("acme-web-01", TicketKind.MATERIEL)
    report, begins = begins_during(world, world.reminders.sweep)
    assert (report.tickets, report.warnings, report.nudges) == (4, 0, 0)
    assert begins == ["read"]
    world.clock.at = start + timedelta(hours=1)  # INT-1: GTR (2 h, 24/7) half used, update due
    report, begins = begins_during(world, world.reminders.sweep)
    assert (report.tickets, report.warnings, report.nudges) == (4, 1, 1)
    assert begins == ["read", "write"]
    assert world.keys("/gtr/") == ["INT-1/gtr/50"]
    assert [row.key for row in world.outbox("/nudge/")] == ["INT-1/nudge/2026-11-25T10:00:00Z/dm"]


def test_a_ticket_that_cannot_be_judged_fails_alone(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A clock naming a calendar gone from the catalog: that ticket fails at every sweep, with
    the error logged, and the other tickets still get their warnings."""
    start = world.clock.at
    broken = world.open("crit-db-01", TicketKind.MATERIEL)
    healthy = world.open("crit-db-01", TicketKind.MATERIEL)
    with world.sessions.begin() as session:
        session.execute(update(Clock).where(Clock.ticket_id == broken).values(calendar="gone"))
    world.clock.at = start + timedelta(hours=1)  # both GTRs (2 h, 24/7) are half used
    for _ in range(2):
        report = world.reminders.sweep()
        assert (report.tickets, report.failed) == (2, 1)
    assert world.keys("/gtr/") == [f"INT-{healthy}/gtr/50"]
    failures = [r for r in caplog.records if f"INT-{broken} could not be handled" in r.message]
    assert len(failures) == 2
    assert "unknown calendar 'gone'" in str(failures[0].exc_info)


def test_a_row_that_cannot_be_read_fails_its_ticket_alone(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A ticket row this version cannot read (a status or scope written by a newer one, during a
    rolling deploy): the read of all candidates fails, each is then handled alone, and only that
    ticket fails."""
    start = world.clock.at
    broken = world.open("crit-db-01", TicketKind.MATERIEL)
    healthy = world.open("crit-db-01", TicketKind.MATERIEL)
    with world.sessions.begin() as session:
        session.execute(text("UPDATE tickets SET scope = 'future' WHERE id = :id"), {"id": broken})
    world.clock.at = start + timedelta(hours=1)
    report = world.reminders.sweep()
    assert (report.tickets, report.warnings, report.failed) == (2, 1, 1)
    assert world.keys("/gtr/") == [f"INT-{healthy}/gtr/50"]
    assert any("could not be read at once" in r.message for r in caplog.records)


def test_candidates_are_judged_in_chunks(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """More candidates than one read takes: still one read transaction, and only the ticket that
    owes a warning is locked."""
    monkeypatch.setattr(reminders, "_CHUNK", 2)
    start = world.clock.at
    for _ in range(4):
        world.open("acme-web-01", TicketKind.MATERIEL)  # 8 h GTR on business hours
    owing = world.open("crit-db-01", TicketKind.MATERIEL)  # 2 h GTR, 24/7
    world.clock.at = start + timedelta(hours=1)
    report, begins = begins_during(world, world.reminders.sweep)
    assert (report.tickets, report.warnings, report.failed) == (5, 1, 0)
    assert begins == ["read", "write"]
    assert world.keys("/gtr/") == [f"INT-{owing}/gtr/50"]


def test_gtr_warnings_on_business_hours_wait_through_the_night_to_monday(world: World) -> None:
    """8 h GTR on business hours, claimed, called Sunday 17:00: 1 h on Sunday, then Monday:
    50 % at 12:00, 75 % at 14:00, 90 %, 15 min left and the breach after 16:00, to the assignee."""
    world.clock.at = datetime(2026, 11, 29, 17, 0, tzinfo=PARIS)
    world.open("acme-web-01", TicketKind.MATERIEL)
    world.tickets.claim(Actor(TECH), 1)
    world.sweep_until(datetime(2026, 11, 30, 16, 10, tzinfo=PARIS), step=timedelta(minutes=5))
    assert world.keys("/gtr/") == [
        "INT-1/gtr/50",
        "INT-1/gtr/75",
        "INT-1/gtr/90",
        "INT-1/gtr/before",
        "INT-1/gtr/breach",
    ]
    assert sent_at(world, f"INT-1/gtr/50/dm/{TECH}") == datetime(2026, 11, 30, 12, 0, tzinfo=PARIS)
    assert sent_at(world, f"INT-1/gtr/75/dm/{TECH}") == datetime(2026, 11, 30, 14, 0, tzinfo=PARIS)
    assert world.outbox(f"/dm/{ONCALL}") == []  # claimed: the assignee is warned, not on-call


def test_a_deadline_in_the_hour_the_autumn_change_repeats_says_which_one_it_is(
    world: World,
) -> None:
    """A 30 min GTI (24/7) called at 02:40 summer time on 2026-10-25 is due at 02:10 winter
    time, half an hour later: the warning and the breach name each 02:xx's zone, or the
    deadline reads as earlier than the call."""
    world.clock.at = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)  # 02:40 CEST
    world.open("crit-db-01", TicketKind.SECOURS)
    world.sweep_until(datetime(2026, 10, 25, 1, 15, tzinfo=UTC))
    (warning,) = world.outbox("/gti/50/thread")
    assert "due 2026-10-25 02:10 CET." in warning.text
    (breach,) = world.outbox("/gti/breach/alert")
    assert "the 2026-10-25 02:10 CET deadline passed" in breach.text


def test_a_reminder_found_by_a_sweep_a_little_behind_schedule_is_not_late(world: World) -> None:
    """Sweeps every 15 s: the 50 % warning falls due at 11:00:00, a millisecond after a sweep;
    the next sweep starts a few milliseconds after its 15 s (the scheduler, the pass before
    this ticket). The bot was up throughout: the warning does not say it was down. Back after
    a missed sweep, 40 s after it fell due, it does."""
    reminders = ReminderService(
        world.sessions,
        world.catalog,
        Messages("en"),
        clock=world.clock,
        late_after=timedelta(seconds=15),
    )
    start = world.clock.at
    world.open("crit-db-01", TicketKind.MATERIEL)  # 2 h GTR, 24/7: 50 % at 11:00
    world.open("crit-db-01", TicketKind.MATERIEL)
    world.clock.at = start + timedelta(hours=1) - timedelta(milliseconds=1)
    reminders.sweep()
    world.clock.at = start + timedelta(hours=1, seconds=15, milliseconds=5)
    assert reminders.sweep().late == 0
    (on_time,) = world.outbox("INT-1/gtr/50/thread")
    assert "Late" not in on_time.text
    world.tickets.claim(Actor(TECH), 2)  # a later threshold of INT-2, after a missed sweep:
    world.clock.at = start + timedelta(hours=1, minutes=30, seconds=40)  # 75 % at 11:30
    assert reminders.sweep().late == 2
    (late,) = world.outbox("INT-2/gtr/75/thread")
    assert "Late: due at 2026-11-25 11:30" in late.text


def test_a_breach_announced_after_its_credit_moved_says_where_the_credit_stands(
    world: World,
) -> None:
    """A technician may request a credit before the sweep announces the breach (the clock
    still running past its deadline is breached, and the sweep runs on the leader alone, late
    while it changes hands): the announcement, in the thread after "requested" and "granted",
    must not tell the team the client may request a credit it already has."""
    start = world.clock.at
    ticket = world.open("crit-db-01", TicketKind.MATERIEL)  # GTR 2h on 24/7: due 12:00
    world.clock.at = start + timedelta(hours=2, minutes=1)
    credits = CreditService(world.sessions, world.catalog, Messages("en"), clock=world.clock)
    credits.request(Actor(TECH), ticket)
    credits.grant(Actor(TECH), ticket)
    world.reminders.sweep()
    (alert,) = world.outbox("/gtr/breach/alert")
    (thread,) = world.outbox("/gtr/breach/thread")
    for said in (alert.text, thread.text):
        assert "may request a credit" not in said
        assert "its credit is already granted (450.00 €)" in said
