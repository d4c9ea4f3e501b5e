"""Claiming a ticket that waits on the client: the wait goes on, and the claim says so."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from bot.storage.models import OutboxMessage
from tests.services.history import paris, services

TECH = Actor("U01AAA")
WEB = "acme-web-01"  # ACME, essentiel: GTI 4h, GTR 8h on business hours


def thread_posts(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [row.text for row in rows if "/event/" in row.key]


def test_claiming_a_ticket_whose_clock_waits_on_the_client_says_the_clock_is_paused(
    sessions: sessionmaker[Session],
) -> None:
    """GTR paused at 10:10 for the client; claimed at 10:30, the GTR is still paused, and stays
    so until someone resumes: the reply and the thread say since when, why, and how to resume."""
    h = services(sessions)
    h.clock.now = paris(11, 27, 10, 0)
    h.tickets.open(TECH, Open(WEB, TicketKind.MATERIEL, None, "disk"))
    h.clock.now = paris(11, 27, 10, 10)
    h.tickets.wait(TECH, 1, "client <away>")
    h.clock.now = paris(11, 27, 10, 30)
    reply = h.tickets.claim(TECH, 1)
    assert reply.text == (
        "INT-1 claimed by <@U01AAA>. The clock is paused since 2026-11-27 10:10 (waiting on the "
        "client: client &lt;away&gt;); `/intervention resume 1` restarts it."
    )
    assert thread_posts(sessions)[-1] == reply.text


def test_claiming_a_waiting_ticket_stops_its_gti_and_says_the_wait_goes_on_in_french(
    sessions: sessionmaker[Session],
) -> None:
    """The claim stops the GTI (no clock is left paused), but the ticket still waits on the
    client, and no update nudge comes until someone resumes."""
    h = services(sessions)
    tickets = TicketService(sessions, h.catalog, Messages("fr"), clock=h.clock)
    h.clock.now = paris(11, 27, 10, 0)
    tickets.open(TECH, Open(WEB, TicketKind.SECOURS, None, "site lent"))
    h.clock.now = paris(11, 27, 10, 10)
    tickets.wait(TECH, 1, "codes d'accès")
    h.clock.now = paris(11, 27, 10, 30)
    reply = tickets.claim(TECH, 1)
    assert reply.text == (
        "INT-1 pris en charge par <@U01AAA>. GTI respectée : 10m de délai consommé sur 4h. "
        "Toujours en attente client depuis 2026-11-27 10:10 (codes d'accès) : aucune relance "
        "avant `/intervention resume 1`."
    )
    assert thread_posts(sessions)[-1] == reply.text


def test_claiming_a_ticket_not_waiting_says_nothing_of_a_wait(
    sessions: sessionmaker[Session],
) -> None:
    h = services(sessions)
    h.clock.now = paris(11, 27, 10, 0)
    h.tickets.open(TECH, Open(WEB, TicketKind.MATERIEL, None, "disk"))
    h.clock.now = paris(11, 27, 10, 10)
    h.tickets.wait(TECH, 1, "client away")
    h.clock.now = paris(11, 27, 10, 20)
    h.tickets.resume(TECH, 1)
    assert h.tickets.claim(TECH, 1).text == "INT-1 claimed by <@U01AAA>."


def test_a_claim_after_closing_time_past_the_deadline_says_which_deadline_it_missed(
    sessions: sessionmaker[Session],
) -> None:
    """4 h GTI on business hours (Friday 09:00-19:00), called Friday 15:00: due 19:00. Claimed
    at 19:30 it is breached, though the calendar, closed since 19:00, counts only 4h of 4h:
    the reply says the deadline, not a contradiction ("breached: 4h of 4h")."""
    h = services(sessions)
    h.clock.now = paris(11, 27, 15, 0)
    h.tickets.open(TECH, Open(WEB, TicketKind.SECOURS, None, "site slow"))
    h.tickets.open(TECH, Open(WEB, TicketKind.SECOURS, None, "mail down"))
    h.clock.now = paris(11, 27, 19, 30)
    assert h.tickets.claim(TECH, 1).text == (
        "INT-1 claimed by <@U01AAA>. GTI *breached*: due 2026-11-27 19:00, claimed after closing "
        "time (4h of open time, budget 4h)."
    )
    tickets = TicketService(sessions, h.catalog, Messages("fr"), clock=h.clock)
    h.clock.now = paris(11, 27, 19, 40)
    assert tickets.claim(TECH, 2).text == (
        "INT-2 pris en charge par <@U01AAA>. GTI *dépassée* : échéance 2026-11-27 19:00, prise en "
        "charge après la fermeture (4h de délai sur 4h)."
    )
