"""A call registered late: the probes may already have seen its server go down and come back.
Its GTR then stops where it would have stopped had the ticket been registered on time."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.services.audit import Actor
from bot.sla import TicketKind
from bot.storage.models import (
    AuditEvent,
    Clock,
    Credit,
    CreditState,
    OutboxMessage,
    Scope,
    Ticket,
)
from bot.storage.probes import add_outage
from tests.services.history import new_terms, open_ticket, outage, paris, services

TECH = Actor("U01AAA")
DB = "globex-db-01"  # Globex, premium: GTR 4 h around the clock, probed
WEB = "acme-web-01"  # ACME, essentiel: 2 interventions a month


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


def test_a_call_backdated_before_a_downgrade_is_judged_by_the_contract_it_was_made_under(
    sessions: sessionmaker[Session],
) -> None:
    """Globex is premium (6 interventions, GTI 1h) in November, essentiel (2, GTI 4h) from
    December 1. On December 1 at 09:00 a call taken on November 30 at 18:00 is registered:
    November's allowance is premium's, 3 of 6 used, so the call is covered, and its GTI is the
    premium hour. Judged by December's contract, it was held out of scope: no guaranteed delay
    for an intervention the client had paid for."""
    h = services(sessions)
    for day in (2, 3, 4):
        open_ticket(h, paris(11, day, 10), DB, TicketKind.MAINTENANCE, "update")
    h = new_terms(h, "globex", "essentiel", paris(12, 1, 0))
    h.clock.now = paris(12, 1, 9)
    reply = h.tickets.open(TECH, Open(DB, TicketKind.SECOURS, "2026-11-30T18:00", "db down"))
    assert "out of scope" not in reply.text
    with sessions() as session:
        ticket = session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(1)).one()
        assert (ticket.scope, ticket.level) == (Scope.IN, "premium")
        (clock,) = ticket.clocks
        assert (clock.kind, clock.budget_seconds) == ("gti", 3600)
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None
        assert (event.details["allowance_used"], event.details["allowance"]) == (3, 6)


def test_a_call_backdated_before_an_upgrade_counts_against_the_allowance_it_was_made_under(
    sessions: sessionmaker[Session],
) -> None:
    """ACME is essentiel (2 interventions) in November, premium (6) from December 1, and used
    its 2 in November. A call of November 30 registered on December 1 is past November's
    allowance, as the month's report counts it, not within premium's 6."""
    h = services(sessions)
    open_ticket(h, paris(11, 2, 10), WEB, TicketKind.SECOURS, "site down")
    open_ticket(h, paris(11, 3, 10), WEB, TicketKind.MAINTENANCE, "update php")
    h = new_terms(h, "acme", "premium", paris(12, 1, 0))
    h.clock.now = paris(12, 1, 9)
    reply = h.tickets.open(TECH, Open(WEB, TicketKind.UTILISATION, "2026-11-30T18:00", "help"))
    assert "ACME SARL's allowance is used up in November 2026 (2/2)" in reply.text
    reply = h.tickets.open(TECH, Open(WEB, TicketKind.UTILISATION, None, "help"))
    assert "out of scope" not in reply.text  # December: premium's 6, none used
