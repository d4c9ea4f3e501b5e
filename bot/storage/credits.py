"""The credit ledger: one row per breached clock, moving eligible → requested → granted|declined."""

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.storage.database import insert_new
from bot.storage.models import Credit, CreditState


def mark_eligible(
    session: Session,
    *,
    ticket_id: int,
    clock: str,
    client_id: str,
    breached_at: datetime,
    now: datetime,
    by: str,
) -> bool:
    """Record that a clock breached (idempotent); True if this call created the credit."""
    statement = insert_new(session, Credit, unique=("ticket_id", "clock"), returning="id")
    values = {
        "ticket_id": ticket_id,
        "clock": clock,
        "client_id": client_id,
        "breached_at": breached_at,
        "state": CreditState.ELIGIBLE,
        "updated_at": now,
        "updated_by": by,
    }
    return session.execute(statement, values).scalar_one_or_none() is not None


def withdraw_eligible(session: Session, *, ticket_id: int, clock: str) -> bool:
    """Delete a clock's credit that nobody has requested yet, recorded for a breach that turned
    out not to be one; True if there was one."""
    result = session.execute(
        delete(Credit).where(
            Credit.ticket_id == ticket_id,
            Credit.clock == clock,
            Credit.state == CreditState.ELIGIBLE,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_announced(session: Session, *, ticket_id: int, clock: str, at: datetime) -> None:
    """Record that the breach of a clock, its credit recorded, was announced at `at`."""
    session.execute(
        update(Credit)
        .where(Credit.ticket_id == ticket_id, Credit.clock == clock, Credit.announced_at.is_(None))
        .values(announced_at=at)
        .execution_options(synchronize_session=False)
    )


def unannounced(session: Session) -> list[tuple[int, str]]:
    """The (ticket, clock) of each breach whose credit is recorded but not yet announced
    (through the partial index `ix_credits_unannounced`: never the years of credits
    announced)."""
    rows = session.execute(
        select(Credit.ticket_id, Credit.clock).where(Credit.announced_at.is_(None))
    )
    return [(ticket_id, clock) for ticket_id, clock in rows]
