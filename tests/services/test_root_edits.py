"""A ticket's root is edited after every change of the ticket, written when the edit is sent
(`TicketService.render_root`). A change the root does not show (a client update: it is told
in the thread) makes no chat.update; a change it shows does. These tests change the ticket
with the real TicketService on an injected clock and deliver with the real OutboxSender, a
new one each time (as after a restart), to the emulator over HTTP."""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import parse_catalog
from bot.grammar import Open
from bot.messages import Messages
from bot.sandbox import EmulatorThread, Message
from bot.services.audit import Actor
from bot.services.tickets import ROOT_RENDERER, TicketService
from bot.sla import TicketKind
from bot.storage.catalog_sync import sync_catalog
from bot.storage.models import OutboxMessage, OutboxStatus
from bot.storage.outbox import UNCHANGED, get_stats
from tests.outbox.harness import SenderThread

PARIS = ZoneInfo("Europe/Paris")
TECH, ALERTS = "U01AAA", "C01ALERTS"

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
technicians = ["U01AAA"]
oncall = ["U01AAA"]
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
    """The service's clock: frozen where the test puts it."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class World:
    sessions: sessionmaker[Session]
    slack: EmulatorThread
    clock: SetClock
    tickets: TicketService

    def deliver(self) -> None:
        """A sender's passes until nothing is pending."""
        with SenderThread(
            self.sessions, self.slack.api_url, self.slack.bot_token, running=False
        ) as thread:
            thread.sender.add_renderer(ROOT_RENDERER, self.tickets.render_root)
            for _ in range(60):
                delay = thread.deliver_due()
                with self.sessions() as session:
                    if get_stats(session, now=self.clock()).pending == 0:
                        return
                time.sleep(min(max(delay, 0.05), 1.0))
        raise AssertionError("the outbox did not drain")

    def edits(self) -> int:
        """The chat.update calls Slack answered so far."""
        return len(self.slack.calls_to("chat.update"))

    def root_edits(self, ticket: int) -> list[tuple[OutboxStatus, str | None]]:
        """Status and last error of the root's edits, in writing order."""
        with self.sessions() as session:
            rows = session.execute(
                select(OutboxMessage.status, OutboxMessage.last_error)
                .where(OutboxMessage.target_key == f"INT-{ticket}/root")
                .order_by(OutboxMessage.id)
            )
            return [(status, error) for status, error in rows]

    def root(self) -> Message:
        """The ticket's root as Slack shows it now."""
        (root,) = self.slack.roots(ALERTS)
        return self.slack.root(ALERTS, root.ts)


@pytest.fixture
def world(sessions: sessionmaker[Session], slack: EmulatorThread) -> World:
    catalog = parse_catalog(CATALOG)
    clock = SetClock(datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=clock())
    slack.add_channel(ALERTS)
    slack.add_user(TECH)
    tickets = TicketService(sessions, catalog, Messages("en"), clock=clock)
    return World(sessions, slack, clock, tickets)


def test_a_client_update_leaves_the_root_alone_and_a_claim_edits_it(world: World) -> None:
    """A claimed ticket (its GTR running, the root's clock line "… left, due …, as of 10:00"):
    a client update recorded in the same minute re-renders the root as it is, and no
    chat.update goes; the edit is settled `coalesced`, "unchanged". The thread is told. A
    resolution changes the root: it is edited."""
    reply = world.tickets.open(Actor(TECH), Open("crit-db-01", TicketKind.MATERIEL, None, "down"))
    ticket = int(reply.text.split(" ")[0].removeprefix("INT-").rstrip(":"))
    world.tickets.claim(Actor(TECH), ticket)
    world.deliver()
    before = world.edits()
    world.tickets.update(Actor(TECH), ticket, "disk on its way")
    world.deliver()
    assert world.edits() == before
    assert world.root_edits(ticket)[-1] == (OutboxStatus.COALESCED, UNCHANGED)
    (root,) = world.slack.roots(ALERTS)
    assert "disk on its way" in world.slack.thread(ALERTS, root.ts)[-1].text
    world.tickets.resolve(Actor(TECH), ticket, "disk swapped")
    world.deliver()
    assert world.edits() == before + 1
    assert world.root_edits(ticket)[-1] == (OutboxStatus.SENT, None)
    assert "resolved" in world.root().text


def test_a_client_update_a_minute_later_edits_the_root_its_clock_moved(world: World) -> None:
    """The root shows the time left and when it was written: a client update recorded a
    minute later re-renders a root that reads otherwise, and that edit goes."""
    reply = world.tickets.open(Actor(TECH), Open("crit-db-01", TicketKind.MATERIEL, None, "down"))
    ticket = int(reply.text.split(" ")[0].removeprefix("INT-").rstrip(":"))
    world.tickets.claim(Actor(TECH), ticket)
    world.deliver()
    before, shown = world.edits(), world.root()
    world.clock.at += timedelta(minutes=1)
    world.tickets.update(Actor(TECH), ticket, "disk on its way")
    world.deliver()
    assert world.edits() == before + 1
    assert world.root_edits(ticket)[-1] == (OutboxStatus.SENT, None)
    assert "as of 2026-11-25 10:01" in str(world.root().blocks)
    assert "as of 2026-11-25 10:00" in str(shown.blocks)
