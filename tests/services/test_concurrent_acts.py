"""Two acts on one ticket at once: each reads the time once it holds the ticket, so the one
that waited for the other never records an instant before the other's.

A technician's act that read the clock and was then held up before taking the ticket's lock
(descheduled, waiting for a pooled connection, or for SQLite's writers' lock behind a long
write) let another act take the ticket and commit a later instant first: the late one then
wrote an earlier one after it. A resolve read at 10:20 ended a wait begun at 10:30 (a pause of
minus 10 minutes); a wait read at 10:20 reached back over a claim committed at 10:30, changing
the GTI verdict the claim had announced.
"""

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import UserFacingError
from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.credits import CreditService
from bot.services.tickets import TicketService
from bot.services.views import sla_clock
from bot.sla import TicketKind
from bot.storage.models import AuditEvent, Clock, TicketPause
from tests.services.history import SetClock, paris, services

TECH = Actor("U01AAA")
TECH2 = Actor("U01BBB")
WEB = "acme-web-01"  # ACME, essentiel: GTI 4h, GTR 8h on business hours
LATE = "late-act"  # the thread held up after reading the clock


class HeldUpClock:
    """The test's clock; the thread named LATE, reading it before it holds the ticket (the
    writers' lock on SQLite, the row's FOR UPDATE on PostgreSQL), is held up right after
    reading, until `release`: another act takes the ticket meanwhile."""

    def __init__(self, clock: SetClock, engine: Engine) -> None:
        self._clock = clock
        self._holding = threading.local()
        self.read_unlocked = threading.Event()
        self.release = threading.Event()

        def executed(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if connection.info.get("writers_locked") or "FOR UPDATE" in statement:
                self._holding.ticket = True

        event.listen(engine, "after_cursor_execute", executed)

    def set(self, at: datetime) -> None:
        self._clock.now = at

    def __call__(self) -> datetime:
        now = self._clock()
        late = threading.current_thread().name.startswith(LATE)
        if late and not getattr(self._holding, "ticket", False):
            self.read_unlocked.set()
            assert self.release.wait(10)
        return now


@contextmanager
def late_act(clock: HeldUpClock, act: Callable[[], object]) -> Iterator[Future[object]]:
    """`act` run in the LATE thread: inside the block, it has read the clock and waits, or
    (reading it only under the ticket's lock) is done."""
    with ThreadPoolExecutor(1, thread_name_prefix=LATE) as pool:
        future = pool.submit(act)
        deadline = time.monotonic() + 10
        while not (clock.read_unlocked.is_set() or future.done()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        try:
            yield future
        finally:
            clock.release.set()


def outcome(act: Callable[[], object]) -> str:
    """The key of the refusal `act` met, or "done"."""
    try:
        act()
    except UserFacingError as error:
        return error.key
    return "done"


def finished(future: Future[object]) -> str:
    return outcome(lambda: future.result(timeout=10))


def assert_in_order(sessions: sessionmaker[Session]) -> None:
    """The ticket's audit is in the order of its instants, and no wait ends before it began."""
    with sessions() as session:
        for pause in session.scalars(select(TicketPause)):
            assert pause.ended_at is None or pause.ended_at >= pause.started_at
        instants = list(session.scalars(select(AuditEvent.at).order_by(AuditEvent.id)))
        assert instants == sorted(instants)


@pytest.fixture
def held(sessions: sessionmaker[Session], engine: Engine) -> tuple[TicketService, HeldUpClock]:
    h = services(sessions)
    clock = HeldUpClock(h.clock, engine)
    tickets = TicketService(sessions, h.catalog, Messages("en"), clock=clock)
    clock.set(paris(11, 27, 10, 0))
    tickets.open(TECH, Open(WEB, TicketKind.SECOURS, None, "site down"))
    clock.set(paris(11, 27, 10, 20))  # what the late act reads
    return tickets, clock


def test_a_resolve_held_up_after_reading_the_clock_never_ends_a_later_wait_before_it_began(
    sessions: sessionmaker[Session], held: tuple[TicketService, HeldUpClock]
) -> None:
    """Resolve read 10:20, then TECH2's wait took the ticket at 10:30: the resolve, carried out
    after it, ends the wait at 10:30 or later, never at 10:20."""
    tickets, clock = held
    with late_act(clock, lambda: tickets.resolve(TECH, 1, "swapped")) as resolving:
        clock.set(paris(11, 27, 10, 30))
        waited = outcome(lambda: tickets.wait(TECH2, 1, "client away"))
    assert waited in ("done", "ticket.resolved")  # refused if the resolve took it first
    assert finished(resolving) == "done"
    assert_in_order(sessions)


def test_a_resume_held_up_after_reading_the_clock_never_ends_a_later_wait_before_it_began(
    sessions: sessionmaker[Session], held: tuple[TicketService, HeldUpClock]
) -> None:
    """Waiting since 10:05; a resume read 10:20, then TECH2 resumed and waited again at 10:30:
    the late resume ends that second wait, at 10:30 or later."""
    tickets, clock = held
    clock.set(paris(11, 27, 10, 5))
    tickets.wait(TECH, 1, "client away")
    clock.set(paris(11, 27, 10, 20))
    with late_act(clock, lambda: tickets.resume(TECH, 1)) as resuming:
        clock.set(paris(11, 27, 10, 30))
        resumed = outcome(lambda: tickets.resume(TECH2, 1))
        assert resumed in ("done", "ticket.not_waiting")  # refused if the late one was first
        assert outcome(lambda: tickets.wait(TECH2, 1, "client away again")) == "done"
    assert finished(resuming) in ("done", "ticket.not_waiting")
    assert_in_order(sessions)


def test_a_wait_held_up_after_reading_the_clock_never_reaches_back_over_a_claim(
    sessions: sessionmaker[Session], held: tuple[TicketService, HeldUpClock]
) -> None:
    """TECH2 claimed at 10:30 (GTI met, 30m taken) while a wait read at 10:20 was held up:
    the wait starts at 10:30 or later, and the GTI keeps the 30m its claim announced."""
    tickets, clock = held
    with late_act(clock, lambda: tickets.wait(TECH, 1, "client away")) as waiting:
        clock.set(paris(11, 27, 10, 30))
        tickets.claim(TECH2, 1)
    assert finished(waiting) == "done"
    assert_in_order(sessions)
    with sessions() as session:
        claim = session.scalars(select(AuditEvent).where(AuditEvent.action == "ticket.claimed"))
        gti = session.scalars(select(Clock).where(Clock.kind == "gti")).one()
        taken = sla_clock(gti, session.scalars(select(TicketPause)).all(), tickets.catalog)
        assert (
            taken.status(paris(11, 27, 12, 0)).consumed.total_seconds()
            == (claim.one().details["consumed_seconds"])
        )


def test_a_recovery_held_up_after_reading_the_clock_tells_its_stop_after_the_wait_before_it(
    sessions: sessionmaker[Session], held: tuple[TicketService, HeldUpClock]
) -> None:
    """The probes saw the server back at 10:15; their transaction read 10:20, then TECH2's wait
    took the hardware ticket at 10:30: its GTR stops at 10:15, and its timeline tells the stop
    after the wait, not at 10:20 after an event of 10:30."""
    tickets, clock = held
    clock.set(paris(11, 27, 10, 0))
    tickets.open(TECH, Open(WEB, TicketKind.MATERIEL, None, "disk"))  # INT-2: a GTR runs
    clock.set(paris(11, 27, 10, 20))

    def recover() -> list[int]:
        with sessions.begin() as session:
            return tickets.stop_gtr_on_recovery(session, WEB, paris(11, 27, 10, 15))

    with late_act(clock, recover) as recovering:
        clock.set(paris(11, 27, 10, 30))
        assert outcome(lambda: tickets.wait(TECH2, 2, "client away")) == "done"
    assert recovering.result(timeout=10) == [2]
    assert_in_order(sessions)
    with sessions() as session:
        gtr = session.scalars(select(Clock).where(Clock.kind == "gtr")).one()
        assert gtr.stopped_at == paris(11, 27, 10, 15)


def test_a_credit_request_held_up_after_reading_the_clock_is_timed_after_the_act_before_it(
    sessions: sessionmaker[Session], held: tuple[TicketService, HeldUpClock]
) -> None:
    """GTI breached (claimed at 15:00, due 14:00); a request of its credit read 15:20, then
    TECH2's update took the ticket at 15:30: the request, recorded after it, is not at 15:20."""
    tickets, clock = held
    credits = CreditService(sessions, tickets.catalog, Messages("en"), clock=clock)
    clock.set(paris(11, 27, 15, 0))
    tickets.claim(TECH, 1)
    clock.set(paris(11, 27, 15, 20))
    with late_act(clock, lambda: credits.request(TECH, 1, "by mail")) as requesting:
        clock.set(paris(11, 27, 15, 30))
        tickets.update(TECH2, 1, "told the client")
    assert finished(requesting) == "done"
    assert_in_order(sessions)
