"""Tickets with their clocks and pauses, read as plain rows: the open ones for `list` and
`/sla status`, any by id for the reminders sweep's plan.

Three Core queries and frozen records: loading ORM objects (identity map, change tracking)
took about a third of those commands' CPU, and nothing read here is ever written back.
`OpenTicketCache` keeps the records between reads, and reloads a ticket only when its revision
moved.
"""

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select
from sqlalchemy.orm import Session

from bot.storage.models import Clock, Scope, Ticket, TicketPause, TicketStatus

OPEN_STATUSES = [s for s in TicketStatus if s is not TicketStatus.RESOLVED]


@dataclass(frozen=True)
class ClockRecord:
    kind: str
    budget_seconds: int
    calendar: str
    started_at: datetime
    stopped_at: datetime | None
    stopped_by: str | None


@dataclass(frozen=True)
class PauseRecord:
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class TicketRecord:
    clocks: tuple[ClockRecord, ...]  # first: the stored columns follow, in the row's order
    pauses: tuple[PauseRecord, ...]
    id: int
    kind: str
    client_id: str
    level: str
    server_id: str | None
    description: str
    status: TicketStatus
    scope: Scope
    assignee_id: str | None
    opened_by: str
    called_at: datetime
    registered_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    last_update_at: datetime | None
    revision: int

    @property
    def ref(self) -> str:
        return f"INT-{self.id}"


def _columns(entity: Any, record: type[Any]) -> list[Any]:
    """The entity's columns named like the record's stored fields, in the record's order."""
    return [getattr(entity, f.name) for f in fields(record) if f.name not in ("clocks", "pauses")]


def _open(*columns: Any) -> dict[str | None, Select[Any]]:
    """SELECT `columns` of the open tickets by id: all of them (key None), or those of one
    client, server or assignee (the key names the bound parameter)."""
    query = (
        select(*columns)
        .where(Ticket.status.in_(OPEN_STATUSES))  # IN, not !=: it uses the index
        .order_by(Ticket.id)
    )
    return {
        None: query,
        "client_id": query.where(Ticket.client_id == bindparam("client_id")),
        "server_id": query.where(Ticket.server_id == bindparam("server_id")),
        "assignee_id": query.where(Ticket.assignee_id == bindparam("assignee_id")),
    }


_TICKETS = _open(*_columns(Ticket, TicketRecord))
_REVISIONS = _open(Ticket.id, Ticket.revision)
_TICKETS_BY_ID = (
    select(*_columns(Ticket, TicketRecord))
    .where(Ticket.id.in_(bindparam("ids", expanding=True)))
    .order_by(Ticket.id)
)
_CLOCKS = (
    select(Clock.ticket_id, *_columns(Clock, ClockRecord))
    .where(Clock.ticket_id.in_(bindparam("ids", expanding=True)))
    .order_by(Clock.id)
)
_PAUSES = (
    select(TicketPause.ticket_id, *_columns(TicketPause, PauseRecord))
    .where(TicketPause.ticket_id.in_(bindparam("ids", expanding=True)))
    .order_by(TicketPause.started_at, TicketPause.id)
)
_CHUNK = 500  # ids per IN list: SQLite takes at most 32,766 parameters a statement


def open_tickets(
    session: Session,
    *,
    client_id: str | None = None,
    server_id: str | None = None,
    assignee_id: str | None = None,
) -> list[TicketRecord]:
    """The open tickets (of one client, on one server, or assigned to one user) by id, each
    with its clocks (by id) and pauses (by start, then id), as the ORM relationships order
    them."""
    # Core statements built once, run on the connection: no ORM layer to go through.
    connection = session.connection()
    key, parameters = _filter(client_id, server_id, assignee_id)
    tickets = connection.execute(_TICKETS[key], parameters).all()
    return _with_clocks_and_pauses(connection, tickets)


def _filter(
    client_id: str | None, server_id: str | None, assignee_id: str | None
) -> tuple[str | None, dict[str, str]]:
    """Which statement of `_open` answers, and its parameters (the first filter given)."""
    for key, value in (
        ("client_id", client_id),
        ("server_id", server_id),
        ("assignee_id", assignee_id),
    ):
        if value is not None:
            return key, {key: value}
    return None, {}


class OpenTicketCache:
    """The records of the open tickets, kept between reads by one process.

    A read asks the database for the open tickets' ids and revisions, a narrow query, and loads
    only the tickets this cache has not seen at that revision. Every change to a ticket, its
    clocks or its pauses bumps `tickets.revision` in the change's own transaction
    (`TicketService._record`), so an (id, revision) pair always names the same content, on
    any worker. What a read returns is what `open_tickets` would return.
    """

    def __init__(self, *, capacity: int = 10_000) -> None:
        self._records: dict[int, TicketRecord] = {}
        self._capacity = capacity  # past it, a filtered read starts over from what it loaded
        self._lock = threading.Lock()

    def read(
        self,
        session: Session,
        *,
        client_id: str | None = None,
        server_id: str | None = None,
        assignee_id: str | None = None,
    ) -> list[TicketRecord]:
        """`open_tickets(session, …)`, loading only what changed since the last read."""
        connection = session.connection()
        key, parameters = _filter(client_id, server_id, assignee_id)
        current = connection.execute(_REVISIONS[key], parameters).all()
        known = self._records  # replaced whole, never emptied in place: safe to read
        stale = {
            ticket_id
            for ticket_id, revision in current
            if (record := known.get(ticket_id)) is None or record.revision != revision
        }
        # Loaded after the revisions were read: as recent as they are, or more (a change
        # committed in between, on PostgreSQL), never older.
        fresh = {record.id: record for record in tickets_by_id(session, list(stale))}
        records = []
        for ticket_id, _ in current:
            record = fresh.get(ticket_id) if ticket_id in stale else known[ticket_id]
            # Changed between the two statements (PostgreSQL reads each at its own instant):
            # resolved, or reassigned out of `list mine`, it is left out, as one query would.
            if record is not None and _still_matches(record, key, parameters):
                records.append(record)
        with self._lock:
            if key is None:  # every open ticket: forget those that are not any more
                self._records = {record.id: record for record in records}
            else:
                merged = {**self._records, **fresh}
                self._records = fresh if len(merged) > self._capacity else merged
        return records


def _still_matches(record: TicketRecord, key: str | None, parameters: dict[str, str]) -> bool:
    """Whether `record` is open and passes the read's filter (`_filter`)."""
    if record.status is TicketStatus.RESOLVED:
        return False
    return key is None or getattr(record, key) == parameters[key]


def tickets_by_id(session: Session, ids: Sequence[int]) -> list[TicketRecord]:
    """The tickets of `ids` (open or not; unknown ids are left out) by id, with their clocks
    and pauses ordered as in `open_tickets`."""
    connection = session.connection()
    tickets: list[Any] = []  # rows
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        chunk = {"ids": ordered[start : start + _CHUNK]}
        tickets.extend(connection.execute(_TICKETS_BY_ID, chunk).all())
    return _with_clocks_and_pauses(connection, tickets)


def _with_clocks_and_pauses(connection: Connection, tickets: Sequence[Any]) -> list[TicketRecord]:
    """Records of the ticket rows (by ascending id), their clocks and pauses read in chunks."""
    if not tickets:
        return []
    ids = [row[0] for row in tickets]
    clocks: defaultdict[int, list[ClockRecord]] = defaultdict(list)
    pauses: defaultdict[int, list[PauseRecord]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):  # ids ascend: each ticket's rows in one chunk
        chunk = {"ids": ids[start : start + _CHUNK]}
        for ticket_id, *values in connection.execute(_CLOCKS, chunk):
            clocks[ticket_id].append(ClockRecord(*values))
        for ticket_id, *values in connection.execute(_PAUSES, chunk):
            pauses[ticket_id].append(PauseRecord(*values))
    # By position: the statement selects the record's fields in order (`_columns`).
    return [TicketRecord(tuple(clocks[row[0]]), tuple(pauses[row[0]]), *row) for row in tickets]
