"""Credits: a share of the monthly fee per breach, capped per month, in chronological order."""

from decimal import Decimal

from bot.config import Policy
from bot.sla import Breach, ClockKind, credits_for, month_credits, to_cents, total
from tests.sla.calendars import PARIS, paris


def breach(day: int, ref: str, hour: int = 12) -> Breach:
    """A GTR breach on 2026-11-<day>."""
    return Breach(paris(2026, 11, day, hour), ref, ClockKind.GTR)


def test_each_breach_is_worth_half_the_fee_by_default() -> None:
    """50 % of 120.00 is 60.00."""
    credits = credits_for([breach(3, "INT-1")], 120.0, Policy())
    assert [c.amount for c in credits] == [Decimal("60.00")]
    assert not credits[0].reduced


def test_the_breach_crossing_the_cap_gets_the_remainder_and_later_ones_nothing() -> None:
    """Cap 100 % of 99.00: 49.50 + 49.50, then 0; in the order the breaches happened."""
    breaches = [breach(20, "INT-3"), breach(3, "INT-1"), breach(10, "INT-2")]
    credits = credits_for(breaches, 99.0, Policy())
    assert [(c.breach.ticket_ref, c.amount) for c in credits] == [
        ("INT-1", Decimal("49.50")),
        ("INT-2", Decimal("49.50")),
        ("INT-3", Decimal("0.00")),
    ]
    assert credits[2].reduced
    assert total(credits) == Decimal("99.00")


def test_breaches_at_the_same_deadline_are_capped_in_ticket_order() -> None:
    """Tickets called on Saturday night share the deadline of the morning: INT-9 comes before
    INT-10 (by number, not as text)."""
    at = paris(2026, 11, 7, 13)
    breaches = [
        Breach(at, "INT-10", ClockKind.GTR),
        Breach(at, "INT-9", ClockKind.GTR),
        Breach(at, "INT-8", ClockKind.GTR),
    ]
    credits = credits_for(breaches, 120, Policy())
    assert [(c.breach.ticket_ref, c.amount) for c in credits] == [
        ("INT-8", Decimal("60.00")),
        ("INT-9", Decimal("60.00")),
        ("INT-10", Decimal("0.00")),
    ]


def test_a_partial_remainder_goes_to_the_crossing_breach() -> None:
    """Rate 40 %, cap 100 % of 100: 40 + 40 + 20 (reduced) + 0."""
    policy = Policy(credit_rate=0.4, credit_cap=1.0)
    credits = credits_for([breach(d, f"INT-{d}") for d in (1, 2, 3, 4)], 100, policy)
    assert [c.amount for c in credits] == [Decimal(v) for v in ("40.00", "40.00", "20.00", "0.00")]
    assert [c.reduced for c in credits] == [False, False, True, True]


def test_amounts_are_rounded_to_the_cent_half_up() -> None:
    """50 % of 0.05 is 0.025, credited as 0.03."""
    assert to_cents(Decimal("0.025")) == Decimal("0.03")
    assert credits_for([breach(1, "INT-1")], 0.05, Policy())[0].amount == Decimal("0.03")


def test_month_credits_keep_only_breaches_of_that_paris_month() -> None:
    """A breach at 00:30 Paris on 1 December belongs to December, not November."""
    december = Breach(paris(2026, 12, 1, 0, 30), "INT-9", ClockKind.GTI)
    credits = month_credits([breach(5, "INT-1"), december], 2026, 11, PARIS, 120, Policy())
    assert [c.breach.ticket_ref for c in credits] == ["INT-1"]


def test_a_zero_cap_grants_nothing() -> None:
    """credit_cap = 0 disables credits."""
    credits = credits_for([breach(1, "INT-1")], 120, Policy(credit_cap=0))
    assert total(credits) == Decimal("0.00")


def test_each_breach_is_priced_and_capped_with_the_contract_of_its_ticket() -> None:
    """A contract changed within the month: each breach is worth half the fee of its ticket's
    contract, and is cut by that contract's cap, against all the credits before it. Up from
    120 € to 299 €: 60 + 60 reach the old cap, the new contract's breach still gets 149.50 €
    (269.50 € of a 299 € cap); down from 299 € to 120 €: 149.50 € already passes the new cap,
    so its breach gets 0 €."""
    old, new = Decimal("120.00"), Decimal("299.00")
    up = [
        Breach(paris(2026, 11, 3, 12), "INT-1", ClockKind.GTI, old),
        Breach(paris(2026, 11, 4, 12), "INT-2", ClockKind.GTI, old),
        Breach(paris(2026, 11, 5, 12), "INT-3", ClockKind.GTI, old),
        Breach(paris(2026, 11, 20, 12), "INT-4", ClockKind.GTI, new),
    ]
    assert [c.amount for c in credits_for(up, new, Policy())] == [
        Decimal("60.00"),
        Decimal("60.00"),
        Decimal("0.00"),
        Decimal("149.50"),
    ]
    down = [
        Breach(paris(2026, 11, 3, 12), "INT-1", ClockKind.GTI, new),
        Breach(paris(2026, 11, 20, 12), "INT-2", ClockKind.GTI, old),
    ]
    credits = credits_for(down, old, Policy())
    assert [(c.amount, c.full_amount) for c in credits] == [
        (Decimal("149.50"), Decimal("149.50")),
        (Decimal("0.00"), Decimal("60.00")),
    ]
