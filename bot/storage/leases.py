"""Leases: a named row held by one instance until it stops renewing it.

Taking or renewing is one conditional write (`UPDATE … WHERE holder = me OR expired`, else an
`INSERT … ON CONFLICT DO NOTHING`), so two instances racing for an expired lease cannot both win:
the database serialises the writes and only one sees its row change. Works on SQLite and
PostgreSQL alike.
"""

from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from bot.storage.database import insert_new
from bot.storage.models import Lease


def mark_lease_held(
    session: Session,
    name: str,
    *,
    holder: str,
    now: datetime,
    ttl: timedelta,
    succeeds: str | None = None,
) -> bool:
    """Take or renew lease `name` for `holder` until `now + ttl`; False if another holds it.
    `succeeds`, a holder's name or its prefix before `#`: its lease is taken even unexpired
    (the holder was an earlier process of this one's instance, which restarted)."""
    expires_at = now + ttl
    takes = [Lease.holder == holder, Lease.expires_at < now]
    if succeeds is not None:
        takes += [
            Lease.holder == succeeds,
            Lease.holder.startswith(f"{succeeds}#", autoescape=True),
        ]
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(*takes))
        .values(
            holder=holder,
            # A renewal keeps its start; a takeover starts a new term.
            acquired_at=case((Lease.holder == holder, Lease.acquired_at), else_=now),
            expires_at=expires_at,
        )
        .returning(Lease.name)
    ).scalar_one_or_none()
    if renewed is not None:
        return True
    created = session.execute(
        insert_new(session, Lease, unique=("name",), returning="name"),
        {"name": name, "holder": holder, "acquired_at": now, "expires_at": expires_at},
    ).scalar_one_or_none()
    return created is not None


def mark_lease_released(session: Session, name: str, *, holder: str) -> bool:
    """Give lease `name` up at once (a clean stop); False if `holder` did not hold it."""
    result = session.execute(
        delete(Lease).where(Lease.name == name, Lease.holder == holder).returning(Lease.name)
    ).scalar_one_or_none()
    return result is not None


def get_lease(session: Session, name: str) -> Lease | None:
    """The lease row called `name`, expired or not."""
    return session.scalars(select(Lease).where(Lease.name == name)).one_or_none()
