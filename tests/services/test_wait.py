"""`wait` on a ticket whose clock already breached: the wait saves nothing, and says so."""

from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.messages import Messages
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from tests.services.history import TECH, paris, services

WEB = "acme-web-01"  # ACME, essentiel: GTI 4h, GTR 8h on business hours


def test_a_wait_on_a_breached_clock_says_the_breach_stands(
    sessions: sessionmaker[Session],
) -> None:
    """GTR called Monday 09:00, due 17:00; put on hold at 17:30, it stays breached since 17:00
    (`show` says so): the reply said "The clock is paused", as if the wait stopped the count."""
    h = services(sessions)
    h.clock.now = paris(11, 30, 9, 0)
    h.tickets.open(TECH, Open(WEB, TicketKind.MATERIEL, None, "disk"))
    h.clock.now = paris(11, 30, 17, 30)
    assert h.tickets.wait(TECH, 1, "codes").text == (
        "INT-1 is waiting on the client (<@U01AAA>): codes. The GTR breached at 2026-11-30 "
        "17:00: the wait does not change that."
    )
    assert "GTR 8h: *breached* since 2026-11-30 17:00" in h.tickets.show(1).text


def test_a_wait_on_a_breached_clock_says_the_breach_stands_in_french(
    sessions: sessionmaker[Session],
) -> None:
    h = services(sessions)
    tickets = TicketService(sessions, h.catalog, Messages("fr"), clock=h.clock)
    h.clock.now = paris(11, 30, 9, 0)
    tickets.open(TECH, Open(WEB, TicketKind.SECOURS, None, "site lent"))
    h.clock.now = paris(11, 30, 13, 1)
    assert tickets.wait(TECH, 1, "codes d'accès").text == (
        "INT-1 en attente client (<@U01AAA>) : codes d'accès. La GTI est dépassée depuis "
        "2026-11-30 13:00 : l'attente n'y change rien."
    )


def test_a_wait_at_the_deadline_still_pauses_the_clock(
    sessions: sessionmaker[Session],
) -> None:
    """Exactly at 13:00, the GTI due then is not breached yet: the wait pauses it."""
    h = services(sessions)
    h.clock.now = paris(11, 30, 9, 0)
    h.tickets.open(TECH, Open(WEB, TicketKind.SECOURS, None, "site slow"))
    h.clock.now = paris(11, 30, 13, 0)
    assert h.tickets.wait(TECH, 1, "codes").text.endswith("codes. The clock is paused.")


def test_claiming_a_waiting_ticket_whose_clock_breached_does_not_call_it_paused(
    sessions: sessionmaker[Session],
) -> None:
    """GTR due 17:00, on hold from 17:30, claimed at 18:00: the clock is breached, not paused;
    the claim says the ticket still waits on the client, as for a ticket with no clock."""
    h = services(sessions)
    h.clock.now = paris(11, 30, 9, 0)
    h.tickets.open(TECH, Open(WEB, TicketKind.MATERIEL, None, "disk"))
    h.clock.now = paris(11, 30, 17, 30)
    h.tickets.wait(TECH, 1, "codes")
    h.clock.now = paris(11, 30, 18, 0)
    assert h.tickets.claim(TECH, 1).text == (
        "INT-1 claimed by <@U01AAA>. Still waiting on the client since 2026-11-30 17:30 "
        "(codes): no update nudge until `/intervention resume 1`."
    )
