"""The monthly allowance: Paris calendar months, software kinds only."""

from datetime import UTC, datetime

import pytest

from bot.sla import (
    Intervention,
    TicketKind,
    allowance_usage,
    month_bounds,
    month_of,
    within_allowance,
)
from tests.sla.calendars import PARIS, paris


def test_month_bounds_are_paris_midnights_in_utc() -> None:
    """November 2026 in Paris runs from 31 Oct 23:00 UTC to 30 Nov 23:00 UTC."""
    assert month_bounds(2026, 11, PARIS) == (
        datetime(2026, 10, 31, 23, tzinfo=UTC),
        datetime(2026, 11, 30, 23, tzinfo=UTC),
    )


def test_month_bounds_follow_dst_and_the_year_end() -> None:
    """October starts at 22:00 UTC (summer time) and December ends at 23:00 UTC on 31 Dec."""
    assert month_bounds(2026, 10, PARIS)[0] == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert month_bounds(2026, 12, PARIS)[1] == datetime(2026, 12, 31, 23, tzinfo=UTC)
    with pytest.raises(ValueError, match="1-12"):
        month_bounds(2026, 13, PARIS)


def test_month_of_reads_the_instant_in_the_catalog_zone() -> None:
    """00:30 Paris on 1 December is December, though still November in UTC."""
    assert month_of(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), PARIS) == (2026, 12)
    assert month_of(datetime(2026, 11, 30, 22, 30, tzinfo=UTC), PARIS) == (2026, 11)


TICKETS = [
    Intervention(TicketKind.SECOURS, paris(2026, 11, 2, 10)),
    Intervention(TicketKind.MAINTENANCE, paris(2026, 11, 15, 10)),
    Intervention(TicketKind.MATERIEL, paris(2026, 11, 16, 10)),
    Intervention(TicketKind.RESEAU, paris(2026, 11, 17, 10)),
    Intervention(TicketKind.SECOURS, paris(2026, 10, 31, 23, 59)),  # October
    Intervention(TicketKind.UTILISATION, paris(2026, 12, 1, 0, 30)),  # December
]


def test_usage_counts_software_kinds_of_the_month_by_kind() -> None:
    """Hardware and network tickets do not count; neither do other months."""
    usage = allowance_usage(TICKETS, 2026, 11, PARIS, allowance=2)
    assert usage.used == 2
    assert usage.by_kind == {TicketKind.SECOURS: 1, TicketKind.MAINTENANCE: 1}
    assert usage.remaining == 0
    assert usage.exhausted


def test_a_new_software_ticket_past_the_allowance_is_not_covered() -> None:
    """Two used out of two: a third software ticket in November is out of the allowance."""
    assert not within_allowance(TICKETS, TicketKind.UTILISATION, paris(2026, 11, 20), PARIS, 2)
    assert within_allowance(TICKETS, TicketKind.UTILISATION, paris(2026, 11, 20), PARIS, 3)


def test_infrastructure_tickets_are_always_within_the_allowance() -> None:
    """materiel and reseau never use up interventions."""
    assert within_allowance(TICKETS, TicketKind.MATERIEL, paris(2026, 11, 20), PARIS, 0)


def test_a_new_month_starts_afresh() -> None:
    """December has one ticket so far: a second one fits an allowance of 2."""
    assert within_allowance(TICKETS, TicketKind.SECOURS, paris(2026, 12, 3), PARIS, 2)
