"""Ticket kinds, the clock each one runs, and whether it counts towards the monthly allowance."""

import unicodedata
from enum import StrEnum


class TicketKind(StrEnum):
    """What an intervention is about; the value is the canonical (French) name."""

    SECOURS = "secours"
    MAINTENANCE = "maintenance"
    UTILISATION = "utilisation"
    MATERIEL = "materiel"
    RESEAU = "reseau"


class ClockKind(StrEnum):
    """The two contractual clocks: time to intervention and time to restore."""

    GTI = "gti"
    GTR = "gtr"


SOFTWARE_KINDS = frozenset({TicketKind.SECOURS, TicketKind.MAINTENANCE, TicketKind.UTILISATION})

_ALIASES: dict[str, TicketKind] = {
    "secours": TicketKind.SECOURS,
    "incident": TicketKind.SECOURS,
    "maintenance": TicketKind.MAINTENANCE,
    "utilisation": TicketKind.UTILISATION,
    "usage": TicketKind.UTILISATION,
    "materiel": TicketKind.MATERIEL,
    "hardware": TicketKind.MATERIEL,
    "reseau": TicketKind.RESEAU,
    "network": TicketKind.RESEAU,
}


def _fold(text: str) -> str:
    # Technicians type "matériel" or "Réseau" as often as the plain spelling.
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def parse_kind(text: str) -> TicketKind:
    """Read a French or English kind name, case- and accent-insensitive; ValueError otherwise."""
    kind = _ALIASES.get(_fold(text))
    if kind is None:
        valid = (
            "secours|incident, maintenance, utilisation|usage, materiel|hardware, reseau|network"
        )
        raise ValueError(f"unknown ticket kind {text!r} (one of {valid})")
    return kind


def parse_clock_kind(text: str) -> ClockKind:
    """Read `gti` or `gtr`, case-insensitive; ValueError otherwise."""
    try:
        return ClockKind(text.strip().lower())
    except ValueError:
        raise ValueError(f"unknown clock {text!r} (one of gti, gtr)") from None


def clock_for(kind: TicketKind) -> ClockKind:
    """Software kinds run the GTI clock, infrastructure kinds the GTR clock."""
    return ClockKind.GTI if kind in SOFTWARE_KINDS else ClockKind.GTR


def counts_towards_allowance(kind: TicketKind) -> bool:
    """Only software kinds use up the client's monthly interventions."""
    return kind in SOFTWARE_KINDS
