"""A ticket past the client's monthly allowance is registered out of scope, and says which
month's allowance it is past."""

from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from tests.services.history import open_ticket, paris, services

TECH = Actor("U01AAA")
WEB = "acme-web-01"  # ACME, essentiel: 2 interventions a month


def test_a_call_backdated_into_last_month_names_the_month_whose_allowance_is_used_up(
    sessions: sessionmaker[Session],
) -> None:
    """ACME used its 2 interventions in November. At 00:10 on 1 December, a call taken at
    23:50 the night before counts against November: the reply names November, not "this
    month" (December's allowance is untouched)."""
    h = services(sessions)
    open_ticket(h, paris(11, 30, 20), WEB, TicketKind.SECOURS, "site down")
    open_ticket(h, paris(11, 30, 21), WEB, TicketKind.MAINTENANCE, "update php")
    h.clock.now = paris(12, 1, 0, 10)
    french = TicketService(sessions, h.catalog, Messages("fr"), clock=h.clock)
    reply = french.open(TECH, Open(WEB, TicketKind.UTILISATION, "23:50", "training"))
    assert "le forfait d'ACME SARL est épuisé en novembre 2026 (2/2)" in reply.text
    reply = h.tickets.open(TECH, Open(WEB, TicketKind.UTILISATION, "23:55", "training"))
    assert "ACME SARL's allowance is used up in November 2026 (2/2)" in reply.text
    reply = h.tickets.open(TECH, Open(WEB, TicketKind.UTILISATION, None, "training"))
    assert "out of scope" not in reply.text
