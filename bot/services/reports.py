"""Monthly SLA reports: built from the database as typed values, rendered as text, CSV or JSON.

Rules (see docs/reports.md):
- A month is a calendar month in the catalog's zone; a ticket belongs to the month of its call.
- A breach's credit belongs to the month of its deadline; the monthly cap applies to every
  breach of that month in chronological order, whatever the state of its credit, so a granted
  amount never changes when another credit is later declined.
- Availability is 1 - downtime / measured time, outages clipped to the month; the measured time
  is the whole month once it is over, the elapsed part of it before.
- Figures are read at the report's `now`: a clock still running past its deadline is breached.
"""

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from bot.config import Catalog
from bot.errors import UserFacingError
from bot.grammar import ReportRequest
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.base import Service
from bot.services.tickets import Reply
from bot.services.views import sla_clock
from bot.sla import (
    AllowanceUsage,
    Breach,
    ClockKind,
    ClockState,
    Intervention,
    TicketKind,
    allowance_usage,
    month_bounds,
    month_credits,
    month_of,
    named_calendar,
    to_cents,
)
from bot.slack import render
from bot.storage.models import (
    Client,
    CreditState,
    Outage,
    OutboxMessage,
    Scope,
    Server,
    Ticket,
    TicketStatus,
)
from bot.storage.models import Clock as ClockRow
from bot.storage.models import Credit as CreditRow
from bot.storage.outbox import Outbound, add_message

PROBE = "probe"  # Clock.stopped_by of a restoration confirmed by the probes
MONTHLY_HOUR = 9  # the monthly summary goes out at 09:00 local on the first business day
OUT_OF_SCOPE = (Scope.QUOTED, Scope.REFUSED, Scope.PENDING)
CSV_COLUMNS = (
    "month",
    "client_id",
    "client_name",
    "level",
    "ticket",
    "kind",
    "scope",
    "status",
    "server_id",
    "called_at_utc",
    "called_at_local",
    "in_month",
    "clock",
    "clock_state",
    "budget_seconds",
    "consumed_seconds",
    "deadline_utc",
    "stopped_at_utc",
    "restored_by",
    "pauses",
    "paused_seconds",
    "credit_month",
    "credit_state",
    "credit_amount",
    "credit_full_amount",
)


# Values ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PauseLine:
    """One wait on the client; an open pause is measured up to the report's instant."""

    started_at: datetime
    ended_at: datetime | None
    duration: timedelta
    reason: str


@dataclass(frozen=True)
class ClockLine:
    """A ticket's clock as read at the report's instant."""

    kind: ClockKind
    budget: timedelta
    calendar: str
    started_at: datetime
    stopped_at: datetime | None
    stopped_by: str | None
    state: ClockState
    consumed: timedelta
    deadline: datetime

    @property
    def restored_by(self) -> str | None:
        """For a stopped GTR: `probe` (confirmed by the probes) or `hand` (resolved by hand)."""
        if self.kind is not ClockKind.GTR or self.stopped_at is None:
            return None
        return "probe" if self.stopped_by == PROBE else "hand"


@dataclass(frozen=True)
class CreditLine:
    """The credit of one breach: its month (of the deadline), ledger state and capped amount."""

    ticket_id: int
    clock: ClockKind
    breached_at: datetime
    year: int
    month: int
    state: CreditState
    amount: Decimal
    full_amount: Decimal

    @property
    def ticket_ref(self) -> str:
        return f"INT-{self.ticket_id}"

    @property
    def month_label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def reduced(self) -> bool:
        """The monthly cap cut this credit."""
        return self.amount < self.full_amount


@dataclass(frozen=True)
class TicketLine:
    """A ticket of the report; `in_month` is False for an earlier ticket listed for its credit."""

    id: int
    kind: TicketKind
    server_id: str | None
    scope: Scope
    status: TicketStatus
    called_at: datetime
    resolved_at: datetime | None
    in_month: bool
    clocks: tuple[ClockLine, ...]
    pauses: tuple[PauseLine, ...]
    credits: tuple[CreditLine, ...]

    @property
    def ref(self) -> str:
        return f"INT-{self.id}"

    @property
    def clock(self) -> ClockLine | None:
        """The contractual clock (a ticket runs one, or none when out of scope)."""
        return self.clocks[0] if self.clocks else None

    @property
    def paused(self) -> timedelta:
        return sum((p.duration for p in self.pauses), timedelta(0))


@dataclass(frozen=True)
class OutageLine:
    """An outage overlapping the month; `downtime` is its part within the measured period."""

    id: int
    server_id: str
    started_at: datetime
    ended_at: datetime | None
    downtime: timedelta


@dataclass(frozen=True)
class ServerAvailability:
    """A server's downtime in the month and its availability (None before the month starts)."""

    server_id: str
    downtime: timedelta
    availability: float | None

    @property
    def percent(self) -> float | None:
        return None if self.availability is None else round(self.availability * 100, 4)


@dataclass(frozen=True)
class StateTotal:
    count: int
    amount: Decimal


@dataclass(frozen=True)
class ClientReport:
    """One client's month."""

    client_id: str
    name: str
    level: str
    monthly_fee: Decimal
    allowance: AllowanceUsage
    tickets: tuple[TicketLine, ...]
    outages: tuple[OutageLine, ...]
    servers: tuple[ServerAvailability, ...]
    credits: tuple[CreditLine, ...]
    credit_cap: Decimal

    @property
    def month_tickets(self) -> tuple[TicketLine, ...]:
        """Tickets called in the month (the others are listed only for their credit)."""
        return tuple(t for t in self.tickets if t.in_month)

    @property
    def by_kind(self) -> dict[TicketKind, int]:
        counts = Counter(t.kind for t in self.month_tickets)
        return {kind: counts.get(kind, 0) for kind in TicketKind}

    @property
    def out_of_scope(self) -> dict[Scope, int]:
        counts = Counter(t.scope for t in self.month_tickets)
        return {scope: counts.get(scope, 0) for scope in OUT_OF_SCOPE}

    @property
    def clock_states(self) -> dict[ClockState, int]:
        counts = Counter(c.state for t in self.month_tickets for c in t.clocks)
        return {state: counts.get(state, 0) for state in ClockState}

    @property
    def restorations(self) -> dict[str, int]:
        """Stopped GTR clocks of the month's tickets: confirmed by probes vs resolved by hand."""
        counts = Counter(c.restored_by for t in self.month_tickets for c in t.clocks)
        return {"probe": counts.get("probe", 0), "hand": counts.get("hand", 0)}

    @property
    def pause_count(self) -> int:
        return sum(len(t.pauses) for t in self.month_tickets)

    @property
    def paused(self) -> timedelta:
        return sum((t.paused for t in self.month_tickets), timedelta(0))

    @property
    def downtime(self) -> timedelta:
        return sum((o.downtime for o in self.outages), timedelta(0))

    @property
    def credit_totals(self) -> dict[CreditState, StateTotal]:
        totals: dict[CreditState, StateTotal] = {}
        for state in CreditState:
            of_state = [c for c in self.credits if c.state is state]
            amount = sum((c.amount for c in of_state), Decimal("0.00"))
            totals[state] = StateTotal(len(of_state), amount)
        return totals

    @property
    def credit_total(self) -> Decimal:
        return sum((c.amount for c in self.credits), Decimal("0.00"))


@dataclass(frozen=True)
class MonthReport:
    """Every client's figures for one month, read at `generated_at`."""

    year: int
    month: int
    zone: ZoneInfo
    starts_at: datetime
    ends_at: datetime
    generated_at: datetime
    credit_rate: float
    credit_cap: float
    clients: tuple[ClientReport, ...]

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


# Building --------------------------------------------------------------------------------------


def find_client(session: Session, text: str) -> str:
    """The id of the client called `text` (case-insensitive, removed ones included)."""
    ids = list(session.scalars(select(Client.id).order_by(Client.id)))
    for client_id in ids:
        if client_id.lower() == text.lower():
            return client_id
    known = ", ".join(f"`{i}`" for i in ids) or "-"
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
    if client_id is not None:
        query = query.where(Client.id == client_id)
    else:
        called = select(Ticket.client_id).where(Ticket.called_at >= start, Ticket.called_at < end)
        query = query.where(
            or_(Client.removed_at.is_(None), Client.removed_at >= start, Client.id.in_(called))
        )
    credits = _CreditBook(session, catalog, now)
    clients = tuple(
        _client_report(session, catalog, row, year, month, now, credits)
        for row in session.scalars(query)
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


def month_credit_lines(
    session: Session, catalog: Catalog, client_id: str, year: int, month: int, *, now: datetime
) -> list[CreditLine]:
    """The credits of a client's breaches whose deadline falls in the month, cap applied."""
    return _CreditBook(session, catalog, now).month(client_id, year, month)


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

    def of_ticket(self, ticket: Ticket) -> list[CreditLine]:
        """The credits of a ticket's breached clocks, each from the month of its deadline."""
        lines: list[CreditLine] = []
        for row in ticket.clocks:
            deadline = _breach_instant(self._session, ticket, row.kind, self._catalog, self._now)
            if deadline is None:
                continue
            year, month = month_of(deadline, self._catalog.zone)
            lines += [
                line
                for line in self.month(ticket.client_id, year, month)
                if line.ticket_id == ticket.id and line.clock.value == row.kind
            ]
        return lines

    def _compute(self, client_id: str, year: int, month: int) -> list[CreditLine]:
        session, catalog, now = self._session, self._catalog, self._now
        zone = catalog.zone
        start, end = month_bounds(year, month, zone)
        candidates = (
            select(ClockRow.ticket_id)
            .join(Ticket, Ticket.id == ClockRow.ticket_id)
            .where(
                Ticket.client_id == client_id,
                ClockRow.started_at < end,
                or_(ClockRow.stopped_at.is_(None), ClockRow.stopped_at > start),
            )
        )
        ledger = {
            (row.ticket_id, row.clock): row
            for row in session.scalars(
                select(CreditRow).where(
                    CreditRow.client_id == client_id,
                    or_(
                        CreditRow.ticket_id.in_(candidates),
                        (CreditRow.breached_at >= start) & (CreditRow.breached_at < end),
                    ),
                )
            )
        }
        ticket_ids = set(session.scalars(candidates)) | {tid for tid, _ in ledger}
        breaches: dict[tuple[int, str], datetime] = {}
        for ticket in _load_tickets(session, ticket_ids):
            for clock_row in ticket.clocks:
                status = sla_clock(clock_row, ticket.pauses, catalog).status(now)
                if status.state is ClockState.BREACHED:
                    breaches[(ticket.id, clock_row.kind)] = status.deadline
        for key, stored_row in ledger.items():
            breaches[key] = stored_row.breached_at  # the recorded deadline is the evidence
        in_month = {k: at for k, at in breaches.items() if start <= at < end}
        client = session.get(Client, client_id)
        fee = Decimal(str(client.monthly_fee)) if client is not None else Decimal(0)
        priced = month_credits(
            [Breach(at, f"INT-{tid}", ClockKind(kind)) for (tid, kind), at in in_month.items()],
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
            stored = ledger.get((ticket_id, kind.value))
            lines.append(
                CreditLine(
                    ticket_id=ticket_id,
                    clock=kind,
                    breached_at=credit.breach.breached_at,
                    year=year,
                    month=month,
                    state=stored.state if stored is not None else CreditState.ELIGIBLE,
                    amount=credit.amount,
                    full_amount=credit.full_amount,
                )
            )
        return lines


def _breach_instant(
    session: Session, ticket: Ticket, kind: str, catalog: Catalog, now: datetime
) -> datetime | None:
    """The deadline a ticket's clock missed (as recorded in the ledger if it is), or None."""
    stored = session.scalars(
        select(CreditRow.breached_at).where(
            CreditRow.ticket_id == ticket.id, CreditRow.clock == kind
        )
    ).first()
    if stored is not None:
        return stored
    row = next(c for c in ticket.clocks if c.kind == kind)
    status = sla_clock(row, ticket.pauses, catalog).status(now)
    return status.deadline if status.state is ClockState.BREACHED else None


def _load_tickets(session: Session, ids: Iterable[int]) -> list[Ticket]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(wanted))
            .options(selectinload(Ticket.clocks), selectinload(Ticket.pauses))
            .order_by(Ticket.id)
        )
    )


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
        for ticket in _load_tickets(session, ids)
    )
    level = catalog.levels.get(client.level)
    allowed = level.monthly_interventions if level is not None else 0
    usage = allowance_usage(
        [Intervention(t.kind, t.called_at) for t in tickets if t.in_month and t.scope is Scope.IN],
        year,
        month,
        zone,
        allowed,
    )
    fee = Decimal(str(client.monthly_fee))
    outages, servers = _availability(session, client.id, start, end, now)
    return ClientReport(
        client_id=client.id,
        name=client.name,
        level=client.level,
        monthly_fee=to_cents(fee),
        allowance=usage,
        tickets=tickets,
        outages=outages,
        servers=servers,
        credits=tuple(credits),
        credit_cap=to_cents(fee * Decimal(str(catalog.policy.credit_cap))),
    )


def _ticket_line(
    ticket: Ticket,
    catalog: Catalog,
    now: datetime,
    start: datetime,
    end: datetime,
    book: _CreditBook,
) -> TicketLine:
    clocks = []
    for row in ticket.clocks:
        status = sla_clock(row, ticket.pauses, catalog).status(now)
        clocks.append(
            ClockLine(
                kind=ClockKind(row.kind),
                budget=timedelta(seconds=row.budget_seconds),
                calendar=row.calendar,
                started_at=row.started_at,
                stopped_at=row.stopped_at,
                stopped_by=row.stopped_by,
                state=status.state,
                consumed=status.consumed,
                deadline=status.deadline,
            )
        )
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
        clocks=tuple(clocks),
        pauses=pauses,
        credits=tuple(book.of_ticket(ticket)),
    )


def _availability(
    session: Session, client_id: str, start: datetime, end: datetime, now: datetime
) -> tuple[tuple[OutageLine, ...], tuple[ServerAvailability, ...]]:
    """Outages clipped to the measured part of the month, and each server's availability."""
    until = min(end, max(now, start))
    servers = list(
        session.scalars(
            select(Server.id)
            .where(
                Server.client_id == client_id,
                or_(Server.removed_at.is_(None), Server.removed_at > start),
            )
            .order_by(Server.id)
        )
    )
    rows = session.scalars(
        select(Outage)
        .join(Server, Server.id == Outage.server_id)
        .where(
            Server.client_id == client_id,
            Outage.started_at < until,
            or_(Outage.ended_at.is_(None), Outage.ended_at > start),
        )
        .order_by(Outage.started_at, Outage.id)
    )
    outages = tuple(
        OutageLine(
            id=row.id,
            server_id=row.server_id,
            started_at=row.started_at,
            ended_at=row.ended_at,
            downtime=max(
                min(row.ended_at or until, until) - max(row.started_at, start), timedelta(0)
            ),
        )
        for row in rows
    )
    measured = until - start
    availability: list[ServerAvailability] = []
    for server_id in sorted({*servers, *(o.server_id for o in outages)}):
        down = sum((o.downtime for o in outages if o.server_id == server_id), timedelta(0))
        ratio = None if measured <= timedelta(0) else 1 - down / measured
        availability.append(ServerAvailability(server_id, down, ratio))
    return outages, tuple(availability)


# Rendering -------------------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).isoformat()


def _seconds(value: timedelta) -> int:
    return int(value.total_seconds())


def _money(amount: Decimal) -> str:
    return f"{amount:.2f} €"


def to_json(report: MonthReport) -> dict[str, Any]:
    """The whole report as JSON-ready data (docs/report.schema.json); money as decimal strings."""
    zone = report.zone
    return {
        "month": report.label,
        "zone": zone.key,
        "starts_at": _iso(report.starts_at),
        "ends_at": _iso(report.ends_at),
        "generated_at": _iso(report.generated_at),
        "policy": {"credit_rate": report.credit_rate, "credit_cap": report.credit_cap},
        "clients": [_client_json(client, zone) for client in report.clients],
    }


def _credit_json(line: CreditLine) -> dict[str, Any]:
    return {
        "ticket": line.ticket_ref,
        "clock": line.clock.value,
        "breached_at": _iso(line.breached_at),
        "month": line.month_label,
        "state": line.state.value,
        "amount": str(line.amount),
        "full_amount": str(line.full_amount),
        "reduced": line.reduced,
    }


def _client_json(client: ClientReport, zone: ZoneInfo) -> dict[str, Any]:
    states = client.clock_states
    return {
        "id": client.client_id,
        "name": client.name,
        "level": client.level,
        "monthly_fee": str(client.monthly_fee),
        "tickets_by_kind": {kind.value: count for kind, count in client.by_kind.items()},
        "allowance": {"used": client.allowance.used, "allowed": client.allowance.allowance},
        "out_of_scope": {scope.value: n for scope, n in client.out_of_scope.items()},
        "clocks": {state.value: n for state, n in states.items()},
        "restorations": client.restorations,
        "pauses": {"count": client.pause_count, "total_seconds": _seconds(client.paused)},
        "outages": {
            "count": len(client.outages),
            "downtime_seconds": _seconds(client.downtime),
            "items": [
                {
                    "id": o.id,
                    "server_id": o.server_id,
                    "started_at": _iso(o.started_at),
                    "ended_at": _iso(o.ended_at),
                    "downtime_seconds": _seconds(o.downtime),
                }
                for o in client.outages
            ],
        },
        "servers": [
            {
                "id": s.server_id,
                "downtime_seconds": _seconds(s.downtime),
                "availability_percent": s.percent,
            }
            for s in client.servers
        ],
        "credits": {
            "cap": str(client.credit_cap),
            "total": str(client.credit_total),
            "by_state": {
                state.value: {"count": total.count, "amount": str(total.amount)}
                for state, total in client.credit_totals.items()
            },
            "items": [_credit_json(line) for line in client.credits],
        },
        "tickets": [_ticket_json(ticket, zone) for ticket in client.tickets],
    }


def _ticket_json(ticket: TicketLine, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "ref": ticket.ref,
        "kind": ticket.kind.value,
        "server_id": ticket.server_id,
        "scope": ticket.scope.value,
        "status": ticket.status.value,
        "called_at": _iso(ticket.called_at),
        "called_at_local": _local(ticket.called_at, zone),
        "resolved_at": _iso(ticket.resolved_at),
        "in_month": ticket.in_month,
        "clocks": [
            {
                "kind": c.kind.value,
                "calendar": c.calendar,
                "budget_seconds": _seconds(c.budget),
                "started_at": _iso(c.started_at),
                "stopped_at": _iso(c.stopped_at),
                "stopped_by": c.stopped_by,
                "restored_by": c.restored_by,
                "state": c.state.value,
                "consumed_seconds": _seconds(c.consumed),
                "deadline": _iso(c.deadline),
            }
            for c in ticket.clocks
        ],
        "pauses": [
            {
                "started_at": _iso(p.started_at),
                "ended_at": _iso(p.ended_at),
                "seconds": _seconds(p.duration),
                "reason": p.reason,
            }
            for p in ticket.pauses
        ],
        "paused_seconds": _seconds(ticket.paused),
        "credits": [_credit_json(line) for line in ticket.credits],
    }


def to_csv(report: MonthReport) -> str:
    """One row per ticket (CSV_COLUMNS); money as decimals with a dot, durations in seconds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for client in report.clients:
        for ticket in client.tickets:
            clock = ticket.clock
            credit = ticket.credits[0] if ticket.credits else None
            writer.writerow(
                [
                    report.label,
                    client.client_id,
                    client.name,
                    client.level,
                    ticket.ref,
                    ticket.kind.value,
                    ticket.scope.value,
                    ticket.status.value,
                    ticket.server_id or "",
                    _iso(ticket.called_at),
                    _local(ticket.called_at, report.zone),
                    "yes" if ticket.in_month else "no",
                    clock.kind.value if clock else "",
                    clock.state.value if clock else "",
                    _seconds(clock.budget) if clock else "",
                    _seconds(clock.consumed) if clock else "",
                    _iso(clock.deadline) if clock else "",
                    (_iso(clock.stopped_at) or "") if clock else "",
                    (clock.restored_by or "") if clock else "",
                    len(ticket.pauses),
                    _seconds(ticket.paused),
                    credit.month_label if credit else "",
                    credit.state.value if credit else "",
                    str(credit.amount) if credit else "",
                    str(credit.full_amount) if credit else "",
                ]
            )
    return out.getvalue()


def to_text(report: MonthReport, messages: Messages) -> list[str]:
    """The readable summary (Slack mrkdwn): a title, then one paragraph per client."""
    parts = [messages.get("report.title", month=report.label, zone=report.zone.key)]
    if not report.clients:
        parts.append(messages.get("report.empty"))
    parts += [_client_text(client, messages, report.zone) for client in report.clients]
    return parts


def _client_text(client: ClientReport, messages: Messages, zone: ZoneInfo) -> str:
    tickets = client.month_tickets
    kinds = ", ".join(
        f"{messages.get(f'kind.{kind.value}')} {count}"
        for kind, count in client.by_kind.items()
        if count
    )
    states = client.clock_states
    scope = client.out_of_scope
    totals = client.credit_totals
    availability = ", ".join(
        f"{s.server_id} {s.percent:.3f} %" if s.percent is not None else f"{s.server_id} -"
        for s in client.servers
    )
    lines = [
        messages.get(
            "report.client",
            name=render.escape(client.name),
            client=client.client_id,
            level=client.level,
        ),
        messages.get(
            "report.tickets",
            total=len(tickets),
            kinds=kinds or "-",
            used=client.allowance.used,
            allowed=client.allowance.allowance,
        ),
        messages.get(
            "report.out_of_scope",
            quoted=scope[Scope.QUOTED],
            refused=scope[Scope.REFUSED],
            pending=scope[Scope.PENDING],
        ),
        messages.get(
            "report.clocks",
            met=states[ClockState.MET],
            breached=states[ClockState.BREACHED],
            running=states[ClockState.RUNNING] + states[ClockState.PAUSED],
            probe=client.restorations["probe"],
            hand=client.restorations["hand"],
        ),
        messages.get(
            "report.pauses", count=client.pause_count, total=render.duration(client.paused)
        ),
        messages.get(
            "report.outages",
            count=len(client.outages),
            downtime=render.duration(client.downtime),
            servers=availability or "-",
        ),
        messages.get(
            "report.credits",
            eligible=totals[CreditState.ELIGIBLE].count,
            eligible_amount=_money(totals[CreditState.ELIGIBLE].amount),
            requested=totals[CreditState.REQUESTED].count,
            requested_amount=_money(totals[CreditState.REQUESTED].amount),
            granted=totals[CreditState.GRANTED].count,
            granted_amount=_money(totals[CreditState.GRANTED].amount),
            declined=totals[CreditState.DECLINED].count,
            declined_amount=_money(totals[CreditState.DECLINED].amount),
            cap=_money(client.credit_cap),
        ),
    ]
    lines += [f"• {_ticket_text(t, messages, zone)}" for t in client.tickets]
    return "\n".join(lines)


def _ticket_text(ticket: TicketLine, messages: Messages, zone: ZoneInfo) -> str:
    clock = ticket.clock
    if clock is None:
        clock_text = messages.get("report.no_clock", scope=messages.get(f"scope.{ticket.scope}"))
    else:
        verdict = {
            ClockState.MET: "verdict.met",
            ClockState.BREACHED: "verdict.breached",
            ClockState.RUNNING: "report.verdict.running",
            ClockState.PAUSED: "report.verdict.paused",
        }[clock.state]
        clock_text = messages.get(
            "report.clock",
            clock=clock.kind.value.upper(),
            verdict=messages.get(verdict),
            taken=render.duration(clock.consumed),
            budget=render.duration(clock.budget),
        )
        if clock.restored_by is not None:
            clock_text += " " + messages.get(f"report.restored.{clock.restored_by}")
    extra = ""
    if ticket.pauses:
        extra += " · " + messages.get(
            "report.ticket_paused", count=len(ticket.pauses), total=render.duration(ticket.paused)
        )
    for credit in ticket.credits:
        extra += " · " + messages.get(
            "report.ticket_credit",
            amount=_money(credit.amount),
            state=messages.get(f"credit.state.{credit.state.value}"),
            month=credit.month_label,
        )
    return messages.get(
        "report.ticket",
        ref=ticket.ref,
        kind=messages.get(f"kind.{ticket.kind.value}"),
        server=ticket.server_id or "-",
        called=render.local_time(ticket.called_at, zone),
        clock=clock_text,
        extra=extra,
    )


def to_slack(report: MonthReport, messages: Messages) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks: one section per client, each under Slack's text limit."""
    parts = to_text(report, messages)
    blocks: list[Block] = []
    for part in parts[:50]:
        for chunk in _chunks(part, render.SECTION_LIMIT):
            blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
    return "\n\n".join(parts), [block.to_dict() for block in blocks[:50]]


def _chunks(text: str, limit: int) -> Iterator[str]:
    """Lines grouped under `limit` characters (a longer line is cut)."""
    chunk: list[str] = []
    for line in text.split("\n"):
        line = line[:limit]
        if chunk and len("\n".join([*chunk, line])) > limit:
            yield "\n".join(chunk)
            chunk = []
        chunk.append(line)
    if chunk:
        yield "\n".join(chunk)


# Scheduling ------------------------------------------------------------------------------------


def first_business_day(catalog: Catalog, year: int, month: int) -> date:
    """The first Monday-to-Friday of the month that the business calendar does not close.

    The business calendar is the one most levels run their clocks on (`calendar`, ties by name):
    its public holidays and `closed` dates are skipped, its weekly hours are not consulted.
    """
    counts = Counter(level.calendar for level in catalog.levels.values())
    name = min(counts, key=lambda n: (-counts[n], n)) if counts else None
    calendar = named_calendar(catalog, name) if name is not None else None
    day = date(year, month, 1)
    while day.weekday() >= 5 or (calendar is not None and calendar.is_closed_date(day)):
        day += timedelta(days=1)
    return day


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def monthly_report_key(year: int, month: int) -> str:
    """The outbox key of a month's automatic summary: it is queued once, ever."""
    return f"report/monthly/{year:04d}-{month:02d}"


# Use cases -------------------------------------------------------------------------------------


class ReportService(Service):
    """`/sla report`, the monthly summary and the report CLI, from the database."""

    def build(self, year: int, month: int, *, client: str | None = None) -> MonthReport:
        """The report of a month as of now; `client` is matched case-insensitively."""
        now = self._clock()
        with self._sessions() as session:
            client_id = find_client(session, client) if client is not None else None
            return build_month_report(
                session, self.catalog, year, month, now=now, client_id=client_id
            )

    def answer(self, actor: Actor, request: ReportRequest, *, channel_id: str | None) -> Reply:
        """`/sla report`: the summary in the ephemeral reply, or queued in the channel."""
        now = self._clock()
        year, month = request.month or month_of(now, self.catalog.zone)
        report = self.build(year, month, client=request.client)
        text, blocks = to_slack(report, self._messages)
        if not request.public:
            return Reply(text, blocks)
        who = (
            report.clients[0].client_id if request.client is not None and report.clients else "all"
        )
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        message = Outbound(
            key=f"report/{who}/{report.label}/{actor.user_id}/{stamp}"[:200],
            text=text,
            blocks=blocks,
            channel_id=channel_id or self.catalog.team.alerts_channel,
        )
        with self._transaction() as session:
            add_message(session, message, now=now)
        return Reply(self._messages.get("report.posted", month=report.label))

    def post_monthly_report_if_due(self, now: datetime) -> bool:
        """Queue last month's summary in the alert channel once 09:00 of the first business day
        has come (policy.monthly_report); True if this call queued it, False if not due, off, or
        already queued (by this instance before a restart, or by another one)."""
        if not self.catalog.policy.monthly_report:
            return False
        zone = self.catalog.zone
        local = now.astimezone(zone)
        day = first_business_day(self.catalog, local.year, local.month)
        due = datetime(day.year, day.month, day.day, MONTHLY_HOUR, tzinfo=zone)
        if now < due:
            return False
        year, month = previous_month(local.year, local.month)
        key = monthly_report_key(year, month)
        with self._sessions() as session:
            if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)):
                return False  # the common case, every run after the first: no report to build
            report = build_month_report(session, self.catalog, year, month, now=now)
        text, blocks = to_slack(report, self._messages)
        message = Outbound(
            key=key, text=text, blocks=blocks, channel_id=self.catalog.team.alerts_channel
        )
        with self._sessions.begin() as session:
            queued = add_message(session, message, now=now)
        if queued:
            self._wake()
        return queued
