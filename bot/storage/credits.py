"""The credit ledger: one row per breached clock, moving eligible → requested → granted|declined."""

from datetime import datetime

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
