"""A ticket past the client's monthly allowance is registered out of scope, and says which
month's allowance it is past; refused, it is closed with its wait on the client, if any."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.reports import ReportService
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from bot.storage.models import TicketPause
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


def test_refusing_a_ticket_that_waits_on_the_client_ends_the_wait(
    sessions: sessionmaker[Session],
) -> None:
    """Waiting on the client for an answer to the quote, then refused: the ticket is closed,
    and so is its wait. Left open, no `resume` could end it (the ticket is closed), and the
    month's report would count it on and on as time spent waiting on the client."""
    h = services(sessions)
    open_ticket(h, paris(11, 27, 10), WEB, TicketKind.SECOURS, "site down")
    open_ticket(h, paris(11, 27, 10, 5), WEB, TicketKind.MAINTENANCE, "update php")
    ticket = open_ticket(h, paris(11, 27, 10, 10), WEB, TicketKind.UTILISATION, "training")
    h.clock.now = paris(11, 27, 11)
    h.tickets.wait(TECH, ticket, "does the client accept the quote?")
    h.clock.now = paris(11, 27, 12)
    h.tickets.settle_scope(TECH, ticket, quote=False, note="client said no")
    with sessions() as session:
        (pause,) = session.scalars(select(TicketPause).where(TicketPause.ticket_id == ticket))
        assert (pause.ended_at, pause.ended_by) == (paris(11, 27, 12), TECH.user_id)
    h.clock.now = paris(11, 30, 12)
    reports = ReportService(sessions, h.catalog, Messages("en"), clock=h.clock)
    (acme,) = reports.build(2026, 11, client="acme").clients
    line = next(t for t in acme.tickets if t.ref == f"INT-{ticket}")
    assert line.paused == timedelta(hours=1)
