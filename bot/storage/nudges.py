"""What a ticket's update nudges are planned from, besides the ticket: its client updates (from
the audit trail) and its `/intervention snooze` requests; and when it was last reassigned,
since which its nudges count towards escalation."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot.sla import Snooze
from bot.storage.models import AuditEvent, TicketSnooze

_UPDATES_OF_TICKETS = (
    select(AuditEvent.ticket_id, AuditEvent.at)
    .where(
        AuditEvent.ticket_id.in_(bindparam("ids", expanding=True)),
        AuditEvent.action == bindparam("action"),
    )
    .order_by(AuditEvent.at, AuditEvent.id)
)
_SNOOZES_OF_TICKETS = (
    select(TicketSnooze.ticket_id, TicketSnooze.requested_at, TicketSnooze.until)
    .where(TicketSnooze.ticket_id.in_(bindparam("ids", expanding=True)))
    .order_by(TicketSnooze.requested_at, TicketSnooze.id)
)


_LAST_REASSIGNED = select(func.max(AuditEvent.at)).where(
    AuditEvent.ticket_id == bindparam("ticket_id"), AuditEvent.action == "ticket.reassigned"
)


def last_reassigned_at(session: Session, ticket_id: int) -> datetime | None:
    """When the ticket was last given to another technician (None: never)."""
    return session.scalar(_LAST_REASSIGNED, {"ticket_id": ticket_id})


def list_updates(session: Session, ticket_id: int) -> list[datetime]:
    """When client updates were recorded for a ticket (from the audit trail)."""
    return updates_by_ticket(session, [ticket_id])[ticket_id]


def updates_by_ticket(
    session: Session, ticket_ids: Sequence[int]
) -> defaultdict[int, list[datetime]]:
    """When client updates were recorded for each of several tickets, in order."""
    rows = session.execute(
        _UPDATES_OF_TICKETS, {"ids": list(ticket_ids), "action": "ticket.updated"}
    )
    updates: defaultdict[int, list[datetime]] = defaultdict(list)
    for ticket_id, at in rows:
        updates[cast(int, ticket_id)].append(at)  # not NULL: the IN list matched it
    return updates


def snoozes_by_ticket(
    session: Session, ticket_ids: Sequence[int]
) -> defaultdict[int, list[Snooze]]:
    """The `/intervention snooze` requests of each of several tickets, in order."""
    snoozes: defaultdict[int, list[Snooze]] = defaultdict(list)
    for ticket_id, requested_at, until in session.execute(
        _SNOOZES_OF_TICKETS, {"ids": list(ticket_ids)}
    ):
        snoozes[ticket_id].append(Snooze(requested_at, until))
    return snoozes


def list_snoozes(session: Session, ticket_id: int) -> list[Snooze]:
    """The ticket's `/intervention snooze` requests."""
    return snoozes_by_ticket(session, [ticket_id])[ticket_id]
