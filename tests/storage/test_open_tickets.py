"""The plain-row read of open tickets (`list`, `/sla status`) shows exactly what the ORM read
shows: same tickets, same order, same clocks and pauses, so the same views at any instant."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.services.audit import Actor
from bot.services.views import ticket_view
from bot.sla import TicketKind
from bot.storage import open_tickets as open_tickets_module
from bot.storage.database import reading
from bot.storage.models import Ticket, TicketStatus
from bot.storage.open_tickets import (
    OPEN_STATUSES,
    OpenTicketCache,
    TicketRecord,
    open_tickets,
)
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


WHERES = [
    {},
    {"client_id": "globex"},
    {"client_id": "acme"},
    {"server_id": "globex-db-01"},
    {"assignee_id": TECH.user_id},
    {"assignee_id": TECH2.user_id},
]


def same_as_open_tickets(h: History, cache: OpenTicketCache) -> None:
    with reading(h.sessions) as session:
        for where in WHERES:
            assert cache.read(session, **where) == open_tickets(session, **where), where


def test_the_cache_reads_what_open_tickets_reads_after_every_kind_of_change(h: History) -> None:
    """Warm, then after each change (a claim, a wait, a resume, an update, a reassignment, a
    new ticket, a resolution), the cache gives exactly the records a full read gives."""
    cache = OpenTicketCache()
    same_as_open_tickets(h, cache)
    with reading(h.sessions) as session:
        first, claimed, waiting, usage = [r.id for r in open_tickets(session)]
    changes = [
        lambda: h.tickets.claim(TECH, first),
        lambda: h.tickets.resume(TECH2, waiting),
        lambda: h.tickets.wait(TECH, claimed, "parts"),
        lambda: h.tickets.update(TECH2, usage, "told the client"),
        lambda: h.tickets.reassign(TECH, first, TECH2.user_id),
        lambda: open_ticket(h, paris(11, 2, 16), "acme-web-01", TicketKind.SECOURS, "again"),
        lambda: h.tickets.resolve(TECH2, usage, "answered"),
    ]
    for change in changes:
        h.clock.now += timedelta(minutes=5)
        change()
        same_as_open_tickets(h, cache)


def test_the_cache_loads_only_the_tickets_whose_revision_moved(
    h: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = OpenTicketCache()
    loaded: list[list[int]] = []
    load = open_tickets_module.tickets_by_id

    def counting(session: Session, ids: list[int]) -> list[TicketRecord]:
        loaded.append(sorted(ids))
        return load(session, ids)

    monkeypatch.setattr(open_tickets_module, "tickets_by_id", counting)
    with reading(h.sessions) as session:
        ids = [r.id for r in cache.read(session)]
        assert cache.read(session) == open_tickets(session)
    h.tickets.update(TECH, ids[1], "told the client")
    with reading(h.sessions) as session:
        cache.read(session)
    assert loaded == [ids, [], [ids[1]]]


def test_every_change_a_view_shows_bumps_the_revision(h: History) -> None:
    """What the cache relies on: each use case that changes a ticket, its clocks or its pauses
    bumps `tickets.revision` in the same transaction."""
    with reading(h.sessions) as session:
        first, claimed, waiting, usage = [r.id for r in open_tickets(session)]
    # ACME's two interventions of November are used: this one waits for a quote or a refusal.
    pending = open_ticket(h, paris(11, 2, 15), "acme-web-01", TicketKind.SECOURS, "again")

    def revision(ticket_id: int) -> int:
        with reading(h.sessions) as session:
            return session.get_one(Ticket, ticket_id).revision

    for ticket_id, change in [
        (first, lambda: h.tickets.claim(TECH, first)),
        (first, lambda: h.tickets.update(TECH, first, "on it")),
        (first, lambda: h.tickets.wait(TECH, first, "codes")),
        (first, lambda: h.tickets.resume(TECH, first)),
        (first, lambda: h.tickets.reassign(TECH, first, TECH2.user_id)),
        (first, lambda: h.tickets.snooze(TECH2, first, timedelta(hours=3))),
        (waiting, lambda: h.tickets.resume(TECH2, waiting)),
        (claimed, lambda: h.tickets.wait(TECH, claimed, "parts")),
        (usage, lambda: h.tickets.resolve(TECH2, usage, "answered")),
        (waiting, lambda: stop_gtr_on_recovery(h, "acme-web-01")),
        (pending, lambda: h.tickets.settle_scope(TECH, pending, quote=True, note="quoted")),
    ]:
        before = revision(ticket_id)
        h.clock.now += timedelta(minutes=5)
        change()
        assert revision(ticket_id) == before + 1


def stop_gtr_on_recovery(h: History, server_id: str) -> None:
    with h.sessions.begin() as session:
        assert h.tickets.stop_gtr_on_recovery(session, server_id, h.clock())


def test_a_ticket_changed_between_the_two_statements_is_read_as_one_query_would(
    h: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL each statement of a read sees its own instant: a ticket reassigned or
    resolved after the revisions were read, before it is loaded, is left out of `list mine`
    and of the open tickets, as a single query at either instant would."""
    cache = OpenTicketCache()
    with reading(h.sessions) as session:
        first, claimed, *_ = [r.id for r in open_tickets(session)]
    h.tickets.claim(TECH, first)
    load = open_tickets_module.tickets_by_id

    def changed_meanwhile(session: Session, ids: list[int]) -> list[TicketRecord]:
        h.tickets.reassign(TECH, first, TECH2.user_id)
        h.tickets.resolve(TECH, claimed, "done")
        with reading(h.sessions) as later:  # a statement that sees those commits
            return load(later, ids)

    monkeypatch.setattr(open_tickets_module, "tickets_by_id", changed_meanwhile)
    with reading(h.sessions) as session:
        mine = cache.read(session, assignee_id=TECH.user_id)
    assert first not in [r.id for r in mine]
    assert claimed not in [r.id for r in mine]
    monkeypatch.setattr(open_tickets_module, "tickets_by_id", load)
    same_as_open_tickets(h, cache)


def test_past_its_capacity_the_cache_starts_over_and_reads_the_same(h: History) -> None:
    cache = OpenTicketCache(capacity=2)
    for where in WHERES:
        with reading(h.sessions) as session:
            assert cache.read(session, **where) == open_tickets(session, **where)
    h.clock.now += timedelta(minutes=5)
    with reading(h.sessions) as session:
        first = open_tickets(session)[0].id
    h.tickets.claim(TECH2, first)
    same_as_open_tickets(h, cache)
