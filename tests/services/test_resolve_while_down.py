"""Resolving a ticket while the probes still see its server down: a confirmation first."""

from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from bot.storage.probes import add_outage
from tests.services.history import paris, services

TECH = Actor("U01AAA")
DB = "globex-db-01"  # Globex, premium: GTR 4 h around the clock, probed


def test_a_note_too_long_for_the_confirmation_button_is_not_lost_silently(
    sessions: sessionmaker[Session],
) -> None:
    """Resolving while the probes see the server down asks for confirmation, and its button
    carries the note. One that cannot fit (Slack holds 2,000 characters) gets no button."""
    h = services(sessions)
    with h.sessions.begin() as session:
        add_outage(session, DB, started_at=paris(11, 27, 9, 0), confirmed_at=paris(11, 27, 9, 2))
    h.clock.now = paris(11, 27, 9, 20)
    h.tickets.open(TECH, Open(DB, TicketKind.MATERIEL, None, "disk"))
    short = h.tickets.resolve(TECH, 1, "swapped the disk")
    assert short.blocks is not None
    assert short.blocks[1]["elements"][0]["value"] == "1 swapped the disk"
    long = h.tickets.resolve(TECH, 1, "x" * 2000)
    assert long.blocks is not None
    assert len(long.blocks) == 1
    assert "too long to go with the confirmation" in long.text


def test_a_server_the_catalog_no_longer_probes_is_not_said_to_be_down(
    sessions: sessionmaker[Session],
) -> None:
    """Its outage was left open when it left the catalog (nothing can end it any more): resolve
    stops the GTR at once, as for any server without probes, instead of claiming that probes
    still see it down."""
    h = services(sessions)
    with h.sessions.begin() as session:
        add_outage(session, DB, started_at=paris(11, 27, 9, 0), confirmed_at=paris(11, 27, 9, 2))
    h.clock.now = paris(11, 27, 9, 20)
    h.tickets.open(TECH, Open(DB, TicketKind.MATERIEL, None, "disk"))
    assert "Probes still see" in h.tickets.resolve(TECH, 1, "swapped").text
    catalog = h.catalog.model_copy(update={"servers": [s for s in h.catalog.servers if s.id != DB]})
    tickets = TicketService(sessions, catalog, Messages("en"), clock=h.clock)
    resolved = tickets.resolve(TECH, 1, "swapped").text
    assert resolved.startswith("INT-1 resolved by <@U01AAA>")
    assert "GTR met" in resolved
