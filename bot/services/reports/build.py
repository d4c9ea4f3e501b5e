"""Building a month report from the database (figures through bot.sla).

A report is read as of `now` (docs/reports.md): what happened after it is left out, so that a
CLI report `--as-of` an earlier instant is the report as it stood then. With the real clock,
every recorded instant is before `now` and these cuts leave everything in.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.config import Catalog
from bot.errors import UserFacingError
from bot.messages import Messages
from bot.services.reports.values import (
    ClientReport,
    ClockLine,
    CreditLine,
    MonthReport,
    OutageLine,
    PauseLine,
    ServerAvailability,
    TicketLine,
)
from bot.services.views import clock_views, sla_clock
from bot.sla import (
    Breach,
    ClockKind,
    ClockState,
    Intervention,
    TicketKind,
    allowance_usage,
    month_bounds,
    month_credits,
    month_of,
    to_cents,
)
from bot.slack.render import known_names
from bot.storage.models import (
    AuditEvent,
    Client,
    ClientTerms,
    CreditState,
    Outage,
    ProbeRollup,
    ProbeState,
    Scope,
    Server,
    ServerMove,
    Ticket,
    TicketStatus,
)
from bot.storage.models import Clock as ClockRow
from bot.storage.models import Credit as CreditRow
from bot.storage.open_tickets import ClockRecord

# Building --------------------------------------------------------------------------------------


def find_client(session: Session, text: str, messages: Messages) -> str:
    """The id of the client called `text` (case-insensitive, removed ones included); else a
    refusal naming the nearest ones."""
    ids = list(session.scalars(select(Client.id).order_by(Client.id)))
    for client_id in ids:
        if client_id.lower() == text.lower():
            return client_id
    known = known_names(ids, text, messages)
    raise UserFacingError("report.unknown_client", value=text[:64], known=known)


def build_month_report(
    session: Session,
    catalog: Catalog,
    year: int,
    month: int,
    *,
    now: datetime,
    client_id: str | None = None,
) -> MonthReport:
    """The report of one month (all clients, or one), as read at `now`."""
    zone = catalog.zone
    start, end = month_bounds(year, month, zone)
    query = select(Client).order_by(Client.id)
    credits = _CreditBook(session, catalog, now)
    if client_id is not None:
        rows = list(session.scalars(query.where(Client.id == client_id)))
    else:
        rows = list(session.scalars(query.where(_client_in(start, end, now))))
        removed = session.scalars(
            query.where(Client.removed_at < start, Client.id.not_in([row.id for row in rows]))
        )
        rows += _owed_after_leaving(credits, removed, year, month, start, now)
        rows.sort(key=lambda row: row.id)
    clients = tuple(
        _client_report(session, catalog, row, year, month, now, credits) for row in rows
    )
    return MonthReport(
        year=year,
        month=month,
        zone=zone,
        starts_at=start,
        ends_at=end,
        generated_at=now,
        credit_rate=catalog.policy.credit_rate,
        credit_cap=catalog.policy.credit_cap,
        clients=clients,
    )


def was_client(
    session: Session, catalog: Catalog, client_id: str, year: int, month: int, *, now: datetime
) -> bool:
    """Whether the report of all clients of the month, read at `now`, lists `client_id`."""
    start, end = month_bounds(year, month, catalog.zone)
    listed = select(Client.id).where(Client.id == client_id, _client_in(start, end, now))
    if session.scalar(listed) is not None:
        return True
    book = _CreditBook(session, catalog, now)
    client = session.get(Client, client_id)
    return bool(_owed_after_leaving(book, [client] if client else [], year, month, start, now))


def _client_in(start: datetime, end: datetime, now: datetime) -> ColumnElement[bool]:
    """The clients of the catalog during [start, end) (not those added after it: a new
    installation has no report of the month before), and any with a call in it (those removed
    before it with a credit in it are added by `_owed_after_leaving`)."""
    called = select(Ticket.client_id).where(
        Ticket.called_at >= start, Ticket.called_at < end, Ticket.registered_at <= now
    )
    present = or_(Client.removed_at.is_(None), Client.removed_at >= start)
    return or_(and_(Client.added_at < end, Client.added_at <= now, present), Client.id.in_(called))


def _owed_after_leaving(
    book: "_CreditBook",
    candidates: Iterable[Client],
    year: int,
    month: int,
    start: datetime,
    now: datetime,
) -> list[Client]:
    """The `candidates` removed from the catalog before the month (as read at `now`) that have a
    credit in it (a breach due in the month, of a ticket called before they left): a credit owed
    never drops out of the month's report with its client."""
    return [
        row
        for row in candidates
        if row.removed_at is not None
        and row.removed_at < start
        and row.removed_at <= now
        and book.month(row.id, year, month)
    ]


def month_credit_lines(
    session: Session, catalog: Catalog, client_id: str, year: int, month: int, *, now: datetime
) -> list[CreditLine]:
    """The credits of a client's breaches whose deadline falls in the month, cap applied."""
    return _CreditBook(session, catalog, now).month(client_id, year, month)


def credit_line(
    session: Session,
    catalog: Catalog,
    *,
    ticket_id: int,
    client_id: str,
    clock: str,
    breached_at: datetime,
    now: datetime,
) -> CreditLine | None:
    """The credit of one breach as its month's report prices it; None if the ledger has none."""
    year, month = month_of(breached_at, catalog.zone)
    return next(
        (
            line
            for line in month_credit_lines(session, catalog, client_id, year, month, now=now)
            if line.ticket_id == ticket_id and line.clock.value == clock
        ),
        None,
    )


class _CreditBook:
    """Credit lines by (client, month), computed once each within one report."""

    def __init__(self, session: Session, catalog: Catalog, now: datetime) -> None:
        self._session = session
        self._catalog = catalog
        self._now = now
        self._months: dict[tuple[str, int, int], list[CreditLine]] = {}

    def month(self, client_id: str, year: int, month: int) -> list[CreditLine]:
        key = (client_id, year, month)
        if key not in self._months:
            self._months[key] = self._compute(client_id, year, month)
        return self._months[key]

    def of_ticket(self, ticket: "_TicketAt") -> list[CreditLine]:
        """The credits of a ticket's breaches, each from the month of its deadline: those of its
        breached clocks, and those the ledger keeps of a clock withdrawn since (a declined
        credit stays when the request is then quoted as out of scope, and counts in its month)."""
        lines: list[CreditLine] = []
        breaches = _ticket_breaches(self._session, ticket, self._catalog, self._now)
        for kind, deadline in sorted(breaches.items(), key=lambda item: item[1]):
            year, month = month_of(deadline, self._catalog.zone)
            lines += [
                line
                for line in self.month(ticket.client_id, year, month)
                if line.ticket_id == ticket.id and line.clock.value == kind
            ]
        return lines

    def _compute(self, client_id: str, year: int, month: int) -> list[CreditLine]:
        session, catalog, now = self._session, self._catalog, self._now
        zone = catalog.zone
        start, end = month_bounds(year, month, zone)
        registered = select(Ticket.id).where(
            Ticket.client_id == client_id, Ticket.registered_at <= now
        )
        candidates = (
            select(ClockRow.ticket_id)
            .join(Ticket, Ticket.id == ClockRow.ticket_id)
            .where(
                Ticket.client_id == client_id,
                Ticket.registered_at <= now,
                ClockRow.started_at < end,
                ClockRow.started_at <= now,
                or_(ClockRow.stopped_at.is_(None), ClockRow.stopped_at > start),
            )
        )
        ledger = {
            (row.ticket_id, row.clock): row
            for row in session.scalars(
                select(CreditRow).where(
                    CreditRow.client_id == client_id,
                    CreditRow.ticket_id.in_(registered),
                    CreditRow.breached_at < now,  # a deadline still ahead was not missed yet
                    or_(
                        CreditRow.ticket_id.in_(candidates),
                        (CreditRow.breached_at >= start) & (CreditRow.breached_at < end),
                    ),
                )
            )
        }
        states = _credit_states_at(session, ledger.values(), now)
        settled = _settled_amounts(session, states, now)
        ticket_ids = set(session.scalars(candidates)) | {tid for tid, _ in ledger}
        breaches: dict[tuple[int, str], datetime] = {}
        for ticket in _load_tickets(session, ticket_ids, now):
            for clock_row in ticket.clocks:
                status = sla_clock(clock_row, ticket.pauses, catalog).status(now)
                if status.state is ClockState.BREACHED:
                    breaches[(ticket.id, clock_row.kind)] = status.deadline
        for key, stored_row in ledger.items():
            breaches[key] = stored_row.breached_at  # the recorded deadline is the evidence
        in_month = {k: at for k, at in breaches.items() if start <= at < end}
        terms = _terms(session, client_id, end, now)
        fee = Decimal(str(terms.monthly_fee)) if terms is not None else Decimal(0)
        opened = _registrations(session, client_id, {tid for tid, _ in in_month})
        priced = month_credits(
            [
                Breach(
                    at,
                    f"INT-{tid}",
                    ClockKind(kind),
                    opened[tid].fee if tid in opened else None,
                    opened[tid].registered_at if tid in opened else None,
                    settled.get((tid, kind)),
                )
                for (tid, kind), at in in_month.items()
            ],
            year,
            month,
            zone,
            fee,
            catalog.policy,
        )
        lines: list[CreditLine] = []
        for credit in priced:
            ticket_id = int(credit.breach.ticket_ref.removeprefix("INT-"))
            kind = credit.breach.clock_kind
            lines.append(
                CreditLine(
                    ticket_id=ticket_id,
                    clock=kind,
                    breached_at=credit.breach.breached_at,
                    year=year,
                    month=month,
                    state=states.get((ticket_id, kind.value), CreditState.ELIGIBLE),
                    amount=credit.amount,
                    full_amount=credit.full_amount,
                    cap=credit.cap,
                    taken=credit.taken,
                )
            )
        return lines


def _ticket_breaches(
    session: Session, ticket: "_TicketAt", catalog: Catalog, now: datetime
) -> dict[str, datetime]:
    """The deadlines a ticket missed by `now`, by clock: as recorded in the ledger (the
    evidence, kept for a clock withdrawn since), else as its clock reads at `now`."""
    breaches: dict[str, datetime] = {
        kind: at
        for kind, at in session.execute(
            select(CreditRow.clock, CreditRow.breached_at).where(
                CreditRow.ticket_id == ticket.id, CreditRow.breached_at < now
            )
        )
    }
    for row in ticket.clocks:
        if row.kind not in breaches:
            status = sla_clock(row, ticket.pauses, catalog).status(now)
            if status.state is ClockState.BREACHED:
                breaches[row.kind] = status.deadline
    return breaches


def _load_tickets(session: Session, ids: Iterable[int], now: datetime) -> list["_TicketAt"]:
    """The tickets among `ids` registered by `now`, as they stood at `now`."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(wanted), Ticket.registered_at <= now)
            .options(selectinload(Ticket.clocks), selectinload(Ticket.pauses))
            .order_by(Ticket.id)
        )
    )
    settled_later = _settled_after(session, [t.id for t in tickets if t.scope in SETTLED], now)
    return [_ticket_at(ticket, now, settled_later) for ticket in tickets]


# As of an instant ------------------------------------------------------------------------------

SETTLED = (Scope.QUOTED, Scope.REFUSED)  # out-of-scope tickets that were pending before
CREDIT_MOVES = tuple(f"credit.{state.value}" for state in CreditState)
SETTLED_CREDITS = (CreditState.GRANTED, CreditState.DECLINED)


@dataclass(frozen=True)
class _PauseAt:
    """A wait as it stood at one instant (open if it ended later)."""

    started_at: datetime
    ended_at: datetime | None
    reason: str


@dataclass(frozen=True)
class _TicketAt:
    """What the report reads of a ticket, as it stood at one instant."""

    id: int
    client_id: str
    kind: str
    server_id: str | None
    scope: Scope
    status: TicketStatus
    called_at: datetime
    resolved_at: datetime | None
    clocks: tuple[ClockRecord, ...]  # as it stood: running if it stopped later
    pauses: tuple[_PauseAt, ...]


def _ticket_at(ticket: Ticket, now: datetime, settled_later: set[int]) -> _TicketAt:
    """The ticket at `now`: clocks and waits begun by then, a stop or an end after it undone,
    not resolved before its resolution, still pending before its quote or refusal."""
    pauses = tuple(
        _PauseAt(p.started_at, p.ended_at if _by(p.ended_at, now) else None, p.reason)
        for p in ticket.pauses
        if p.started_at <= now
    )
    clocks = tuple(
        ClockRecord(
            kind=c.kind,
            budget_seconds=c.budget_seconds,
            calendar=c.calendar,
            started_at=c.started_at,
            stopped_at=c.stopped_at if _by(c.stopped_at, now) else None,
            stopped_by=c.stopped_by if _by(c.stopped_at, now) else None,
        )
        for c in ticket.clocks
        if c.started_at <= now
    )
    resolved_at = ticket.resolved_at if _by(ticket.resolved_at, now) else None
    if resolved_at is not None:
        status = TicketStatus.RESOLVED
    elif any(p.ended_at is None for p in pauses):
        status = TicketStatus.WAITING
    else:
        status = TicketStatus.CLAIMED if _by(ticket.claimed_at, now) else TicketStatus.OPEN
    return _TicketAt(
        id=ticket.id,
        client_id=ticket.client_id,
        kind=ticket.kind,
        server_id=ticket.server_id,
        scope=Scope.PENDING if ticket.id in settled_later else ticket.scope,
        status=status,
        called_at=ticket.called_at,
        resolved_at=resolved_at,
        clocks=clocks,
        pauses=pauses,
    )


def _by(at: datetime | None, now: datetime) -> bool:
    """An act recorded at `at` had happened at `now`."""
    return at is not None and at <= now


def _settled_after(session: Session, ids: list[int], now: datetime) -> set[int]:
    """The out-of-scope tickets among `ids` that were quoted or refused after `now`."""
    if not ids:
        return set()
    return set(
        session.scalars(
            select(AuditEvent.ticket_id).where(
                AuditEvent.ticket_id.in_(ids),
                AuditEvent.action.in_(["ticket.quoted", "ticket.refused"]),
                AuditEvent.at > now,
            )
        )
    )


def _credit_states_at(
    session: Session, rows: Iterable[CreditRow], now: datetime
) -> dict[tuple[int, str], CreditState]:
    """Each ledger row's state at `now`: as stored if it last moved by then, else replayed
    from its audited moves (`credit.requested|granted|declined`) up to `now`, eligible before
    the first."""
    states = {(r.ticket_id, r.clock): r.state for r in rows if r.updated_at <= now}
    later = {(r.ticket_id, r.clock) for r in rows if r.updated_at > now}
    if not later:
        return states
    states.update(dict.fromkeys(later, CreditState.ELIGIBLE))
    moves = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.ticket_id.in_({ticket_id for ticket_id, _ in later}),
            AuditEvent.action.in_(CREDIT_MOVES),
            AuditEvent.at <= now,
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    for move in moves:
        key = (move.ticket_id or 0, str(move.details.get("clock")))
        if key in later:
            states[key] = CreditState(move.action.removeprefix("credit."))
    return states


SETTLING_MOVES = (f"credit.{CreditState.GRANTED.value}", f"credit.{CreditState.DECLINED.value}")


def _settled_amounts(
    session: Session, states: dict[tuple[int, str], CreditState], now: datetime
) -> dict[tuple[int, str], Decimal]:
    """The amount each credit granted or declined by `now` was settled at, as its audited move
    told it: a breach withdrawn since before it in the month does not reprice it."""
    keys = {key for key, state in states.items() if state in SETTLED_CREDITS}
    if not keys:
        return {}
    amounts: dict[tuple[int, str], Decimal] = {}
    moves = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.ticket_id.in_(sorted({ticket_id for ticket_id, _ in keys})),
            AuditEvent.action.in_(SETTLING_MOVES),
            AuditEvent.at <= now,
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    for move in moves:
        key = (move.ticket_id or 0, str(move.details.get("clock")))
        amount = move.details.get("amount")
        if key in keys and amount is not None:
            amounts[key] = Decimal(str(amount))
    return amounts


def _client_report(
    session: Session,
    catalog: Catalog,
    client: Client,
    year: int,
    month: int,
    now: datetime,
    book: _CreditBook,
) -> ClientReport:
    zone = catalog.zone
    start, end = month_bounds(year, month, zone)
    called = session.scalars(
        select(Ticket.id).where(
            Ticket.client_id == client.id, Ticket.called_at >= start, Ticket.called_at < end
        )
    )
    credits = book.month(client.id, year, month)
    ids = set(called) | {line.ticket_id for line in credits}
    tickets = tuple(
        _ticket_line(ticket, catalog, now, start, end, book)
        for ticket in _load_tickets(session, ids, now)
    )
    terms = _terms(session, client.id, end, now) or _Terms(client.level, client.monthly_fee)
    level = catalog.levels.get(terms.level)
    allowed = level.monthly_interventions if level is not None else 0
    usage = allowance_usage(
        [Intervention(t.kind, t.called_at) for t in tickets if t.in_month and t.scope is Scope.IN],
        year,
        month,
        zone,
        allowed,
    )
    fee = Decimal(str(terms.monthly_fee))
    outages, servers = _availability(session, client.id, start, end, now)
    left = client.removed_at if client.removed_at is not None and client.removed_at < end else None
    return ClientReport(
        client_id=client.id,
        name=client.name,
        level=terms.level,
        monthly_fee=to_cents(fee),
        allowance=usage,
        tickets=tickets,
        outages=outages,
        servers=servers,
        credits=tuple(credits),
        credit_cap=to_cents(fee * Decimal(str(catalog.policy.credit_cap))),
        removed_at=left if _by(left, now) else None,
    )


def _ticket_line(
    ticket: _TicketAt,
    catalog: Catalog,
    now: datetime,
    start: datetime,
    end: datetime,
    book: _CreditBook,
) -> TicketLine:
    clocks = [
        ClockLine(
            kind=view.kind,
            budget=view.budget,
            calendar=view.calendar,
            started_at=view.started_at,
            stopped_at=view.stopped_at,
            stopped_by=view.stopped_by,
            state=view.status.state,
            consumed=view.status.consumed,
            deadline=view.status.deadline,
        )
        for view in clock_views(ticket, catalog, now)
    ]
    pauses = tuple(
        PauseLine(
            p.started_at,
            p.ended_at,
            (p.ended_at or max(now, p.started_at)) - p.started_at,
            p.reason,
        )
        for p in ticket.pauses
    )
    return TicketLine(
        id=ticket.id,
        kind=TicketKind(ticket.kind),
        server_id=ticket.server_id,
        scope=ticket.scope,
        status=ticket.status,
        called_at=ticket.called_at,
        resolved_at=ticket.resolved_at,
        in_month=start <= ticket.called_at < end,
        called_month=month_of(ticket.called_at, catalog.zone),
        clocks=tuple(clocks),
        pauses=pauses,
        credits=tuple(book.of_ticket(ticket)),
    )


@dataclass(frozen=True)
class _Terms:
    level: str
    monthly_fee: float


def _terms(session: Session, client_id: str, end: datetime, now: datetime) -> _Terms | None:
    """The client's level and fee in force at the end of a month ending at `end` (or at `now`
    when that comes first): a contract changed afterwards does not reprice the month; one
    changed within it gives the month its level, allowance and cap, while each breach keeps the
    fee of the contract its ticket was registered under (`_registrations`). Falls back
    on the client's row (None without it) for a database that has no terms for it."""
    row = session.execute(
        select(ClientTerms.level, ClientTerms.monthly_fee)
        .where(
            ClientTerms.client_id == client_id,
            ClientTerms.since < end,
            ClientTerms.since <= now,
        )
        .order_by(ClientTerms.since.desc(), ClientTerms.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        return _Terms(row.level, row.monthly_fee)
    client = session.get(Client, client_id)
    return None if client is None else _Terms(client.level, client.monthly_fee)


@dataclass(frozen=True)
class _Registration:
    """What pricing a ticket's breach needs of its registration: the monthly fee of the
    contract it was registered under (None when the client had no recorded terms then) and
    when it was registered (a breach it records late is capped after the ones settled before)."""

    fee: Decimal | None
    registered_at: datetime


def _registrations(
    session: Session, client_id: str, ticket_ids: set[int]
) -> dict[int, _Registration]:
    """Each ticket's registration: its instant, and the monthly fee of the contract it was
    registered under, the one in force at its call time, which a late registration (`--at`)
    may precede (its clocks' budgets are that contract's too, `TicketService.open`), or at its
    registration for a call older than the client's first terms; no fee for the tickets
    registered while the client had no recorded terms."""
    if not ticket_ids:
        return {}
    history = session.execute(
        select(ClientTerms.since, ClientTerms.monthly_fee)
        .where(ClientTerms.client_id == client_id)
        .order_by(ClientTerms.since, ClientTerms.id)
    ).all()
    registrations: dict[int, _Registration] = {}
    for ticket_id, called_at, registered_at in session.execute(
        select(Ticket.id, Ticket.called_at, Ticket.registered_at).where(
            Ticket.id.in_(sorted(ticket_ids))
        )
    ):
        in_force = [fee for since, fee in history if since <= called_at] or [
            fee for since, fee in history if since <= registered_at
        ]
        fee = Decimal(str(in_force[-1])) if in_force else None
        registrations[ticket_id] = _Registration(fee, registered_at)
    return registrations


def _availability(
    session: Session, client_id: str, start: datetime, end: datetime, now: datetime
) -> tuple[tuple[OutageLine, ...], tuple[ServerAvailability, ...]]:
    """Outages clipped to the measured part of the month, and each server's availability."""
    until = min(end, max(now, start))
    watched = _watched(session, client_id, start, until)
    rows = session.scalars(
        select(Outage)
        .where(
            Outage.server_id.in_(sorted(watched)),
            Outage.started_at < until,
            or_(Outage.ended_at.is_(None), Outage.ended_at > start),
        )
        .order_by(Outage.started_at, Outage.id)
    )
    outages: list[OutageLine] = []
    for row in rows:
        overlaps = [
            (since, to)
            for since, to in watched[row.server_id]
            if row.started_at < to and (row.ended_at is None or row.ended_at > since)
        ]
        if not overlaps:
            continue  # outside the time its server was watched for this client
        ended_at = row.ended_at if _by(row.ended_at, now) else None
        downtime = sum(
            (min(ended_at or to, to) - max(row.started_at, since) for since, to in overlaps),
            timedelta(0),
        )
        outages.append(OutageLine(row.id, row.server_id, row.started_at, ended_at, downtime))
    availability: list[ServerAvailability] = []
    for server_id, windows in sorted(watched.items()):
        down = sum((o.downtime for o in outages if o.server_id == server_id), timedelta(0))
        measured = sum((to - since for since, to in windows), timedelta(0))
        seen = any(o.server_id == server_id for o in outages)
        probed = any(_probed(session, server_id, since, to) for since, to in windows)
        if measured <= timedelta(0) or not (seen or probed):
            ratio = None  # nobody watched it: no probe, or none reported (docs/reports.md)
        else:
            ratio = max(1 - down / measured, 0.0)
        availability.append(ServerAvailability(server_id, down, ratio))
    return tuple(outages), tuple(availability)


def _watched(
    session: Session, client_id: str, start: datetime, until: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """The client's servers in [start, until), each with the windows it was measured for the
    client: while the catalog had it (its probes began when it came in and stopped when it
    left) and gave it to this client (a server moved to another client counts for each client
    while it was theirs)."""
    moved = select(ServerMove.server_id).where(
        or_(ServerMove.from_client_id == client_id, ServerMove.to_client_id == client_id)
    )
    history: dict[str, list[ServerMove]] = {}
    for move in session.scalars(
        select(ServerMove).where(ServerMove.server_id.in_(moved)).order_by(ServerMove.at)
    ):
        history.setdefault(move.server_id, []).append(move)
    servers = session.execute(
        select(Server.id, Server.added_at, Server.removed_at).where(
            or_(Server.client_id == client_id, Server.id.in_(moved)),
            or_(Server.removed_at.is_(None), Server.removed_at > start),
        )
    )
    watched: dict[str, list[tuple[datetime, datetime]]] = {}
    for server_id, added_at, removed_at in servers:
        moves = history.get(server_id, [])
        if not moves:
            watched[server_id] = [(max(start, added_at), min(until, removed_at or until))]
            continue
        # Who had it when: the first move says who had it from its start, each move who had
        # it from then on (the last one: the server row's own client).
        owners = [(added_at, moves[0].from_client_id), *((m.at, m.to_client_id) for m in moves)]
        ends = [at for at, _ in owners[1:]] + [removed_at or until]
        windows = [
            (max(start, since), min(until, to))
            for (since, who), to in zip(owners, ends, strict=True)
            if who == client_id and max(start, since) < min(until, to)
        ]
        if windows:
            watched[server_id] = windows
    return watched


def _probed(session: Session, server_id: str, since: datetime, until: datetime) -> bool:
    """Some probe of the server reported between `since` and `until`: an hourly rollup of
    that time, or a last check in it (the current hour is rolled up only when it ends)."""
    keys = select(ProbeState.key).where(ProbeState.server_id == server_id)
    rolled = select(ProbeRollup.key).where(
        ProbeRollup.key.in_(keys),
        ProbeRollup.hour_start > since - timedelta(hours=1),
        ProbeRollup.hour_start < until,
    )
    checked = select(ProbeState.key).where(
        ProbeState.server_id == server_id,
        ProbeState.last_checked_at >= since,
        ProbeState.last_checked_at < until,
    )
    return any(session.scalar(query.limit(1)) is not None for query in (rolled, checked))
