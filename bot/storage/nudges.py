"""What a ticket's update nudges are planned from, besides the ticket: its client updates (from
the audit trail) and its `/intervention snooze` requests; and its reassignments, which say who
held it when each nudge was queued (only those queued to its assignee count towards
escalation)."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import bindparam, select
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


_REASSIGNMENTS = (
    select(AuditEvent.at, AuditEvent.details)
    .where(AuditEvent.ticket_id == bindparam("ticket_id"), AuditEvent.action == "ticket.reassigned")
    .order_by(AuditEvent.at, AuditEvent.id)
)


class Reassignment(NamedTuple):
    """`/intervention reassign`: at `at`, the ticket went from `previous` to `assignee`."""

    at: datetime
    previous: str | None
    assignee: str


def list_reassignments(session: Session, ticket_id: int) -> list[Reassignment]:
    """The ticket's reassignments, in order (from the audit trail)."""
    return [
        Reassignment(at, details.get("from"), details["to"])
        for at, details in session.execute(_REASSIGNMENTS, {"ticket_id": ticket_id})
    ]


def holder_at(
    reassignments: Sequence[Reassignment], at: datetime, assignee: str | None
) -> str | None:
    """Who held a ticket now held by `assignee` at `at`, by its `reassignments`: the one the
    last reassignment at or before `at` gave it to, else the one the first took it from."""
    if not reassignments:
        return assignee
    holder = reassignments[0].previous
    for reassignment in reassignments:
        if reassignment.at > at:
            break
        holder = reassignment.assignee
    return holder


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
