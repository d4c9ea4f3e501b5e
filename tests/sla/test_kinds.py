"""Ticket kinds: French and English names, the clock each runs, the allowance."""

import pytest

from bot.sla import (
    ClockKind,
    TicketKind,
    clock_for,
    counts_towards_allowance,
    parse_clock_kind,
    parse_kind,
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("secours", TicketKind.SECOURS),
        ("Incident", TicketKind.SECOURS),
        ("maintenance", TicketKind.MAINTENANCE),
        ("utilisation", TicketKind.UTILISATION),
        ("USAGE", TicketKind.UTILISATION),
        ("materiel", TicketKind.MATERIEL),
        ("matériel", TicketKind.MATERIEL),
        ("Matériel", TicketKind.MATERIEL),
        ("hardware", TicketKind.MATERIEL),
        ("réseau", TicketKind.RESEAU),
        ("RÉSEAU", TicketKind.RESEAU),
        ("network", TicketKind.RESEAU),
        (" reseau ", TicketKind.RESEAU),
    ],
)
def test_kind_names_are_read_in_french_or_english(text: str, kind: TicketKind) -> None:
    """Names are case- and accent-insensitive, French or English."""
    assert parse_kind(text) is kind


def test_an_unknown_kind_lists_the_valid_names() -> None:
    """The error tells the user what to type instead."""
    with pytest.raises(ValueError, match="unknown ticket kind 'panne'") as error:
        parse_kind("panne")
    assert "secours|incident" in str(error.value)
    assert "reseau|network" in str(error.value)


@pytest.mark.parametrize(
    ("kind", "clock", "counts"),
    [
        (TicketKind.SECOURS, ClockKind.GTI, True),
        (TicketKind.MAINTENANCE, ClockKind.GTI, True),
        (TicketKind.UTILISATION, ClockKind.GTI, True),
        (TicketKind.MATERIEL, ClockKind.GTR, False),
        (TicketKind.RESEAU, ClockKind.GTR, False),
    ],
)
def test_software_kinds_run_gti_and_count_infrastructure_kinds_run_gtr(
    kind: TicketKind, clock: ClockKind, counts: bool
) -> None:
    """Software kinds: GTI and the allowance; hardware and network: GTR, outside it."""
    assert clock_for(kind) is clock
    assert counts_towards_allowance(kind) is counts


def test_clock_names_parse_and_reject() -> None:
    """gti/gtr parse case-insensitively; anything else is a ValueError naming both."""
    assert parse_clock_kind("GTR") is ClockKind.GTR
    with pytest.raises(ValueError, match="one of gti, gtr"):
        parse_clock_kind("sla")
