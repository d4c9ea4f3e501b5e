"""A command read on a clock behind the ticket's last recorded instant (another instance's clock,
or this one's stepped back): the act is recorded at that instant, so the ticket's evidence
stays in order, instead of a wait ending before it began or a claim failing."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.sla import TicketKind
from bot.storage.models import AuditEvent, Clock, Ticket, TicketPause
from tests.services.history import TECH, paris, services

WEB = "acme-web-01"  # ACME, essentiel: GTI 4h, GTR 8h on business hours
SKEW = timedelta(seconds=10)


def pauses(sessions: sessionmaker[Session]) -> list[tuple[object, object]]:
    with sessions() as session:
        rows = session.scalars(select(TicketPause).order_by(TicketPause.id))
        return [(p.started_at, p.ended_at) for p in rows]


def test_a_resume_read_before_the_wait_began_ends_it_where_it_began(
    sessions: sessionmaker[Session],
) -> None:
    """Waiting since 10:30, resumed on a clock reading 10:29:50: the wait lasted nothing (it
    said "after -0m", and the report counted a negative pause against the client)."""
    h = services(sessions)
    h.clock.now = paris(11, 30, 10, 0)
    h.tickets.open(TECH, Open(WEB, TicketKind.MATERIEL, None, "disk"))
    h.clock.now = paris(11, 30, 10, 30)
    h.tickets.wait(TECH, 1, "codes")
    h.clock.now = paris(11, 30, 10, 30) - SKEW
    reply = h.tickets.resume(TECH, 1)
    assert reply.text == "INT-1 resumed (<@U01AAA>) after 0m waiting on the client."
    assert pauses(sessions) == [(paris(11, 30, 10, 30), paris(11, 30, 10, 30))]
    with sessions() as session:
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "ticket.resumed")
        ).one()
        assert audit.at == paris(11, 30, 10, 30)
        assert audit.details["paused_seconds"] == 0


def test_a_wait_read_before_the_last_one_ended_starts_where_it_ended(
    sessions: sessionmaker[Session],
) -> None:
    """Resumed at 10:40, waiting again on a clock reading 10:39:50: the new wait starts at
    10:40, and the ticket reads as before (it failed: two waits overlapping)."""
    h = services(sessions)
    h.clock.now = paris(11, 30, 10, 0)
    h.tickets.open(TECH, Open(WEB, TicketKind.MATERIEL, None, "disk"))
    h.clock.now = paris(11, 30, 10, 30)
    h.tickets.wait(TECH, 1, "codes")
    h.clock.now = paris(11, 30, 10, 40)
    h.tickets.resume(TECH, 1)
    h.clock.now = paris(11, 30, 10, 40) - SKEW
    h.tickets.wait(TECH, 1, "more codes")
    assert pauses(sessions) == [
        (paris(11, 30, 10, 30), paris(11, 30, 10, 40)),
        (paris(11, 30, 10, 40), None),
    ]
    h.clock.now = paris(11, 30, 11, 0)
    assert "GTR 8h: paused, 7h30m left" in h.tickets.show(1).text


def test_a_claim_read_before_the_call_was_registered_meets_the_gti_at_once(
    sessions: sessionmaker[Session],
) -> None:
    """Registered at 11:00 on one instance, claimed on another whose clock reads 10:59:50: the
    GTI stops at 11:00 (it failed with an internal error: a clock stopping before it starts)."""
    h = services(sessions)
    h.clock.now = paris(11, 30, 11, 0)
    h.tickets.open(TECH, Open(WEB, TicketKind.SECOURS, None, "site slow"))
    h.clock.now = paris(11, 30, 11, 0) - SKEW
    reply = h.tickets.claim(TECH, 1)
    assert reply.text == "INT-1 claimed by <@U01AAA>. GTI met: 0m of open time, budget 4h."
    with sessions() as session:
        ticket = session.get_one(Ticket, 1)
        assert ticket.claimed_at == paris(11, 30, 11, 0)
        assert session.scalars(select(Clock.stopped_at)).one() == paris(11, 30, 11, 0)


def test_a_resolve_read_before_the_wait_began_ends_it_where_it_began(
    sessions: sessionmaker[Session],
) -> None:
    """Waiting since 10:30, resolved on a clock reading 10:29:50: the GTR stops, and the wait
    ends, at 10:30, not before it began."""
    h = services(sessions)
    h.clock.now = paris(11, 30, 10, 0)
    h.tickets.open(TECH, Open("globex-db-01", TicketKind.RESEAU, None, "link"))
    h.clock.now = paris(11, 30, 10, 30)
    h.tickets.wait(TECH, 1, "codes")
    h.clock.now = paris(11, 30, 10, 30) - SKEW
    reply = h.tickets.resolve(TECH, 1, "")
    assert "GTR met: 30m of open time, budget 4h." in reply.text
    assert "(0m) ends with it" in reply.text
    assert pauses(sessions) == [(paris(11, 30, 10, 30), paris(11, 30, 10, 30))]
    with sessions() as session:
        ticket = session.get_one(Ticket, 1)
        assert ticket.resolved_at == paris(11, 30, 10, 30)
