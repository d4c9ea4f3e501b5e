"""A call registered late: the probes may already have seen its server go down and come back.
Its GTR then stops where it would have stopped had the ticket been registered on time."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.services.audit import Actor
from bot.sla import TicketKind
from bot.storage.models import AuditEvent, Clock, Credit, CreditState, OutboxMessage
from bot.storage.probes import add_outage
from tests.services.history import outage, paris, services

TECH = Actor("U01AAA")
DB = "globex-db-01"  # Globex, premium: GTR 4 h around the clock, probed


def test_a_gtr_called_during_an_outage_that_ended_before_registration_stops_at_the_recovery(
    sessions: sessionmaker[Session],
) -> None:
    h = services(sessions)
    outage(h, DB, paris(11, 27, 9, 0), paris(11, 27, 9, 10))
    h.clock.now = paris(11, 27, 9, 20)
    reply = h.tickets.open(TECH, Open(DB, TicketKind.MATERIEL, "09:05", "disk"))
    assert reply.text.endswith("GTR 4h: met (5m)")
    with sessions() as session:
        clock = session.scalars(select(Clock)).one()
        assert (clock.stopped_at, clock.stopped_by) == (paris(11, 27, 9, 10), "probe")
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["ticket.opened", "clock.restored"]
        said = [m.text for m in session.scalars(select(OutboxMessage)) if m.thread_key]
        assert any("GTR of INT-1 stopped" in text and "<@U01AAA>" in text for text in said)
        assert session.scalars(select(Credit)).all() == []


def test_a_recovery_after_the_deadline_breaches_the_late_registered_gtr(
    sessions: sessionmaker[Session],
) -> None:
    """Down from 8:00 to 13:00, called at 8:30, registered at 13:30: 4 h 30 of a 4 h GTR."""
    h = services(sessions)
    outage(h, DB, paris(11, 27, 8, 0), paris(11, 27, 13, 0))
    h.clock.now = paris(11, 27, 13, 30)
    reply = h.tickets.open(TECH, Open(DB, TicketKind.RESEAU, "08:30", "link down"))
    assert reply.text.endswith("GTR 4h: *breached* (4h30m)")
    with sessions() as session:
        assert session.scalars(select(Clock.stopped_at)).one() == paris(11, 27, 13, 0)
        credit = session.scalars(select(Credit)).one()
        assert credit.state is CreditState.ELIGIBLE


def test_an_outage_over_before_the_call_or_still_going_leaves_the_gtr_running(
    sessions: sessionmaker[Session],
) -> None:
    h = services(sessions)
    outage(h, DB, paris(11, 27, 8, 0), paris(11, 27, 8, 30))
    h.clock.now = paris(11, 27, 9, 20)
    h.tickets.open(TECH, Open(DB, TicketKind.MATERIEL, "09:00", "disk"))
    with sessions() as session:
        assert session.scalars(select(Clock.stopped_at)).one() is None


def test_a_server_down_again_at_registration_keeps_the_gtr_running(
    sessions: sessionmaker[Session],
) -> None:
    """Called at 9:05; the server came back at 9:10 and went down again at 9:15. Registered
    at 9:20 while it is down, the ticket is about that outage: no "GTR met (5m)"."""
    h = services(sessions)
    outage(h, DB, paris(11, 27, 9, 0), paris(11, 27, 9, 10))
    with h.sessions.begin() as session:
        add_outage(session, DB, started_at=paris(11, 27, 9, 15), confirmed_at=paris(11, 27, 9, 16))
    h.clock.now = paris(11, 27, 9, 20)
    reply = h.tickets.open(TECH, Open(DB, TicketKind.MATERIEL, "09:05", "disk"))
    assert "met" not in reply.text
    with sessions() as session:
        assert session.scalars(select(Clock.stopped_at)).one() is None
