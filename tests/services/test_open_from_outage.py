"""A ticket opened from an outage's Open intervention modal, where the technician may change
every field, the server included."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.messages import Messages
from bot.probes.state import OutageClosed, OutageOpened
from bot.services.alerts import AlertService
from bot.services.audit import Actor
from bot.sla import TicketKind
from bot.storage.models import (
    AlertStorm,
    AuditEvent,
    Outage,
    OutboxMessage,
    OutboxOperation,
    Ticket,
)
from bot.storage.probes import add_outage, close_outage
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


def test_a_ticket_opened_from_a_storm_member_joins_the_storm_thread(
    sessions: sessionmaker[Session],
) -> None:
    """web-01 went down in a storm: it has no root of its own, its detail and the Open
    intervention button are in the storm's thread. The ticket's root goes there too, as it
    goes in a lone outage's thread, and is updated in place; its story follows it."""
    h = services(sessions)
    with h.sessions.begin() as session:
        storm = AlertStorm(started_at=paris(11, 27, 9, 0), ended_at=None)
        session.add(storm)
        session.flush()
        storm.root_key = f"storm-{storm.id}/root"
        outage = add_outage(
            session, "acme-web-01", started_at=paris(11, 27, 9, 0), confirmed_at=paris(11, 27, 9, 2)
        )
        outage.storm_id = storm.id
        outage_id, storm_root = outage.id, storm.root_key
    h.clock.now = paris(11, 27, 9, 20)
    command = Open("acme-web-01", TicketKind.MATERIEL, None, "rack down")
    h.tickets.open(TECH, command, outage_id=outage_id)
    h.clock.now = paris(11, 27, 9, 25)
    h.tickets.claim(TECH, 1)
    with sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.outage_id, ticket.thread_key) == (outage_id, storm_root)
        posted = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    root = next(message for message in posted if message.key == "INT-1/root")
    assert root.thread_key == storm_root
    claimed = [message for message in posted if message.key.startswith("INT-1/event/")]
    assert [message.thread_key for message in claimed] == [storm_root]
    edits = [message for message in posted if message.operation is OutboxOperation.UPDATE]
    assert edits
    assert {message.target_key for message in edits} == {"INT-1/root"}


def test_the_outage_thread_says_recovered_before_the_gtr_it_stopped(
    sessions: sessionmaker[Session],
) -> None:
    """A ticket opened from an outage tells its story in the outage's thread: when the server
    comes back, the thread reads "recovered", then the ticket's GTR stopped by it, in that
    order (the outbox sends a thread's messages in the order they were queued)."""
    h = services(sessions)
    alerts = AlertService(h.tickets, sessions, Messages("en"), clock=h.clock)
    h.clock.now = paris(11, 27, 9, 2)
    with sessions.begin() as session:
        outage = add_outage(
            session, "acme-web-01", started_at=paris(11, 27, 9, 0), confirmed_at=h.clock.now
        )
        opened = OutageOpened("acme-web-01", outage.started_at, h.clock.now, outage.id)
        alerts.in_transaction(session, opened)  # alerted at the commit
        outage_id = outage.id
    with sessions() as session:
        root = session.get_one(Outage, outage_id).root_key
    assert root is not None
    h.clock.now = paris(11, 27, 9, 20)
    command = Open("acme-web-01", TicketKind.MATERIEL, None, "disk")
    h.tickets.open(TECH, command, outage_id=outage_id)
    h.clock.now = paris(11, 27, 9, 40)
    with sessions.begin() as session:
        restored_at = paris(11, 27, 9, 38)
        assert close_outage(session, "acme-web-01", ended_at=restored_at) is not None
        event = OutageClosed("acme-web-01", restored_at, h.clock.now, outage_id)
        alerts.in_transaction(session, event)
    with sessions() as session:
        thread = session.scalars(
            select(OutboxMessage.key)
            .where(
                OutboxMessage.thread_key == root,
                OutboxMessage.operation == OutboxOperation.POST,
            )
            .order_by(OutboxMessage.id)
        ).all()
        restored = session.scalars(
            select(AuditEvent.id).where(AuditEvent.action == "clock.restored")
        ).one()
    assert thread[-2:] == [f"outage-{outage_id}/recovered", f"INT-1/event/{restored}"]
