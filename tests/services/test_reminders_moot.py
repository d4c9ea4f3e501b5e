"""A reminder queued, then made moot before its turn came: what Slack still receives.

A sweep queues a warning or a nudge; the outbox sends it when its channel's pace, a retry's
backoff or a bot that was down lets it. Meanwhile the ticket may be resolved, put on hold,
updated, snoozed, claimed or given to someone else. These tests queue the reminder with the
real ReminderService on an injected clock, change the ticket with the real TicketService, and
only then let the real OutboxSender deliver, to the emulator, over HTTP.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import parse_catalog
from bot.grammar import Open
from bot.messages import Messages
from bot.sandbox import EmulatorThread
from bot.services.audit import Actor
from bot.services.reminders import ReminderService
from bot.services.tickets import ROOT_RENDERER, TicketService
from bot.sla import TicketKind
from bot.storage.catalog_sync import sync_catalog
from bot.storage.models import OutboxMessage, OutboxStatus
from bot.storage.outbox import get_stats
from tests.outbox.harness import SenderThread

PARIS = ZoneInfo("Europe/Paris")
TECH, OTHER, ONCALL, ALERTS = "U01AAA", "U01BBB", "U01ONCALL", "C01ALERTS"
STEP = timedelta(minutes=1)

# One client on a 24/7 calendar: GTI 30 min, GTR 2 h, a nudge an hour after the last update.
CATALOG = """
timezone = "Europe/Paris"

[calendars.always]
always_open = true

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
id = "crit"
name = "Crit SA"
level = "critique"

[[servers]]
id = "crit-db-01"
client = "crit"
host = "127.0.0.1"
"""


@dataclass
class SetClock:
    """The services' clock: frozen where the test puts it."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class World:
    sessions: sessionmaker[Session]
    slack: EmulatorThread
    clock: SetClock
    tickets: TicketService
    reminders: ReminderService
    opened_at: datetime

    def open(self, kind: TicketKind = TicketKind.MATERIEL) -> int:
        """A ticket on crit-db-01: hardware runs a GTR of 2 h, software a GTI of 30 min."""
        reply = self.tickets.open(Actor(TECH), Open("crit-db-01", kind, None, "down"))
        return int(reply.text.split(" ")[0].removeprefix("INT-").rstrip(":"))

    def sweep_until(self, end: datetime) -> None:
        """Sweep every minute from the clock's instant up to `end`, as the leader does."""
        while self.clock.at <= end:
            assert self.reminders.sweep().failed == 0
            self.clock.at += STEP
        self.clock.at = end

    def deliver(self) -> None:
        """The sender's passes until nothing is pending: it was held up until now (a backoff,
        a busy channel, the bot down), and the messages go in one go."""
        with SenderThread(
            self.sessions,
            self.slack.api_url,
            self.slack.bot_token,
            running=False,
            clock=self.sender_clock(),
        ) as thread:
            thread.sender.add_renderer(ROOT_RENDERER, self.tickets.render_root)
            for _ in range(60):
                delay = thread.deliver_due()
                with self.sessions() as session:
                    if get_stats(session, now=self.clock()).pending == 0:
                        return
                time.sleep(min(max(delay, 0.05), 1.0))
        raise AssertionError("the outbox did not drain")

    def sender_clock(self) -> Callable[[], datetime]:
        """The outbox's clock: the services' instant, going on as real time does from now (a
        channel's pace and a retry's backoff hold a message for a second or more)."""
        at, started = self.clock.at, time.monotonic()
        return lambda: at + timedelta(seconds=time.monotonic() - started)

    def row(self, key: str) -> OutboxMessage:
        with self.sessions() as session:
            return session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()

    def rows(self, contains: str) -> list[OutboxMessage]:
        with self.sessions() as session:
            rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            return [row for row in rows if contains in row.key]

    def dms(self, user_id: str) -> list[str]:
        return [message.text for message in self.slack.dms(user_id)]

    def thread(self) -> list[str]:
        root = self.slack.roots(ALERTS)[0]  # the ticket's; a breach is announced beside it
        return [message.text for message in self.slack.thread(ALERTS, root.ts)[1:]]


@pytest.fixture
def world(sessions: sessionmaker[Session], slack: EmulatorThread) -> World:
    catalog = parse_catalog(CATALOG)
    clock = SetClock(datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=clock())
    slack.add_channel(ALERTS)
    for user_id in (TECH, OTHER, ONCALL):
        slack.add_user(user_id)
    messages = Messages("en")
    tickets = TicketService(sessions, catalog, messages, clock=clock)
    reminders = ReminderService(
        sessions, catalog, messages, clock=clock, late_after=timedelta(minutes=5)
    )
    return World(sessions, slack, clock, tickets, reminders, clock.at)


def test_a_warning_queued_before_the_ticket_was_resolved_pings_nobody(world: World) -> None:
    """GTR at 50 % is queued for the assignee; the technician resolves INT-1 before the outbox
    sends it. The DM is dropped, saying why; the thread still records the warning, before the
    resolution, as it was told then."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1))
    world.clock.at += STEP
    world.tickets.resolve(Actor(TECH), ticket, "disk swapped")
    world.deliver()
    assert world.dms(TECH) == []
    dm = world.row(f"INT-{ticket}/gtr/50/dm/{TECH}")
    assert (dm.status, dm.last_error) == (OutboxStatus.DROPPED, "resolved")
    (nudge,) = world.rows("/nudge/")  # due at the same sweep, an hour after the claim
    assert (nudge.status, nudge.last_error) == (OutboxStatus.DROPPED, "resolved")
    told = world.thread()
    assert "GTR at 50%" in told[-2]
    assert told[-1].startswith(f"INT-{ticket} resolved")


def _update(world: World, ticket: int) -> None:
    world.tickets.update(Actor(TECH), ticket, "replacing the disk")


def _wait(world: World, ticket: int) -> None:
    world.tickets.wait(Actor(TECH), ticket, "the client's go-ahead")


def _wait_and_resume(world: World, ticket: int) -> None:
    _wait(world, ticket)
    world.clock.at += STEP
    world.tickets.resume(Actor(TECH), ticket)


def _snooze(world: World, ticket: int) -> None:
    world.tickets.snooze(Actor(TECH), ticket, timedelta(hours=2))


def _reassign(world: World, ticket: int) -> None:
    world.tickets.reassign(Actor(TECH), ticket, OTHER)


@pytest.mark.parametrize(
    ("change", "warning", "nudge"),
    [
        (_update, None, "client_updated"),
        (_wait, None, "waiting"),
        (_wait_and_resume, None, "waited"),
        (_snooze, None, "snoozed"),
        (_reassign, "reassigned", "assigned_to_another"),
    ],
    ids=["update", "wait", "wait-then-resume", "snooze", "reassign"],
)
def test_what_the_ticket_did_before_its_reminders_went_decides_which_still_page(
    world: World, change: Callable[[World, int], None], warning: str | None, nudge: str | None
) -> None:
    """An hour after the claim, the sweep queues GTR at 50 % and the first nudge, both DMs to
    the assignee; the ticket changes before the outbox sends them. A warning goes while its
    clock can still breach (an update or a wait leaves it at risk, and a warning is sent
    once), to whoever holds the ticket (a reassignment hands it over); a nudge goes while no
    client update, wait or snooze came since it fell due and the ticket is still theirs, as
    the sweep itself would judge it."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1))
    world.clock.at += STEP
    change(world, ticket)
    world.deliver()
    for key, moot in ((f"INT-{ticket}/gtr/50/dm/{TECH}", warning), (_nudge_key(world), nudge)):
        row = world.row(key)
        expected = (OutboxStatus.SENT, None) if moot is None else (OutboxStatus.DROPPED, moot)
        assert (row.status, row.last_error) == expected, key
    sent = world.dms(TECH)
    assert any("GTR at 50%" in text for text in sent) is (warning is None)
    assert not any("no client update" in text for text in sent)
    assert not any("no client update" in text for text in world.dms(OTHER))


def _nudge_key(world: World) -> str:
    (nudge,) = world.rows("/nudge/")
    return nudge.key


@pytest.mark.parametrize(
    ("kind", "clock", "after", "claimer", "moot"),
    [
        (TicketKind.SECOURS, "gti", timedelta(minutes=15), TECH, "clock_stopped"),
        (TicketKind.MATERIEL, "gtr", timedelta(hours=1), TECH, None),
        (TicketKind.MATERIEL, "gtr", timedelta(hours=1), ONCALL, None),
    ],
    ids=["gti-claimed", "gtr-claimed-by-another", "gtr-claimed-by-on-call"],
)
def test_a_warning_to_on_call_of_a_ticket_claimed_before_it_went(
    world: World,
    kind: TicketKind,
    clock: str,
    after: timedelta,
    claimer: str,
    moot: str | None,
) -> None:
    """A warning of an unclaimed ticket is queued for on-call; someone claims the ticket
    before the DM goes. The claim stops a GTI: moot. A GTR still runs, and can still breach:
    on-call's DM goes (its next warnings go to the assignee). The thread keeps the warning,
    before the claim."""
    ticket = world.open(kind)
    world.sweep_until(world.opened_at + after)
    world.clock.at += STEP
    world.tickets.claim(Actor(claimer), ticket)
    world.deliver()
    dm = world.row(f"INT-{ticket}/{clock}/50/dm/{ONCALL}")
    if moot is None:
        assert dm.status is OutboxStatus.SENT
        assert any(f"{clock.upper()} at 50%" in text for text in world.dms(ONCALL))
    else:
        assert (dm.status, dm.last_error) == (OutboxStatus.DROPPED, moot)
        assert world.dms(ONCALL) == []
    told = world.thread()
    assert f"{clock.upper()} at 50%" in told[-2]
    assert told[-1].startswith(f"INT-{ticket} claimed")


def test_an_escalation_answered_before_it_went_mentions_nobody(world: World) -> None:
    """Two nudges DMed and left unanswered; the third, a thread post mentioning the assignee
    and on-call, is queued, and the technician records a client update before it goes: the
    post is dropped. The breach announced meanwhile, a fact of the contract, was posted."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=2, minutes=30))
    world.deliver()
    assert len([text for text in world.dms(TECH) if "no client update" in text]) == 2
    world.sweep_until(world.opened_at + timedelta(hours=3))
    escalation = world.row(f"INT-{ticket}/nudge/2026-11-25T12:00:00Z/thread")
    assert escalation.status is OutboxStatus.PENDING
    world.clock.at += STEP
    _update(world, ticket)
    world.deliver()
    escalation = world.row(escalation.key)
    assert (escalation.status, escalation.last_error) == (OutboxStatus.DROPPED, "client_updated")
    told = world.thread()
    assert not any(f"<@{ONCALL}>" in text for text in told)
    assert any("*breached*" in text for text in told)
    assert any("*breached*" in m.text for m in world.slack.roots(ALERTS)[1:])


def test_a_nudge_dropped_as_moot_is_not_counted_as_ignored(world: World) -> None:
    """The first nudge was DMed; the second, queued, is dropped because the technician snoozed
    the nudges for two hours. Nobody ignored it: the next nudge after the snooze is the second
    one they get, a DM, not an escalation to on-call."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1, minutes=5))
    world.deliver()
    world.sweep_until(world.opened_at + timedelta(hours=2))
    world.clock.at += STEP
    _snooze(world, ticket)
    world.deliver()
    world.sweep_until(world.opened_at + timedelta(hours=4, minutes=5))
    nudges = [row for row in world.rows("/nudge/")]
    assert [row.status for row in nudges] == [
        OutboxStatus.SENT,
        OutboxStatus.DROPPED,
        OutboxStatus.PENDING,
    ]
    assert nudges[-1].key.endswith("/dm")


def test_the_last_warning_queued_before_a_short_wait_still_goes(world: World) -> None:
    """GTR 2 h, claimed. The 90 % warning is queued at 1 h 48; the technician puts the ticket
    on hold for a minute and the outbox runs during the wait. Dropped as moot, the warning was
    never queued again (its key taken): the ticket resumed with 11 min left and nothing warned
    of the breach."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1, minutes=30))
    world.deliver()
    assert not any("GTR at 90%" in text for text in world.dms(TECH))
    world.sweep_until(world.opened_at + timedelta(hours=1, minutes=48))
    world.clock.at += STEP
    world.tickets.wait(Actor(TECH), ticket, "the client's go-ahead")
    world.deliver()
    world.clock.at += STEP
    world.tickets.resume(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=2, minutes=1))
    world.deliver()
    assert any("GTR at 90%" in text for text in world.dms(TECH))


def test_a_warning_queued_before_a_reassignment_goes_to_the_new_assignee(world: World) -> None:
    """GTR at 50 % is queued for TECH (Slack down, say); INT-1 is reassigned to OTHER before
    it goes. TECH, who no longer holds the ticket, is not paged; OTHER, who now owns the
    clock, gets the warning, naming them, and then the next threshold's, each once."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1))
    world.clock.at += STEP
    world.tickets.reassign(Actor(TECH), ticket, OTHER)
    world.sweep_until(world.opened_at + timedelta(hours=1, minutes=5))
    world.deliver()
    dropped = world.row(f"INT-{ticket}/gtr/50/dm/{TECH}")
    assert (dropped.status, dropped.last_error) == (OutboxStatus.DROPPED, "reassigned")
    assert world.row(f"INT-{ticket}/gtr/50/dm/{OTHER}").status is OutboxStatus.SENT
    assert not any("GTR at" in text for text in world.dms(TECH))
    (warning,) = [text for text in world.dms(OTHER) if "GTR at" in text]
    assert "GTR at 50%" in warning
    assert f"<@{OTHER}>" in warning
    assert f"<@{TECH}>" not in warning
    world.sweep_until(world.opened_at + timedelta(hours=1, minutes=31))
    world.deliver()
    warnings = [text for text in world.dms(OTHER) if "GTR at" in text]
    assert [("GTR at 50%" in t, "GTR at 75%" in t) for t in warnings] == [
        (True, False),
        (False, True),
    ]
    assert not any("GTR at" in text for text in world.dms(TECH))


def test_a_warning_delivered_before_a_reassignment_is_not_told_again(world: World) -> None:
    """GTR at 50 % reached TECH; INT-1 is then reassigned to OTHER. The warning was heard by
    whoever held the ticket then: OTHER is not sent it again, and gets the next threshold's."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1))
    world.deliver()
    assert any("GTR at 50%" in text for text in world.dms(TECH))
    world.clock.at += STEP
    world.tickets.reassign(Actor(TECH), ticket, OTHER)
    world.sweep_until(world.opened_at + timedelta(hours=1, minutes=31))
    world.deliver()
    assert [text for text in world.dms(OTHER) if "GTR at" in text and "50%" in text] == []
    assert any("GTR at 75%" in text for text in world.dms(OTHER))
    assert not any("GTR at 75%" in text for text in world.dms(TECH))
    assert world.rows(f"/gtr/50/dm/{OTHER}") == []


def test_a_warning_attempted_before_a_reassignment_still_goes_and_is_handed_over(
    world: World,
) -> None:
    """GTR at 50 % was tried for TECH, and Slack answered 503: it is to be tried again, and
    may have reached TECH already, so it is never dropped. INT-1 is reassigned to OTHER
    meanwhile: OTHER, who owns the clock now, gets it too, as the DM to TECH may never
    arrive (Slack down a while longer)."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1))
    world.slack.inject_http_status(503, times=None, methods="chat.postMessage")
    with SenderThread(
        world.sessions,
        world.slack.api_url,
        world.slack.bot_token,
        running=False,
        clock=world.sender_clock(),
    ) as thread:
        thread.sender.add_renderer(ROOT_RENDERER, world.tickets.render_root)
        thread.deliver_due()
    attempted = world.row(f"INT-{ticket}/gtr/50/dm/{TECH}")
    assert (attempted.status, attempted.attempts) == (OutboxStatus.PENDING, 1)
    world.slack.clear_faults()
    world.clock.at += STEP
    world.tickets.reassign(Actor(TECH), ticket, OTHER)
    world.deliver()
    assert world.row(attempted.key).status is OutboxStatus.SENT
    assert any("GTR at 50%" in text for text in world.dms(TECH))
    assert len([text for text in world.dms(OTHER) if "GTR at 50%" in text]) == 1


def test_a_warning_handed_back_and_forth_goes_to_who_holds_the_ticket(world: World) -> None:
    """Slack not delivering meanwhile, GTR at 50 % is queued for TECH; the ticket goes TECH ->
    OTHER -> TECH -> OTHER. The copy handed back to TECH (keyed `…/dm/U01AAA/<revision>`) is
    handed over again: it reaches OTHER, who holds the ticket, and does not page TECH."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1))
    for to in (OTHER, TECH, OTHER):
        world.clock.at += STEP
        world.tickets.reassign(Actor(TECH), ticket, to)
    pending = [row.key for row in world.rows("/gtr/50/dm/") if row.status is OutboxStatus.PENDING]
    assert [key.split("/dm/")[1].split("/")[0] for key in pending] == [OTHER]
    world.deliver()
    assert not any("GTR at 50%" in text for text in world.dms(TECH))
    assert any("GTR at 50%" in text for text in world.dms(OTHER))


def test_a_short_snooze_of_a_nudge_queued_but_not_sent_yet_keeps_it_quiet(world: World) -> None:
    """The 11:00 nudge is queued, but the outbox has not sent it yet (a busy channel, a
    backoff) when the technician snoozes the nudges for 30 min: the nudge they are about to get
    is the one they ask to delay, though the next one planned (12:00) comes after the snooze
    anyway. The snooze is recorded and the queued nudge dropped; not "nothing to delay",
    followed by the very nudge they asked to delay."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1))
    (queued,) = world.rows("/nudge/")
    assert queued.status is OutboxStatus.PENDING
    world.clock.at += timedelta(seconds=30)
    reply = world.tickets.snooze(Actor(TECH), ticket, timedelta(minutes=30))
    assert reply.text.startswith(f"Update nudges of INT-{ticket} delayed until"), reply.text
    world.deliver()
    row = world.row(queued.key)
    assert (row.status, row.last_error) == (OutboxStatus.DROPPED, "snoozed")
    assert not any("no client update" in text for text in world.dms(TECH))


def test_a_short_snooze_of_a_nudge_due_but_not_queued_yet_keeps_it_quiet(world: World) -> None:
    """The 11:00 nudge fell due, and the sweep that queues it has not run yet (it runs every
    15 s, or a new leader is taking over) when the technician snoozes the nudges for 30 min:
    the snooze is recorded, and the nudge the sweep then queues is dropped."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(minutes=59))
    world.clock.at = world.opened_at + timedelta(hours=1, seconds=10)
    reply = world.tickets.snooze(Actor(TECH), ticket, timedelta(minutes=30))
    assert reply.text.startswith(f"Update nudges of INT-{ticket} delayed until"), reply.text
    world.reminders.sweep()
    world.deliver()
    assert not any("no client update" in text for text in world.dms(TECH))


def test_a_warning_still_queued_when_its_clock_breached_is_not_sent(world: World) -> None:
    """GTR 2 h, claimed: the 50 %, 75 %, 15-min and 90 % warnings are queued on time, but the
    outbox cannot send them (Slack away, the bot restarted) until past the deadline. Their DMs
    would tell the assignee time is left when none is: they are dropped (`breached`), and the
    breach, announced by the sweep meanwhile, says what happened. The thread keeps the
    warnings, in their place, before the breach."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1, minutes=50))
    world.clock.at = world.opened_at + timedelta(hours=2, minutes=5)
    world.reminders.sweep()
    world.deliver()
    for threshold in ("50", "75", "before", "90"):
        row = world.row(f"INT-{ticket}/gtr/{threshold}/dm/{TECH}")
        assert (row.status, row.last_error) == (OutboxStatus.DROPPED, "breached"), threshold
    assert not any("of open time left" in text for text in world.dms(TECH))
    told = world.thread()
    assert "GTR at 90%" in told[-2]
    assert "*breached*" in told[-1]


def test_a_warning_of_a_clock_paused_before_its_deadline_still_goes(world: World) -> None:
    """The 90 % warning is queued, then the ticket waits on the client before the deadline
    and the outbox sends the DM past the deadline as first computed: the clock is paused, not
    breached, so the warning still goes."""
    ticket = world.open()
    world.tickets.claim(Actor(TECH), ticket)
    world.sweep_until(world.opened_at + timedelta(hours=1, minutes=50))
    world.tickets.wait(Actor(TECH), ticket, "the client's go-ahead")
    world.clock.at = world.opened_at + timedelta(hours=2, minutes=5)
    world.deliver()
    row = world.row(f"INT-{ticket}/gtr/90/dm/{TECH}")
    assert row.status is OutboxStatus.SENT
