"""What a monthly report holds, as typed values."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.sla import (
    AllowanceUsage,
    ClockKind,
    ClockState,
    TicketKind,
)
from bot.storage.models import (
    CreditState,
    Scope,
    TicketStatus,
)

PROBE = "probe"  # Clock.stopped_by of a restoration confirmed by the probes
MONTHLY_HOUR = 9  # the monthly summary goes out at 09:00 local on the first business day
OUT_OF_SCOPE = (Scope.QUOTED, Scope.REFUSED, Scope.PENDING)
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
    """The credit of one breach: its month (of the deadline), ledger state and capped amount,
    with the cap that cut it and what the month's earlier breaches took of it."""

    ticket_id: int
    clock: ClockKind
    breached_at: datetime
    year: int
    month: int
    state: CreditState
    amount: Decimal
    full_amount: Decimal
    cap: Decimal = Decimal("0.00")  # the monthly cap this credit was measured against
    taken: Decimal = Decimal("0.00")  # what the month's earlier breaches took of that cap

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
    """A ticket of the report; `in_month` is False for an earlier ticket listed for its credit
    (carried over from `called_month`, the month of its call)."""

    id: int
    kind: TicketKind
    server_id: str | None
    scope: Scope
    status: TicketStatus
    called_at: datetime
    resolved_at: datetime | None
    in_month: bool
    called_month: tuple[int, int]  # (year, month) of the call, in the catalog's zone
    clocks: tuple[ClockLine, ...]
    pauses: tuple[PauseLine, ...]
    credits: tuple[CreditLine, ...]

    @property
    def ref(self) -> str:
        return f"INT-{self.id}"

    @property
    def called_month_label(self) -> str:
        year, month = self.called_month
        return f"{year:04d}-{month:02d}"

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
    """A server's downtime in the month and its availability (None when nobody watched it:
    not in the catalog yet, or no probe reported)."""

    server_id: str
    downtime: timedelta
    availability: float | None

    @property
    def percent(self) -> float | None:
        return self.rounded_percent(4)

    def rounded_percent(self, places: int) -> float | None:
        """The availability in percent to `places` decimals; below 100 for a server that was
        down, however briefly (10 s of a month is 99.99961 %, not "100.000 %")."""
        if self.availability is None:
            return None
        percent = round(self.availability * 100, places)
        if self.downtime and percent >= 100:
            percent = round(100 - 10**-places, places)
        return percent


@dataclass(frozen=True)
class StateTotal:
    count: int
    amount: Decimal


@dataclass(frozen=True)
class ClientReport:
    """One client's month; `removed_at` when it left the catalog before the month's end (it is
    still reported for the month while it called, or a breach of its was due, in it)."""

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
    removed_at: datetime | None = None

    @property
    def month_tickets(self) -> tuple[TicketLine, ...]:
        """Tickets called in the month (the others are listed only for their credit)."""
        return tuple(t for t in self.tickets if t.in_month)

    @property
    def carried_over(self) -> tuple[TicketLine, ...]:
        """Tickets called in an earlier month, listed for a credit of this one."""
        return tuple(t for t in self.tickets if not t.in_month)

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
