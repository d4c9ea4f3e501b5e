"""Service credits: each breach entitles the client to a share of the monthly fee, up to a cap.

Amounts are Decimal euros rounded to the cent (half up) once per breach; the monthly cap is
applied in chronological order of the breaches, so the breach that crosses the cap gets what is
left and later ones get 0. A breach belongs to the month (catalog zone) of its deadline, and
takes its place in that order when it was known: at its deadline, or at its ticket's
registration for a call registered after its deadline had passed (`known_at`), so a credit
already granted is never cut by a breach recorded later.

A breach is priced with the fee of the contract its ticket was opened under (`monthly_fee`),
when the client's contract changed within the month; its cap is that contract's too, against
every credit before it in the month: what the month's earlier breaches took counts, whatever
the fee they were priced with.

A credit settled (granted or declined) keeps the amount its settlement told (`settled`): a breach
before it withdrawn afterwards (the GTR found met by the probes, the ticket quoted as outside the
forfait) leaves what the cap let it have, and what that breach took goes to the breaches after.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from bot.config.catalog import Policy
from bot.sla.allowance import month_bounds
from bot.sla.calendar import require_aware
from bot.sla.kinds import ClockKind

CENT = Decimal("0.01")


@dataclass(frozen=True, order=True)
class Breach:
    """A missed clock: which ticket, which clock, and the deadline it missed; `monthly_fee`
    is the fee of the contract its ticket was opened under (None: the month's); `known_at`
    when its ticket was registered (None: before its deadline, as a call registered live is);
    `settled` the amount told when its credit was granted or declined (None: not settled)."""

    breached_at: datetime
    ticket_ref: str
    clock_kind: ClockKind
    monthly_fee: Decimal | None = field(default=None, compare=False)
    known_at: datetime | None = field(default=None, compare=False)
    settled: Decimal | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Ordering must follow UTC: same-zone local times compare by wall clock across DST.
        object.__setattr__(self, "breached_at", require_aware(self.breached_at, "breached_at"))
        if self.known_at is not None:
            object.__setattr__(self, "known_at", require_aware(self.known_at, "known_at"))

    @property
    def recorded_at(self) -> datetime:
        """When the breach was a fact on record: its deadline, or the registration of a call
        backdated past it (`--at`), which nobody could have known of before."""
        if self.known_at is None or self.known_at <= self.breached_at:
            return self.breached_at
        return self.known_at


@dataclass(frozen=True)
class Credit:
    """The credit one breach entitles to; `reduced` when the monthly cap cut it: `cap` is the
    cap it was measured against (its contract's), `taken` what the month's earlier breaches took
    of it."""

    breach: Breach
    amount: Decimal
    full_amount: Decimal
    cap: Decimal = Decimal("0.00")
    taken: Decimal = Decimal("0.00")

    @property
    def reduced(self) -> bool:
        return self.amount < self.full_amount


def to_cents(value: Decimal | float | int) -> Decimal:
    """A money amount as Decimal rounded half up to the cent (floats read via their repr)."""
    decimal = value if isinstance(value, Decimal) else Decimal(str(value))
    return decimal.quantize(CENT, rounding=ROUND_HALF_UP)


def _chronological(breach: Breach) -> tuple[datetime, datetime, int, str, str]:
    """When it was on record first (a breach registered late comes after the credits settled
    before it), then its deadline; at the same deadline, by ticket number (INT-9 before INT-10,
    which the refs compared as text would put first)."""
    number = breach.ticket_ref.rpartition("-")[2]
    return (
        breach.recorded_at,
        breach.breached_at,
        int(number) if number.isdigit() else 0,
        breach.ticket_ref,
        breach.clock_kind.value,
    )


def credits_for(
    breaches: Iterable[Breach], monthly_fee: Decimal | float, policy: Policy
) -> list[Credit]:
    """Credits for one client's breaches of one month, oldest first, capped by the policy;
    each priced with its own contract's fee, if it has one, else with `monthly_fee`."""
    month_fee = Decimal(str(monthly_fee)) if not isinstance(monthly_fee, Decimal) else monthly_fee
    rate, cap = Decimal(str(policy.credit_rate)), Decimal(str(policy.credit_cap))
    credited = Decimal("0.00")
    credits: list[Credit] = []
    for breach in sorted(breaches, key=_chronological):
        fee = breach.monthly_fee if breach.monthly_fee is not None else month_fee
        full_amount = to_cents(fee * rate)
        ceiling = to_cents(fee * cap)
        amount = max(Decimal("0.00"), min(full_amount, ceiling - credited))
        if breach.settled is not None:  # what the client was told stays what it is
            amount = breach.settled
        credits.append(Credit(breach, amount, full_amount, ceiling, credited))
        credited += amount
    return credits


def month_credits(
    breaches: Iterable[Breach],
    year: int,
    month: int,
    zone: ZoneInfo,
    monthly_fee: Decimal | float,
    policy: Policy,
) -> list[Credit]:
    """Credits for the breaches whose deadline falls in the month, capped by the policy."""
    start, end = month_bounds(year, month, zone)
    in_month = [b for b in breaches if start <= require_aware(b.breached_at) < end]
    return credits_for(in_month, monthly_fee, policy)


def total(credits: Iterable[Credit]) -> Decimal:
    """Sum of the credited amounts."""
    return sum((credit.amount for credit in credits), Decimal("0.00"))
