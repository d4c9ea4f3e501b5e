"""Inbound de-duplication: each Slack event, action or trigger is processed once."""

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.storage.database import insert_new
from bot.storage.models import InboundEvent


def mark_received(session: Session, key: str, *, now: datetime) -> bool:
    """Record `key`; False means it was seen before (a retry or a redelivery)."""
    statement = insert_new(session, InboundEvent, unique=("key",), returning="key")
    # RETURNING, not rowcount: psycopg reports no rowcount for INSERT … ON CONFLICT DO NOTHING.
    values = {"key": key, "received_at": now}
    return session.execute(statement, values).scalar_one_or_none() is not None


def prune_received(session: Session, *, before: datetime) -> int:
    """Forget keys older than `before` (Slack retries for minutes, not days)."""
    result = session.execute(delete(InboundEvent).where(InboundEvent.received_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
