"""The credit ledger: eligible → requested → granted | declined, refused with a reason otherwise."""

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import UserFacingError
from bot.grammar import Open
from bot.handlers.errors import render_error
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.credits import CreditService
from bot.services.reports import build_month_report
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from bot.storage.models import AuditEvent, Credit, CreditState, OutboxMessage
from tests.services.history import TECH, History, new_terms, open_ticket, paris, services

WEB = "acme-web-01"


@pytest.fixture
def h(sessions: sessionmaker[Session]) -> History:
    return services(sessions)


def refusal(error: pytest.ExceptionInfo[UserFacingError]) -> str:
    return render_error(error.value, Messages("en"))


def breached_gti(h: History) -> int:
    """INT-1: called Monday 10:00, claimed 15:00: GTI (4h) breached at 14:00."""
    ticket = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.SECOURS, "down")
    h.clock.now = paris(11, 2, 15)
    h.tickets.claim(TECH, ticket)
    return ticket


def test_a_credit_moves_eligible_requested_granted_audited_and_told_in_the_thread(
    h: History,
) -> None:
    """Each move is one audit event and one thread post, with the capped amount."""
    ticket = breached_gti(h)
    h.clock.now = paris(11, 3, 10)
    reply = h.credits.request(Actor("U01BBB", "/sla credit request 1"), ticket, "by mail")
    assert reply.text == (
        "INT-1 GTI credit (60.00 €, November 2026) requested by <@U01BBB>. Note: by mail"
    )
    h.clock.now = paris(11, 4, 10)
    h.credits.grant(TECH, ticket)
    with h.sessions() as session:
        credit = session.scalars(select(Credit)).one()
        assert (credit.state, credit.updated_by) == (CreditState.GRANTED, TECH.user_id)
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith("credit."))
        ).all()
        assert [(e.action, e.details["from"], e.details["amount"]) for e in events] == [
            ("credit.requested", "eligible", "60.00"),
            ("credit.granted", "requested", "60.00"),
        ]
        assert events[0].command == "/sla credit request 1"
        posts = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.key.in_([f"INT-1/event/{e.id}" for e in events])
            )
        ).all()
        assert [p.thread_key for p in posts] == ["INT-1/root", "INT-1/root"]
        assert "granted" in posts[1].text


def test_only_the_allowed_transitions(h: History) -> None:
    """Grant before request, request twice, decline after grant: refused, naming the state."""
    ticket = breached_gti(h)
    with pytest.raises(UserFacingError) as error:
        h.credits.grant(TECH, ticket)
    assert refusal(error) == (
        "The GTI credit of INT-1 is eligible: `grant` applies only to a credit that is requested."
    )
    h.credits.request(TECH, ticket)
    with pytest.raises(UserFacingError):
        h.credits.request(TECH, ticket)
    h.credits.decline(TECH, ticket)
    with pytest.raises(UserFacingError) as error:
        h.credits.grant(TECH, ticket)
    assert "is declined" in refusal(error)


def test_a_ticket_that_did_not_breach_gets_no_credit_with_the_reason(h: History) -> None:
    """Met, still within its budget, or out of scope: each says why."""
    met = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.SECOURS, "down")
    h.clock.now = paris(11, 2, 11, 10)
    h.tickets.claim(TECH, met)
    with pytest.raises(UserFacingError) as error:
        h.credits.request(TECH, met)
    assert refusal(error) == "INT-1 met its GTI (1h10m of 4h): no credit."

    running = open_ticket(h, paris(11, 3, 10), WEB, TicketKind.MATERIEL, "disk")
    with pytest.raises(UserFacingError) as error:
        h.credits.request(TECH, running)
    assert refusal(error) == "The GTR of INT-2 has not breached (0m of 8h): no credit."

    open_ticket(h, paris(11, 3, 11), WEB, TicketKind.MAINTENANCE, "two")
    out = open_ticket(h, paris(11, 3, 12), WEB, TicketKind.UTILISATION, "three")
    with pytest.raises(UserFacingError) as error:
        h.credits.request(TECH, out)
    assert refusal(error) == "INT-4 runs no contractual clock (out of scope): no credit."
    with pytest.raises(UserFacingError) as error:
        h.credits.request(TECH, 99)
    assert refusal(error) == "Ticket INT-99 does not exist."
    with h.sessions() as session:
        assert session.scalars(select(Credit)).all() == []


def test_a_clock_still_running_past_its_deadline_can_be_requested(h: History) -> None:
    """Breached but not stopped yet: the credit becomes eligible then requested, at its deadline."""
    ticket = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.MATERIEL, "disk")
    h.clock.now = paris(11, 3, 10)  # GTR 8h business: due Nov 2 18:00
    assert "requested" in h.credits.request(TECH, ticket).text
    with h.sessions() as session:
        credit = session.scalars(select(Credit)).one()
        assert credit.breached_at == paris(11, 2, 18)
        assert credit.state is CreditState.REQUESTED


def test_the_amount_follows_the_monthly_cap(h: History) -> None:
    """Three ACME breaches in a month at 60 € each, capped at 120 €: the third gets 0 €."""
    amounts, replies = [], []
    for day in (2, 3, 4):
        ticket = open_ticket(h, paris(11, day, 9), WEB, TicketKind.MATERIEL, "disk")
        h.clock.now = paris(11, day, 18, 30)
        h.tickets.resolve(TECH, ticket, "")
        replies.append(h.credits.request(TECH, ticket).text)
        amounts.append(replies[-1].split("(")[1].split(",")[0])
    assert amounts == ["60.00 €", "60.00 €", "0.00 €"]
    assert Decimal("120.00") == sum(Decimal(a.split()[0]) for a in amounts)
    assert "Monthly cap" not in replies[0]
    assert "Monthly cap 120.00 €: cut from 60.00 €" in replies[2]  # why 0.00 €


def test_a_contract_changed_mid_month_prices_each_breach_with_the_terms_of_its_ticket(
    h: History,
) -> None:
    """ACME is essentiel (120 €) until Nov 10, premium (299 €) from then on: the GTI INT-1
    breached on Nov 2 was a breach of the essentiel contract and is worth 60 €, the GTI INT-2
    breached on Nov 12 one of the premium contract, worth 149.50 €; the month's report, priced
    with the premium terms in force at its end, keeps both amounts."""
    first = breached_gti(h)
    h = new_terms(h, "acme", "premium", paris(11, 10, 0))
    second = open_ticket(h, paris(11, 12, 10), WEB, TicketKind.SECOURS, "down again")
    h.clock.now = paris(11, 12, 12)
    h.tickets.claim(TECH, second)  # GTI 1h breached at 11:00
    assert "(60.00 €, November 2026)" in h.credits.request(TECH, first).text
    assert "(149.50 €, November 2026)" in h.credits.request(TECH, second).text
    with h.sessions() as session:
        month = build_month_report(session, h.catalog, 2026, 11, now=h.clock(), client_id="acme")
    (acme,) = month.clients
    assert (acme.level, acme.monthly_fee) == ("premium", Decimal("299.00"))
    assert [(c.ticket_ref, c.amount) for c in acme.credits] == [
        ("INT-1", Decimal("60.00")),
        ("INT-2", Decimal("149.50")),
    ]


def test_a_call_backdated_before_a_change_of_contract_is_priced_with_the_contract_called_under(
    h: History,
) -> None:
    """ACME is essentiel (120 €) in November, premium (299 €) from December 1. A call taken on
    Monday November 30 at 16:00 is registered on December 1 at 09:00: it runs on essentiel's
    4h GTI (3h consumed that evening), is claimed at 11:00, breached at 10:00. Its breach is one
    of the essentiel contract, worth 60 €, not half of the premium fee it was registered under."""
    h = new_terms(h, "acme", "premium", paris(12, 1, 0))
    h.clock.now = paris(12, 1, 9)
    h.tickets.open(TECH, Open(WEB, TicketKind.SECOURS, "2026-11-30T16:00", "site down"))
    h.clock.now = paris(12, 1, 11)
    assert "GTI *breached*: 5h of open time, budget 4h" in h.tickets.claim(TECH, 1).text
    assert "(60.00 €, December 2026)" in h.credits.request(TECH, 1).text
    with h.sessions() as session:
        month = build_month_report(session, h.catalog, 2026, 12, now=h.clock(), client_id="acme")
    (acme,) = month.clients
    assert [(c.ticket_ref, c.amount) for c in acme.credits] == [("INT-1", Decimal("60.00"))]


def test_a_requested_credit_of_a_gtr_the_probes_found_met_can_still_be_settled(
    h: History,
) -> None:
    """GTR due 17:00, requested at 17:01; the probes then confirm the server back since 16:59.
    The clock met, but the client asked: the credit stays requested, and is declined (or
    granted) rather than refused as "met" forever while the report lists it as requested."""
    ticket = open_ticket(h, paris(11, 2, 9), WEB, TicketKind.MATERIEL, "disk")
    h.clock.now = paris(11, 2, 17, 1)
    h.credits.request(TECH, ticket)
    h.clock.now = paris(11, 2, 17, 2)
    with h.sessions.begin() as session:
        assert h.tickets.stop_gtr_on_recovery(session, WEB, paris(11, 2, 16, 59)) == [ticket]
    reply = h.credits.decline(TECH, ticket, "restored in time")
    assert reply.text == (
        "INT-1 GTR credit (60.00 €, November 2026) declined by <@U01AAA>. Note: restored in time"
    )
    with h.sessions() as session:
        credit = session.scalars(select(Credit)).one()
        assert credit.state is CreditState.DECLINED


def test_a_call_registered_after_its_deadline_does_not_cut_a_credit_already_granted(
    h: History,
) -> None:
    """ACME's GTR breaches of Nov 2 and Nov 20 (18:00 each) are granted 60 € each, the 120 €
    cap. On Nov 21 a call taken on Nov 20 at 08:00 is registered: its GTR was due on Nov 20 at
    17:00, before INT-2's deadline, but nobody knew of it when INT-2 was granted. It gets what
    the cap left (0 €), not INT-2's 60 €: the 60 € told to the client stay 60 €."""
    for day in (2, 20):
        ticket = open_ticket(h, paris(11, day, 10), WEB, TicketKind.MATERIEL, "disk")
        h.clock.now = paris(11, day, 19, 30)
        h.tickets.resolve(TECH, ticket, "")
        h.credits.request(TECH, ticket)
        assert "(60.00 €, November 2026) granted" in h.credits.grant(TECH, ticket).text
    h.clock.now = paris(11, 21, 8)
    h.tickets.open(TECH, Open(WEB, TicketKind.MATERIEL, "2026-11-20T08:00", "disk again"))
    h.clock.now = paris(11, 21, 9)
    reply = h.credits.request(TECH, 3)
    assert "(0.00 €, November 2026) requested" in reply.text
    assert "Monthly cap 120.00 €: cut from 60.00 €" in reply.text
    with h.sessions() as session:
        month = build_month_report(session, h.catalog, 2026, 11, now=h.clock(), client_id="acme")
    (acme,) = month.clients
    assert [(c.ticket_ref, c.breached_at, c.state, c.amount) for c in acme.credits] == [
        ("INT-1", paris(11, 2, 18), CreditState.GRANTED, Decimal("60.00")),
        ("INT-2", paris(11, 20, 18), CreditState.GRANTED, Decimal("60.00")),
        ("INT-3", paris(11, 20, 17), CreditState.REQUESTED, Decimal("0.00")),
    ]


def test_a_settled_credit_keeps_its_amount_when_an_earlier_breach_is_withdrawn(
    h: History,
) -> None:
    """ACME's INT-1 (secours, Nov 2 10:00) is left unclaimed past its 14:00 GTI deadline; the GTR
    breaches of Nov 3 and Nov 4 come after it: INT-2 is granted 60 €, INT-3 is granted 0 €, the
    120 € cap reached. On Nov 5 INT-1 is quoted as outside the forfait: its clock and eligible
    credit are withdrawn. INT-3 was granted 0 €, told so in its thread and audited so: the report
    says 0 € granted, not 60 € the client was never granted; the cap's 60 € left go to the month's
    next breach."""
    first = open_ticket(h, paris(11, 2, 10), WEB, TicketKind.SECOURS, "new cms")
    settled = []
    for day in (3, 4):
        ticket = open_ticket(h, paris(11, day, 9), WEB, TicketKind.MATERIEL, "disk")
        h.clock.now = paris(11, day, 18, 30)
        h.tickets.resolve(TECH, ticket, "")
        h.credits.request(TECH, ticket)
        settled.append(h.credits.grant(TECH, ticket).text)
    assert "(60.00 €, November 2026) granted" in settled[0]
    assert "(0.00 €, November 2026) granted" in settled[1]
    h.clock.now = paris(11, 5, 10)
    assert (
        "its clocks are withdrawn"
        in h.tickets.settle_scope(TECH, first, quote=True, note="new software").text
    )
    later = open_ticket(h, paris(11, 6, 9), WEB, TicketKind.MATERIEL, "disk again")
    h.clock.now = paris(11, 6, 18, 30)
    h.tickets.resolve(TECH, later, "")
    assert "(60.00 €, November 2026) requested" in h.credits.request(TECH, later).text
    with h.sessions() as session:
        month = build_month_report(session, h.catalog, 2026, 11, now=h.clock(), client_id="acme")
        before = build_month_report(
            session, h.catalog, 2026, 11, now=paris(11, 5, 9), client_id="acme"
        )
    (acme,) = month.clients
    assert [(c.ticket_ref, c.state, c.amount) for c in acme.credits] == [
        ("INT-2", CreditState.GRANTED, Decimal("60.00")),
        ("INT-3", CreditState.GRANTED, Decimal("0.00")),
        ("INT-4", CreditState.REQUESTED, Decimal("60.00")),
    ]
    assert [(c.ticket_ref, c.state, c.amount) for c in before.clients[0].credits] == [
        ("INT-2", CreditState.GRANTED, Decimal("60.00")),
        ("INT-3", CreditState.GRANTED, Decimal("0.00")),
    ]


@pytest.mark.parametrize(
    ("cap", "language", "said"),
    [
        (
            0.75,
            "en",
            [
                "INT-1 GTR credit (60.00 €, November 2026) requested by <@U01AAA>.",
                "INT-2 GTR credit (30.00 €, November 2026) requested by <@U01AAA>. Monthly cap "
                "90.00 €: cut from 60.00 €, the month's earlier breaches (declined ones included) "
                "having taken 60.00 €.",
            ],
        ),
        (
            0.0,
            "en",
            [
                "INT-1 GTR credit (0.00 €, November 2026) requested by <@U01AAA>. Monthly cap "
                "0.00 €: cut from 60.00 €, the month's earlier breaches (declined ones included) "
                "having taken 0.00 €.",
                "INT-2 GTR credit (0.00 €, November 2026) requested by <@U01AAA>. Monthly cap "
                "0.00 €: cut from 60.00 €, the month's earlier breaches (declined ones included) "
                "having taken 0.00 €.",
            ],
        ),
        (
            0.75,
            "fr",
            [
                "Avoir GTR du ticket INT-1 (60,00 €, novembre 2026) demandé par <@U01AAA>.",
                "Avoir GTR du ticket INT-2 (30,00 €, novembre 2026) demandé par <@U01AAA>. "
                "Plafond mensuel de 90,00 € : ramené de 60,00 €, les dépassements antérieurs du "
                "mois (refusés compris) en ayant pris 60,00 €.",
            ],
        ),
    ],
)
def test_a_credit_cut_by_the_cap_says_the_cap_and_what_the_earlier_breaches_took(
    h: History, cap: float, language: str, said: list[str]
) -> None:
    """The cut is explained with the figures: a cap of 75 % (90 €) leaves 30 € to the second
    breach of 60 €, which the earlier breaches did not "reach"; a cap of 0 % cuts the month's first
    breach, though no earlier breach took anything."""
    catalog = h.catalog.model_copy(
        update={"policy": h.catalog.policy.model_copy(update={"credit_cap": cap})}
    )
    h.catalog = catalog
    h.tickets = TicketService(h.sessions, catalog, Messages(language), clock=h.clock)
    h.credits = CreditService(h.sessions, catalog, Messages(language), clock=h.clock)
    replies = []
    for day in (2, 3):
        ticket = open_ticket(h, paris(11, day, 9), WEB, TicketKind.MATERIEL, "disk")
        h.clock.now = paris(11, day, 18, 30)
        h.tickets.resolve(TECH, ticket, "")
        replies.append(h.credits.request(TECH, ticket).text)
    assert replies == said
