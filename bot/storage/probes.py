"""Probe states, outages and hourly rollups: the repository functions of the probe engine."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    CompoundSelect,
    bindparam,
    case,
    delete,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from bot.probes.rollup import Rollup
from bot.probes.state import StreakState
from bot.storage.database import upsert
from bot.storage.models import Outage, ProbeRollup, ProbeState, Silence


def list_probe_states(
    session: Session, keys: Iterable[str] | None = None
) -> dict[str, StreakState]:
    """Persisted probe states by key (all of them, or only `keys`)."""
    query = select(ProbeState)
    if keys is not None:
        query = query.where(ProbeState.key.in_(list(keys)))
    return {row.key: _to_state(row) for row in session.scalars(query)}


def get_probe_state(session: Session, key: str) -> StreakState | None:
    """One persisted probe state, or None if the probe never reported."""
    row = session.get(ProbeState, key)
    return None if row is None else _to_state(row)


def save_probe_state(session: Session, server_id: str, state: StreakState) -> None:
    """Insert or update one probe's state."""
    save_probe_states(session, [(server_id, state)])


def save_probe_states(session: Session, states: Sequence[tuple[str, StreakState]]) -> None:
    """Insert or update many probe states in one statement: (server_id, state) pairs."""
    if not states:
        return
    rows = [_to_row(server_id, state) for server_id, state in states]
    statement = upsert(session, ProbeState)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[ProbeState.key],
        set_={name: excluded[name] for name in rows[0] if name != "key"},
    )
    session.execute(statement, rows)


def _to_row(server_id: str, state: StreakState) -> dict[str, Any]:
    return {
        "key": state.key,
        "server_id": server_id,
        "status": state.status,
        "failures": state.failures,
        "successes": state.successes,
        "streak_started_at": state.streak_started_at,
        "last_checked_at": state.last_checked_at,
        "last_error": state.last_error,
        "changed_at": state.changed_at,
    }


def _to_state(row: ProbeState) -> StreakState:
    return StreakState(
        key=row.key,
        status=row.status,
        failures=row.failures,
        successes=row.successes,
        streak_started_at=row.streak_started_at,
        last_checked_at=row.last_checked_at,
        last_error=row.last_error,
        changed_at=row.changed_at,
    )


def get_open_outage(session: Session, server_id: str) -> Outage | None:
    """The server's outage that has not ended, if any."""
    return session.scalars(
        select(Outage)
        .where(Outage.server_id == server_id, Outage.ended_at.is_(None))
        .order_by(Outage.started_at.desc())
        .limit(1)
    ).first()


def list_open_outages(session: Session) -> list[Outage]:
    """Every outage that has not ended, oldest first."""
    return list(
        session.scalars(select(Outage).where(Outage.ended_at.is_(None)).order_by(Outage.id))
    )


class DownServer(NamedTuple):
    """A server's open outage, as `/sla status` names it."""

    server_id: str
    started_at: datetime
    acknowledged_by: str | None


class SilenceInForce(NamedTuple):
    """A silence in force on a server: until when, and why."""

    server_id: str
    ends_at: datetime
    reason: str


class SilenceEnded(NamedTuple):
    """A silence over by now: which one, and when it ended."""

    id: int
    server_id: str
    ends_at: datetime


class Monitoring(NamedTuple):
    """What `/sla status` says of servers before their tickets."""

    down: list[DownServer]  # open outages, oldest first
    silenced: list[SilenceInForce]  # of each server silenced, the silence that ends last


# Built once, read as plain rows: `/sla status` runs them on the commands' hot path, where
# building a statement costs about as much as running it (bench/bench_commands.py).
_SILENCED_AT_NOW = (
    Silence.server_id.in_(bindparam("server_ids", expanding=True)),
    Silence.starts_at <= bindparam("now"),
    Silence.ends_at > bindparam("now"),
)
_SILENCES_IN_FORCE = (
    select(Silence.server_id, Silence.ends_at, Silence.reason)
    .where(*_SILENCED_AT_NOW)
    .order_by(Silence.ends_at, Silence.id)
)
# The servers down and those silenced in one statement, which costs about as much as one of
# them alone: a row is an open outage (`what` 0: its start, who acknowledged it) or a silence
# in force (`what` 1: its end, its reason). Typed by row as Any: its halves' columns differ.
_DOWN_OR_SILENCED: CompoundSelect[*tuple[Any, ...]] = union_all(
    select(
        literal_column("0").label("what"),
        Outage.server_id,
        Outage.started_at.label("at"),
        Outage.acknowledged_by.label("detail"),
        Outage.id,
    ).where(
        Outage.server_id.in_(bindparam("server_ids", expanding=True)),
        Outage.ended_at.is_(None),
    ),
    select(
        literal_column("1"), Silence.server_id, Silence.ends_at, Silence.reason, Silence.id
    ).where(*_SILENCED_AT_NOW),
).order_by(literal_column("what"), literal_column("at"), literal_column("id"))
_SILENCES_ENDED = (
    select(Silence.id, Silence.server_id, Silence.ends_at)
    .where(
        Silence.server_id.in_(bindparam("server_ids", expanding=True)),
        Silence.ends_at > bindparam("after"),
        Silence.ends_at <= bindparam("now"),
    )
    .order_by(Silence.ends_at, Silence.id)
)


def servers_down_and_silenced(
    session: Session, server_ids: Iterable[str], now: datetime
) -> Monitoring:
    """Of the servers of `server_ids`, the open outages and the silences in force at `now`."""
    wanted = sorted(set(server_ids))
    if not wanted:
        return Monitoring([], [])
    down: list[DownServer] = []
    silenced: dict[str, SilenceInForce] = {}
    rows = session.connection().execute(_DOWN_OR_SILENCED, {"server_ids": wanted, "now": now})
    for what, server_id, at, detail, _ in rows:
        if what == 0:
            down.append(DownServer(server_id, at, detail))
        else:
            silenced[server_id] = SilenceInForce(server_id, at, detail)  # the last ending wins
    return Monitoring(down, list(silenced.values()))


def silences_in_force(
    session: Session, server_ids: Iterable[str], now: datetime
) -> dict[str, SilenceInForce]:
    """Of the servers of `server_ids` silenced at `now`, each one's silence that ends last."""
    wanted = sorted(set(server_ids))
    if not wanted:
        return {}
    rows = session.connection().execute(_SILENCES_IN_FORCE, {"server_ids": wanted, "now": now})
    return {row.server_id: SilenceInForce(*row) for row in rows}  # the last one ending wins


def silences_ended(
    session: Session, server_ids: Iterable[str], *, after: datetime, now: datetime
) -> dict[str, SilenceEnded]:
    """Of the servers of `server_ids`, each one's silence that ended last between `after`
    (excluded) and `now`."""
    wanted = sorted(set(server_ids))
    if not wanted:
        return {}
    parameters = {"server_ids": wanted, "after": after, "now": now}
    rows = session.connection().execute(_SILENCES_ENDED, parameters)
    return {row.server_id: SilenceEnded(*row) for row in rows}  # the last one ending wins


def add_outage(
    session: Session, server_id: str, *, started_at: datetime, confirmed_at: datetime
) -> Outage:
    """Open an outage; if one is already open for the server, return it unchanged."""
    existing = get_open_outage(session, server_id)
    if existing is not None:
        return existing
    outage = Outage(server_id=server_id, started_at=started_at, confirmed_at=confirmed_at)
    session.add(outage)
    session.flush()
    return outage


def close_outage(session: Session, server_id: str, *, ended_at: datetime) -> Outage | None:
    """End the server's open outage at `ended_at`; None if none was open."""
    outage = get_open_outage(session, server_id)
    if outage is None:
        return None
    outage.ended_at = ended_at
    session.flush()
    return outage


def save_rollups(session: Session, rollups: Sequence[Rollup]) -> None:
    """Upsert hourly rollups; a second write for the same hour (after a restart) is merged.

    Counts add up; percentiles of the two parts are averaged, weighted by count (approximate).
    """
    if not rollups:
        return
    statement = upsert(session, ProbeRollup)
    new, old = statement.excluded, ProbeRollup.__table__.c
    total = old.count + new["count"]
    statement = statement.on_conflict_do_update(
        index_elements=[ProbeRollup.key, ProbeRollup.hour_start],
        set_={
            "count": total,
            "failures": old.failures + new["failures"],
            "p50_ms": _weighted(old.p50_ms, old.count, new["p50_ms"], new["count"], total),
            "p95_ms": _weighted(old.p95_ms, old.count, new["p95_ms"], new["count"], total),
        },
    )
    session.execute(
        statement,
        [
            {
                "key": r.key,
                "hour_start": r.hour_start,
                "count": r.count,
                "failures": r.failures,
                "p50_ms": r.p50_ms,
                "p95_ms": r.p95_ms,
            }
            for r in rollups
        ],
    )


def _weighted(old: Any, old_count: Any, new: Any, new_count: Any, total: Any) -> Any:
    return case(
        (old.is_(None), new),
        (new.is_(None), old),
        else_=(old * old_count + new * new_count) / total,
    )


def list_rollups(
    session: Session, key: str | None = None, *, since: datetime | None = None
) -> list[ProbeRollup]:
    """Rollup rows, by key then hour."""
    query = select(ProbeRollup).order_by(ProbeRollup.key, ProbeRollup.hour_start)
    if key is not None:
        query = query.where(ProbeRollup.key == key)
    if since is not None:
        query = query.where(ProbeRollup.hour_start >= since)
    return list(session.scalars(query))


def delete_rollups_before(session: Session, before: datetime, *, limit: int | None = None) -> int:
    """Delete rollups of hours starting before `before` (retention), the `limit` oldest of them
    if given; return how many."""
    doomed = ProbeRollup.hour_start < before
    if limit is not None:
        oldest = (
            select(ProbeRollup.key, ProbeRollup.hour_start)
            .where(doomed)
            .order_by(ProbeRollup.hour_start)
            .limit(limit)
        )
        doomed = tuple_(ProbeRollup.key, ProbeRollup.hour_start).in_(oldest)
    result = session.execute(delete(ProbeRollup).where(doomed))
    return int(getattr(result, "rowcount", 0) or 0)
