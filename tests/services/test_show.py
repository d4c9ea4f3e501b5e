"""`show` and `/sla status INT-n` of one ticket: the on-call answering the client's call about
"the ticket you closed yesterday" reads who closed it, when and with what note, and where its
credit stands; all of it in the one statement `show` makes, open ticket or closed."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from tests.services.history import TECH, History, open_ticket, paris, services

WEB = "acme-web-01"
TECH2 = Actor("U01BBB")


@pytest.fixture
def h(sessions: sessionmaker[Session]) -> History:
    return services(sessions)


@contextmanager
def counted(h: History) -> Iterator[list[str]]:
    """The SQL statements run meanwhile (BEGIN and ROLLBACK aside)."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.startswith(("BEGIN", "ROLLBACK", "COMMIT")):
            statements.append(statement)

    engine = h.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def context_lines(blocks: list[dict[str, object]] | None) -> list[str]:
    assert blocks is not None
    return [
        element["text"]
        for block in blocks
        if block["type"] == "context"
        for element in block["elements"]  # type: ignore[attr-defined]
    ]


def test_a_resolved_ticket_says_who_closed_it_when_and_the_note(h: History) -> None:
    """Resolved by a mention, at the local time with its date, the note escaped, and the
    clock's final verdict; in the text and the blocks, for `show` and `/sla status INT-n`."""
    ticket = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.MATERIEL, "disk")
    h.clock.now = paris(11, 2, 12, 15)
    h.tickets.resolve(TECH2, ticket, "disk <swapped> & RAID rebuilt")
    h.clock.now = paris(11, 3, 3)  # the client calls at night
    closed = (
        "Resolved by <@U01BBB> on 2026-11-02 12:15. Note: disk &lt;swapped&gt; &amp; RAID rebuilt."
    )
    for reply in (h.tickets.show(ticket), h.tickets.status(f"INT-{ticket}")):
        assert closed in reply.text
        assert "GTR 8h: met (2h15m)" in reply.text  # the final verdict: taken of the budget
        assert any(closed in line for line in context_lines(reply.blocks))


def test_a_ticket_refused_out_of_scope_says_so_with_the_reason(h: History) -> None:
    open_ticket(h, paris(11, 2, 10), WEB, TicketKind.UTILISATION, "one")
    open_ticket(h, paris(11, 2, 11), WEB, TicketKind.UTILISATION, "two")
    out = open_ticket(h, paris(11, 2, 12), WEB, TicketKind.UTILISATION, "new cms")
    h.clock.now = paris(11, 2, 12, 30)
    h.tickets.settle_scope(TECH, out, quote=False, note="not in the contract")
    assert (
        "Refused (out of scope) by <@U01AAA> on 2026-11-02 12:30. Note: not in the contract."
        in h.tickets.show(out).text
    )


def test_a_closing_note_is_cut_on_its_characters_before_it_is_escaped(h: History) -> None:
    """The 500 characters shown are the note's, not its escaped form's: 499 characters and
    `&` are shown whole, `&` escaped; a note of 600 `<` shows 499 of them, then "…"."""
    fits = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.MATERIEL, "disk")
    long = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.RESEAU, "switch")
    h.clock.now = paris(11, 2, 11)
    h.tickets.resolve(TECH, fits, "x" * 499 + "&")
    h.tickets.resolve(TECH, long, "<" * 600)
    assert "Note: " + "x" * 499 + "&amp;." in h.tickets.show(fits).text
    assert "Note: " + "&lt;" * 499 + "…" in h.tickets.show(long).text
    assert "&lt;" * 500 not in h.tickets.show(long).text


def test_a_long_closing_note_is_cut_and_a_ticket_closed_without_one_says_nothing_more(
    h: History,
) -> None:
    long = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.MATERIEL, "disk")
    bare = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.RESEAU, "switch")
    h.clock.now = paris(11, 2, 11)
    h.tickets.resolve(TECH, long, "x" * 3000)
    h.tickets.resolve(TECH, bare, "")
    text = h.tickets.show(long).text
    assert "Note: " + "x" * 499 + "…" in text
    assert "x" * 500 not in text
    shown = h.tickets.show(bare).text
    assert "Resolved by <@U01AAA> on 2026-11-02 11:00." in shown
    assert "Note:" not in shown


def test_an_open_ticket_says_nothing_of_a_closing(h: History) -> None:
    ticket = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.MATERIEL, "disk")
    text = h.tickets.show(ticket).text
    assert "Resolved" not in text
    assert "credit" not in text


def test_a_credit_is_shown_eligible_then_with_its_amount_once_requested_and_granted(
    h: History,
) -> None:
    """Open (the GTI breached when claimed late) and then resolved: the credit's state, and
    the amount the ledger told once it was requested; in both languages."""
    ticket = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.SECOURS, "site down")
    h.clock.now = paris(11, 2, 15)
    h.tickets.claim(TECH, ticket)  # GTI 4h breached at 14:00: eligible
    # Technicians record the request the client made: the hint does not read as the client's.
    eligible = "GTI credit: eligible. At the client's request: `/sla credit request INT-1`."
    assert eligible in h.tickets.show(ticket).text
    assert eligible in h.tickets.status("INT-1").text
    french = TicketService(h.sessions, h.catalog, Messages("fr"), clock=h.clock)
    assert (
        "Avoir GTI : éligible. À la demande du client : `/sla credit request INT-1`."
        in french.show(ticket).text
    )
    h.clock.now = paris(11, 3, 10)
    h.credits.request(TECH, ticket)
    assert "GTI credit: requested, 60.00 €." in h.tickets.show(ticket).text
    h.tickets.resolve(TECH, ticket, "fixed")
    h.clock.now = paris(11, 4, 10)
    h.credits.grant(TECH, ticket)
    reply = h.tickets.show(ticket)
    assert "GTI credit: granted, 60.00 €." in reply.text
    assert any("GTI credit: granted, 60.00 €." in line for line in context_lines(reply.blocks))
    text = french.show(ticket).text
    assert "Avoir GTI : accordé, 60,00 €." in text
    assert "Clos par <@U01AAA> le 2026-11-03 10:00. Note : fixed." in text


def test_a_declined_credit_is_shown_declined(h: History) -> None:
    ticket = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.MATERIEL, "disk")
    h.clock.now = paris(11, 3, 10)  # GTR 8h business: breached Nov 2 18:00, still running
    h.credits.request(TECH, ticket)
    h.credits.decline(TECH, ticket, "caused by the client")
    assert "GTR credit: declined, 60.00 €." in h.tickets.show(ticket).text


def test_show_reads_a_ticket_open_or_closed_in_one_statement(h: History) -> None:
    """`show` is on the latency-critical path: the closing note and the credits come with the
    ticket, whatever the ticket."""
    ticket = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.SECOURS, "site down")
    with counted(h) as statements:
        h.tickets.show(ticket)
    assert len(statements) == 1
    h.clock.now = paris(11, 2, 15)
    h.tickets.claim(TECH, ticket)
    h.credits.request(TECH, ticket)
    h.tickets.wait(TECH, ticket, "password")
    h.tickets.resolve(TECH, ticket, "fixed")
    with counted(h) as statements:
        text = h.tickets.show(ticket).text
    assert len(statements) == 1
    assert "Note: fixed." in text
    assert "GTI credit: requested, 60.00 €." in text


def test_a_long_reason_gives_way_to_the_credit_in_french_cut_between_entities(
    h: History,
) -> None:
    """The longest reason a command carries, all `&`: escaped, it is cut after a whole
    `&amp;`, and the credit's hint after it shows whole, within Slack's 3,000 characters."""
    french = TicketService(h.sessions, h.catalog, Messages("fr"), clock=h.clock)
    ticket = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.SECOURS, "site down")
    h.clock.now = paris(11, 2, 15)
    french.claim(TECH, ticket)  # GTI 4h breached at 14:00: eligible
    french.wait(TECH2, ticket, "&" * 598)
    (shown,) = [line for line in context_lines(french.show(ticket).blocks) if "attente" in line]
    assert len(shown) <= 3000
    assert "(<@U01BBB>) : &amp;&amp;" in shown
    assert (
        "&amp;…\nAvoir GTI : éligible. À la demande du client : `/sla credit request INT-1`."
        in (shown)
    )
