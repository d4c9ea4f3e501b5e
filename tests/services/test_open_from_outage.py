"""A ticket opened from an outage's Open intervention modal, where the technician may change
every field, the server included."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.services.audit import Actor
from bot.sla import TicketKind
from bot.storage.models import Outage, Ticket
from bot.storage.probes import add_outage
from tests.services.history import paris, services

TECH = Actor("U01AAA")


def test_a_ticket_about_another_server_does_not_join_the_outage(
    sessions: sessionmaker[Session],
) -> None:
    """The modal of web-01's outage, its server changed to globex-db-01: the ticket gets its
    own root, and web-01's outage does not list it."""
    h = services(sessions)
    with h.sessions.begin() as session:
        outage = add_outage(
            session, "acme-web-01", started_at=paris(11, 27, 9, 0), confirmed_at=paris(11, 27, 9, 2)
        )
        outage.root_key = f"outage-{outage.id}/root"
        outage_id = outage.id
    h.clock.now = paris(11, 27, 9, 20)
    same = Open("acme-web-01", TicketKind.SECOURS, None, "site down")
    other = Open("globex-db-01", TicketKind.MATERIEL, None, "disk")
    h.tickets.open(TECH, same, outage_id=outage_id)
    h.tickets.open(TECH, other, outage_id=outage_id)
    with sessions() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        root = session.scalars(select(Outage.root_key)).one()
        assert [(t.outage_id, t.thread_key) for t in tickets] == [
            (outage_id, root),
            (None, "INT-2/root"),
        ]
