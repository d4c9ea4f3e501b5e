"""The plain-row read of open tickets (`list`, `/sla status`) shows exactly what the ORM read
shows: same tickets, same order, same clocks and pauses, so the same views at any instant."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.services.audit import Actor
from bot.services.views import ticket_view
from bot.sla import TicketKind
from bot.storage import open_tickets as open_tickets_module
from bot.storage.database import reading
from bot.storage.models import Ticket, TicketStatus
from bot.storage.open_tickets import OPEN_STATUSES, open_tickets
from tests.services.history import TECH, History, open_ticket, paris, services

TECH2 = Actor("U01BBB")


@pytest.fixture
def h(sessions: sessionmaker[Session]) -> History:
    """Tickets in every state: open, claimed, waiting (one pause open, one closed), resolved,
    on two clients and three servers, with GTI and GTR clocks."""
    h = services(sessions)
    open_ticket(h, paris(11, 2, 9), "acme-web-01", TicketKind.SECOURS, "site down")
    claimed = open_ticket(h, paris(11, 2, 9, 30), "globex-db-01", TicketKind.MATERIEL, "disk")
    h.clock.now = paris(11, 2, 9, 40)
    h.tickets.claim(TECH, claimed)
    waiting = open_ticket(h, paris(11, 2, 10), "acme-web-01", TicketKind.RESEAU, "link")
    h.clock.now = paris(11, 2, 10, 5)
    h.tickets.claim(TECH2, waiting)
    h.tickets.wait(TECH2, waiting, "codes")
    h.clock.now = paris(11, 2, 10, 30)
    h.tickets.resume(TECH2, waiting)
    h.tickets.wait(TECH2, waiting, "the client's window")
    resolved = open_ticket(h, paris(11, 2, 11), "acme-web-01", TicketKind.MAINTENANCE, "patch")
    h.clock.now = paris(11, 2, 11, 10)
    h.tickets.claim(TECH, resolved)
    h.tickets.resolve(TECH, resolved, "done")
    usage = open_ticket(h, paris(11, 2, 12), "globex-db-01", TicketKind.UTILISATION, "how to")
    h.clock.now = paris(11, 2, 12, 20)
    h.tickets.claim(TECH2, usage)  # its GTI clock stopped, by TECH2
    h.clock.now = paris(11, 2, 15)
    return h


def orm_open_tickets(
    session: Session, *, client_id: str | None = None, server_id: str | None = None
) -> list[Ticket]:
    query = (
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES))
        .options(selectinload(Ticket.clocks), selectinload(Ticket.pauses))
        .order_by(Ticket.id)
    )
    if client_id is not None:
        query = query.where(Ticket.client_id == client_id)
    if server_id is not None:
        query = query.where(Ticket.server_id == server_id)
    return list(session.scalars(query))


@pytest.mark.parametrize(
    "where",
    [{}, {"client_id": "globex"}, {"client_id": "acme"}, {"server_id": "globex-db-01"}],
    ids=["all", "globex", "acme", "globex-db-01"],
)
def test_rows_and_orm_give_the_same_views(h: History, where: dict[str, str]) -> None:
    now = h.clock()
    with reading(h.sessions) as session:
        records = open_tickets(session, **where)
        orm = orm_open_tickets(session, **where)
        assert [r.id for r in records] == [t.id for t in orm]
        for record, ticket in zip(records, orm, strict=True):
            assert ticket_view(record, "name", h.catalog, now) == ticket_view(
                ticket, "name", h.catalog, now
            )


def test_the_read_covers_every_open_state_and_skips_resolved_tickets(h: History) -> None:
    with reading(h.sessions) as session:
        records = open_tickets(session)
    assert {r.status for r in records} == {
        TicketStatus.OPEN,
        TicketStatus.CLAIMED,
        TicketStatus.WAITING,
    }
    assert len(records) == 4
    waiting = next(r for r in records if r.status is TicketStatus.WAITING)
    assert [p.ended_at is None for p in waiting.pauses] == [False, True]
    assert all(r.clocks for r in records)
    assert [c.stopped_by for r in records for c in r.clocks if c.stopped_at] == [TECH2.user_id]


def test_no_open_ticket_is_an_empty_list(sessions: sessionmaker[Session]) -> None:
    services(sessions)
    with reading(sessions) as session:
        assert open_tickets(session) == []
        assert open_tickets(session, client_id="acme") == []


def test_clocks_and_pauses_read_in_chunks_give_the_same_records(
    h: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids go in IN lists of a bounded size (SQLite's parameter limit): chunked or not, the
    same records."""
    with reading(h.sessions) as session:
        whole = open_tickets(session)
        monkeypatch.setattr(open_tickets_module, "_CHUNK", 2)
        assert open_tickets(session) == whole
