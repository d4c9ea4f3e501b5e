"""Tickets with their clocks and pauses, read as plain rows: the open ones for `list` and
`/sla status`, any by id for the reminders sweep's plan.

Three Core queries and frozen records: loading ORM objects (identity map, change tracking)
took about a third of those commands' CPU, and nothing read here is ever written back.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
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

    @property
    def ref(self) -> str:
        return f"INT-{self.id}"


def _columns(entity: Any, record: type[Any]) -> list[Any]:
    """The entity's columns named like the record's stored fields, in the record's order."""
    return [getattr(entity, f.name) for f in fields(record) if f.name not in ("clocks", "pauses")]


_TICKETS = (
    select(*_columns(Ticket, TicketRecord))
    .where(Ticket.status.in_(OPEN_STATUSES))  # IN, not !=: it uses the index
    .order_by(Ticket.id)
)
_TICKETS_OF_CLIENT = _TICKETS.where(Ticket.client_id == bindparam("client_id"))
_TICKETS_ON_SERVER = _TICKETS.where(Ticket.server_id == bindparam("server_id"))
_TICKETS_OF_ASSIGNEE = _TICKETS.where(Ticket.assignee_id == bindparam("assignee_id"))
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
    if client_id is not None:
        tickets = connection.execute(_TICKETS_OF_CLIENT, {"client_id": client_id}).all()
    elif server_id is not None:
        tickets = connection.execute(_TICKETS_ON_SERVER, {"server_id": server_id}).all()
    elif assignee_id is not None:
        tickets = connection.execute(_TICKETS_OF_ASSIGNEE, {"assignee_id": assignee_id}).all()
    else:
        tickets = connection.execute(_TICKETS).all()
    return _with_clocks_and_pauses(connection, tickets)


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
