"""Mirror the catalog's clients and servers into the database, keeping removed ones."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Catalog, CatalogError, Problem
from bot.storage.models import Client, ClientTerms, Server, ServerMove
from bot.storage.models import Clock as ClockRow


@dataclass(frozen=True)
class SyncReport:
    added: list[str]
    removed: list[str]
    restored: list[str]
    moved: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # clients with new terms (level, fee)


def missing_references(session: Session, catalog: Catalog) -> list[Problem]:
    """The calendars stored clocks run on, and the levels of clients' terms, that the catalog
    no longer has: their tickets' deadlines are computed on those calendars, and the reports
    of the months those terms were in force read the level's allowance, by name."""
    calendars = session.execute(
        select(ClockRow.calendar, func.count(ClockRow.ticket_id.distinct()))
        .where(ClockRow.calendar.not_in(sorted(catalog.calendars)))
        .group_by(ClockRow.calendar)
        .order_by(ClockRow.calendar)
    )
    levels = session.execute(
        select(ClientTerms.level, func.count(ClientTerms.client_id.distinct()))
        .where(ClientTerms.level.not_in(sorted(catalog.levels)))
        .group_by(ClientTerms.level)
        .order_by(ClientTerms.level)
    )
    return [
        *(
            Problem(
                f"calendars.{name}",
                f"missing, but the clocks of {count} ticket(s) run on it: keep it under this "
                "name (their deadlines and reports are computed on it)",
            )
            for name, count in calendars
        ),
        *(
            Problem(
                f"levels.{name}",
                f"missing, but {count} client(s) had it: keep it under this name (the reports "
                "of those months read its allowance)",
            )
            for name, count in levels
        ),
    ]


def sync_catalog(session: Session, catalog: Catalog, *, now: datetime) -> SyncReport:
    """Upsert clients and servers; rows gone from the catalog get `removed_at`, never deleted;
    a server given to another client is recorded as moved (its reports before stay its first
    client's), and a client's new level or fee as terms in force from `now` (the months before
    keep theirs). CatalogError if the catalog lost a calendar that stored clocks run on, or a
    level of clients' terms."""
    problems = missing_references(session, catalog)
    if problems:
        raise CatalogError("catalog", problems)
    added: list[str] = []
    moved: list[str] = []
    changed: list[str] = []
    terms: list[ClientTerms] = []
    removed: list[str] = []
    restored: list[str] = []
    clients = {c.id: c for c in session.scalars(select(Client))}
    for spec in catalog.clients:
        row = clients.get(spec.id)
        fee = catalog.monthly_fee(spec.id)
        if row is None:
            row = Client(id=spec.id, added_at=now)
            session.add(row)
            added.append(f"client {spec.id}")
        elif row.removed_at is not None:
            row.removed_at = None
            restored.append(f"client {spec.id}")
        if row.level != spec.level or row.monthly_fee != fee:  # new terms from now on
            if row.level is not None:
                changed.append(
                    f"client {spec.id}: {row.level} {row.monthly_fee:g} -> {spec.level} {fee:g}"
                )
            terms.append(
                ClientTerms(client_id=spec.id, level=spec.level, monthly_fee=fee, since=now)
            )
        row.name, row.level, row.monthly_fee = spec.name, spec.level, fee
    session.flush()
    session.add_all(terms)
    servers = {s.id: s for s in session.scalars(select(Server))}
    for server_spec in catalog.servers:
        server = servers.get(server_spec.id)
        if server is None:
            server = Server(id=server_spec.id, added_at=now)
            session.add(server)
            added.append(f"server {server_spec.id}")
        elif server.removed_at is not None:
            server.removed_at = None
            restored.append(f"server {server_spec.id}")
        if server.client_id is not None and server.client_id != server_spec.client:
            session.add(
                ServerMove(
                    server_id=server.id,
                    from_client_id=server.client_id,
                    to_client_id=server_spec.client,
                    at=now,
                )
            )
            moved.append(f"server {server.id}: {server.client_id} -> {server_spec.client}")
        server.client_id, server.host = server_spec.client, server_spec.host
    wanted_servers = {s.id for s in catalog.servers}
    for server in servers.values():
        if server.id not in wanted_servers and server.removed_at is None:
            server.removed_at = now
            removed.append(f"server {server.id}")
    wanted_clients = {c.id for c in catalog.clients}
    for client in clients.values():
        if client.id not in wanted_clients and client.removed_at is None:
            client.removed_at = now
            removed.append(f"client {client.id}")
    session.flush()
    return SyncReport(added, removed, restored, moved, changed)
