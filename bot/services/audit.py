"""The audit trail: append-only evidence of every act that touches a ticket or a clock."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.database import insert_returning
from bot.storage.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts, and the command as they typed it (kept as evidence)."""

    user_id: str
    command: str | None = None


SYSTEM = Actor("system")


def add_audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    at: datetime,
    ticket_id: int | None = None,
    server_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one event, at once; its id (the key of the thread post that tells it).

    The session's pending changes are not flushed first: the event names its ticket by id,
    which the ticket has only once inserted, so its row exists, and its other changes go in
    the next flush (the commit's, or a query's), in one UPDATE with any made after this."""
    values = {
        "at": at,
        "actor_id": actor.user_id,
        "action": action,
        "ticket_id": ticket_id,
        "server_id": server_id,
        "command": actor.command,
        "details": details or {},
    }
    return int(session.execute(insert_returning(AuditEvent, "id"), values).scalar_one())


def list_ticket_audit(session: Session, ticket_id: int) -> list[AuditEvent]:
    """A ticket's events in the order they happened."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.ticket_id == ticket_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
