"""The monthly report: a month of history built through the services, figures checked against
values worked out by hand (tests/services/history.py), on SQLite and PostgreSQL."""

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import ServerSpec, load_catalog
from bot.errors import UserFacingError
from bot.grammar import parse_report
from bot.messages import Messages
from bot.probes.rollup import Rollup
from bot.probes.state import StreakState
from bot.sandbox.limits import text_too_long
from bot.services.audit import Actor
from bot.services.reports import (
    ClientReport,
    MonthReport,
    ReportService,
    ServerAvailability,
    build_month_report,
    first_business_day,
    to_csv,
    to_json,
    to_slack,
    to_text,
)
from bot.sla import ClockState, TicketKind
from bot.storage.catalog_sync import sync_catalog
from bot.storage.models import CreditState, OutboxMessage, Scope, Server, TicketStatus
from bot.storage.probes import add_outage, close_outage, save_probe_state, save_rollups
from tests.services.history import (
    EXAMPLE_CATALOG,
    PARIS,
    REPORT_AT,
    TECH,
    History,
    build_history,
    move_server,
    new_terms,
    open_ticket,
    outage,
    paris,
    services,
)

HOUR = timedelta(hours=1)


@pytest.fixture
def history(sessions: sessionmaker[Session]) -> History:
    return build_history(sessions)


def report(
    h: History, year: int, month: int, client: str | None = None, *, at: datetime = REPORT_AT
) -> MonthReport:
    with h.sessions() as session:
        return build_month_report(
            session, h.catalog, year, month, now=at.astimezone(UTC),
            client_id=client,
        )  # fmt: skip


def client_of(month: MonthReport, client_id: str) -> ClientReport:
    return next(c for c in month.clients if c.client_id == client_id)


def test_acme_november_figures_equal_the_hand_computed_ones(history: History) -> None:
    """Kinds, allowance, out of scope, clocks, restorations, pauses, outages, availability."""
    acme = client_of(report(history, 2026, 11), "acme")
    assert [t.ref for t in acme.tickets] == [f"INT-{n}" for n in (3, 4, 5, 6, 7, 8, 9, 11, 12)]
    assert acme.by_kind == {
        TicketKind.SECOURS: 2,
        TicketKind.MAINTENANCE: 1,
        TicketKind.UTILISATION: 2,
        TicketKind.MATERIEL: 3,
        TicketKind.RESEAU: 1,
    }
    assert (acme.allowance.used, acme.allowance.allowance) == (2, 2)
    assert acme.out_of_scope == {Scope.QUOTED: 1, Scope.REFUSED: 1, Scope.PENDING: 1}
    states = acme.clock_states
    assert (states[ClockState.MET], states[ClockState.BREACHED]) == (2, 4)
    assert states[ClockState.RUNNING] == states[ClockState.PAUSED] == 0
    assert acme.restorations == {"probe": 1, "hand": 3}
    assert (acme.pause_count, acme.paused) == (1, 2 * HOUR)
    consumed = {t.ref: t.clock.consumed for t in acme.tickets if t.clock is not None}
    assert consumed == {
        "INT-3": HOUR,
        "INT-4": 5 * HOUR,
        "INT-8": 10 * HOUR,
        "INT-9": 2 * HOUR,
        "INT-11": 13 * HOUR,
        "INT-12": 9 * HOUR,
    }
    int4 = next(t for t in acme.tickets if t.ref == "INT-4")
    assert int4.clock is not None
    assert int4.clock.deadline == paris(11, 3, 16)
    # Outage of Nov 9 (08:50-19:00) and the first hour of the Nov 30 23:00 one.
    downtime = timedelta(hours=10, minutes=10) + HOUR
    assert (len(acme.outages), acme.downtime) == (2, downtime)
    (web,) = acme.servers
    assert web.server_id == "acme-web-01"
    assert web.availability == pytest.approx(1 - downtime / timedelta(days=30))


def test_credits_are_capped_per_month_and_belong_to_the_month_of_their_deadline(
    history: History,
) -> None:
    """ACME: 60 € granted, 60 € declined, then the cap (120 €) leaves 0 €; December gets INT-12."""
    acme = client_of(report(history, 2026, 11), "acme")
    lines = [(c.ticket_ref, c.state, c.amount, c.full_amount) for c in acme.credits]
    assert lines == [
        ("INT-4", CreditState.GRANTED, Decimal("60.00"), Decimal("60.00")),
        ("INT-8", CreditState.DECLINED, Decimal("60.00"), Decimal("60.00")),
        ("INT-11", CreditState.ELIGIBLE, Decimal("0.00"), Decimal("60.00")),
    ]
    assert acme.credit_cap == Decimal("120.00")
    totals = acme.credit_totals
    assert (totals[CreditState.GRANTED].count, totals[CreditState.GRANTED].amount) == (
        1,
        Decimal("60.00"),
    )
    assert totals[CreditState.ELIGIBLE].amount == Decimal("0.00")
    assert totals[CreditState.REQUESTED].count == 0
    int12 = next(t for t in acme.tickets if t.ref == "INT-12")
    (credit,) = int12.credits
    assert (credit.month_label, credit.amount) == ("2026-12", Decimal("60.00"))

    december = client_of(report(history, 2026, 12), "acme")
    assert [(c.ticket_ref, c.amount) for c in december.credits] == [("INT-12", Decimal("60.00"))]
    assert [(t.ref, t.in_month) for t in december.tickets] == [("INT-12", False)]
    assert sum(december.by_kind.values()) == 0

    globex = client_of(report(history, 2026, 11), "globex")
    assert [(c.ticket_ref, c.state, c.amount) for c in globex.credits] == [
        ("INT-10", CreditState.REQUESTED, Decimal("149.50"))
    ]


def test_months_split_at_local_midnight_of_the_first(history: History) -> None:
    """23:30 on Oct 31 is October, 00:30 on Nov 1 is November, though both are Oct 31 in UTC."""
    assert paris(11, 1, 0, 30).astimezone(UTC).day == 31
    october = client_of(report(history, 2026, 10), "globex")
    november = client_of(report(history, 2026, 11), "globex")
    assert [t.ref for t in october.tickets] == ["INT-1"]
    assert [t.ref for t in november.tickets] == ["INT-2", "INT-10"]
    assert october.allowance.used == 1
    assert november.allowance.used == 2


def test_a_server_is_measured_from_when_its_probes_began(history: History) -> None:
    """Added to the catalog on Nov 16 and down for a day: 1 day of 15 (not of 30); a server
    added after the report's instant was not measured at all."""
    with history.sessions.begin() as session:
        for server_id, added in (
            ("acme-new-01", paris(11, 16, 0)),
            ("acme-later", paris(12, 11, 0)),
        ):
            session.add(Server(id=server_id, client_id="acme", host="127.0.0.9", added_at=added))
        session.flush()
        add_outage(
            session, "acme-new-01", started_at=paris(11, 20, 0), confirmed_at=paris(11, 20, 0)
        )
        close_outage(session, "acme-new-01", ended_at=paris(11, 21, 0))
    servers = {s.server_id: s for s in client_of(report(history, 2026, 11), "acme").servers}
    assert servers["acme-new-01"].downtime == timedelta(days=1)
    assert servers["acme-new-01"].availability == pytest.approx(14 / 15)
    assert servers["acme-later"].availability is None
    assert servers["acme-web-01"].availability is not None  # watched since January


def test_text_writes_days_as_each_language_does_json_keeps_seconds(
    sessions: sessionmaker[Session],
) -> None:
    """Down 26 h: "1j2h" in French, "1d2h" in English; the JSON, read by programs, says
    93600 seconds whatever the language (as the CSV writes its durations in seconds)."""
    h = services(sessions)
    with h.sessions.begin() as session:
        add_outage(session, "acme-web-01", started_at=paris(11, 9, 8), confirmed_at=paris(11, 9, 8))
        close_outage(session, "acme-web-01", ended_at=paris(11, 10, 10))
    month = report(h, 2026, 11, client="acme")
    assert "Pannes : 1, 1j2h d'indisponibilité" in "\n".join(to_text(month, Messages("fr")))
    assert "Outages: 1, 1d2h of downtime" in "\n".join(to_text(month, Messages("en")))
    (acme,) = to_json(month)["clients"]
    assert acme["outages"]["downtime_seconds"] == 26 * 3600


def test_a_server_nobody_watched_has_no_availability(history: History) -> None:
    """No probe in the catalog, or probes that reported nothing in the month: `-` in the text
    and null in the JSON, never 100 %; a probe's hourly rollup in the month is a figure."""
    catalog = history.catalog.model_copy(
        update={
            "servers": [
                *history.catalog.servers,
                ServerSpec(id="acme-noprobe", client="acme", host="127.0.0.8"),
            ]
        }
    )
    with history.sessions.begin() as session:
        sync_catalog(session, catalog, now=paris(1, 1, 0))
    with history.sessions() as session:
        month = build_month_report(session, catalog, 2026, 11, now=REPORT_AT.astimezone(UTC))
    acme, globex = (client_of(month, c) for c in ("acme", "globex"))
    noprobe = next(s for s in acme.servers if s.server_id == "acme-noprobe")
    assert (noprobe.downtime, noprobe.availability) == (timedelta(0), None)
    (db,) = globex.servers  # has probes, but none reported in November
    assert db.availability is None
    text = "\n".join(to_text(month, Messages("en")))
    assert "acme-noprobe -" in text
    assert "globex-db-01 -" in text
    assert "100.000 %" not in text
    servers = {s["id"]: s for c in to_json(month)["clients"] for s in c["servers"]}
    assert servers["acme-noprobe"]["availability_percent"] is None
    assert servers["globex-db-01"]["availability_percent"] is None

    with history.sessions.begin() as session:
        save_probe_state(session, "globex-db-01", StreakState("globex-db-01/tcp:5432"))
        save_rollups(
            session,
            [Rollup("globex-db-01/tcp:5432", paris(11, 20, 10).astimezone(UTC), 120, 0, 1, 2)],
        )
    (db,) = client_of(report(history, 2026, 11), "globex").servers
    assert db.availability == 1.0


def test_a_server_removed_mid_month_is_measured_until_it_left(history: History) -> None:
    """Removed on Nov 16 while down since Nov 15: its outage, left open, counts up to the
    removal, out of the 15 days it was watched; December does not list it."""
    with history.sessions.begin() as session:
        session.add(
            Server(
                id="acme-old-01",
                client_id="acme",
                host="127.0.0.9",
                added_at=paris(1, 1, 0),
                removed_at=paris(11, 16, 0),
            )
        )
        session.flush()
        add_outage(
            session, "acme-old-01", started_at=paris(11, 15, 0), confirmed_at=paris(11, 15, 0)
        )
    acme = client_of(report(history, 2026, 11), "acme")
    servers = {s.server_id: s for s in acme.servers}
    assert servers["acme-old-01"].downtime == timedelta(days=1)
    assert servers["acme-old-01"].availability == pytest.approx(14 / 15)
    (outage,) = [o for o in acme.outages if o.server_id == "acme-old-01"]
    assert outage.downtime == timedelta(days=1)
    december = client_of(report(history, 2026, 12), "acme")
    assert "acme-old-01" not in {s.server_id for s in december.servers}
    assert "acme-old-01" not in {o.server_id for o in december.outages}


def test_a_month_before_the_installation_has_no_client(sessions: sessionmaker[Session]) -> None:
    """The catalog came in on Dec 1: November's report has no client (nothing to post)."""
    catalog = load_catalog(EXAMPLE_CATALOG)
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=paris(12, 1, 8))
    with sessions() as session:
        november = build_month_report(session, catalog, 2026, 11, now=REPORT_AT.astimezone(UTC))
    assert november.clients == ()


def test_availability_uses_the_local_month_length_across_dst(history: History) -> None:
    """October 2026 lasts 745 h in Paris, March 2026 743 h."""
    (db,) = client_of(report(history, 2026, 10), "globex").servers
    assert db.availability == pytest.approx(1 - 2 / 745)
    (web,) = client_of(report(history, 2026, 3), "acme").servers
    assert web.availability == pytest.approx(1 - 3 / 743)
    month = report(history, 2026, 3)
    assert month.ends_at - month.starts_at == timedelta(hours=743)


def test_the_text_rounds_availability_once(history: History) -> None:
    """Down 2 h of October's 745 h: 99.73154 %, written 99.732 % (not 99.731 %, the 99.7315
    of the JSON rounded again)."""
    october = report(history, 2026, 10, client="globex")
    assert "globex-db-01 99.732 %" in "\n".join(to_text(october, Messages("en")))
    assert "globex-db-01 99,732 %" in "\n".join(to_text(october, Messages("fr")))


def test_one_client_report_and_readable_text(history: History) -> None:
    """`client` limits the report; the text names the figures a technician looks for."""
    month = report(history, 2026, 11, client="acme")
    assert [c.client_id for c in month.clients] == ["acme"]
    text = "\n".join(to_text(month, Messages("en")))
    assert "*SLA report November 2026*" in text
    assert "allowance 2/2" in text
    assert "Out of scope: 1 quoted, 1 refused, 1 pending" in text
    assert "GTR restorations: 1 confirmed by probes, 3 by hand" in text
    assert "granted 60.00 €" in text
    assert "cap 120.00 €" in text
    assert "INT-4 maintenance · acme-web-01 · called 2026-11-03 10:00 · GTI *breached*" in text


def test_a_level_named_with_markup_is_escaped_in_the_slack_text(history: History) -> None:
    """A level named "Or <24h> & co" in the catalog: the text posted to Slack escapes it, as it
    does the client's name; the JSON and the CSV, read by programs, keep it as written."""
    month = report(history, 2026, 11, client="acme")
    named = replace(month, clients=(replace(client_of(month, "acme"), level="Or <24h> & co"),))
    text = "\n".join(to_text(named, Messages("en")))
    assert "Or &lt;24h&gt; &amp; co" in text
    assert "<24h>" not in text
    assert to_json(named)["clients"][0]["level"] == "Or <24h> & co"
    assert "Or <24h> & co" in to_csv(named)


def test_an_unknown_client_is_answered_with_the_nearest_names_not_every_client(
    history: History,
) -> None:
    """A typo against a catalog of 40 clients: the refusal names the 20 nearest, the one meant
    first, and how many more, not every client of the catalog (as `/sla status` does)."""
    acme = next(spec for spec in history.catalog.clients if spec.id == "acme")
    extra = [acme.model_copy(update={"id": f"customer{n:02d}"}) for n in range(40)]
    catalog = history.catalog.model_copy(update={"clients": [*history.catalog.clients, *extra]})
    with history.sessions.begin() as session:
        sync_catalog(session, catalog, now=REPORT_AT)
    service = ReportService(history.sessions, catalog, Messages("en"), clock=lambda: REPORT_AT)
    with pytest.raises(UserFacingError) as refused:
        service.build(2026, 11, client="globx")
    known = str(refused.value.values["known"])
    assert known.startswith("`globex`, ")
    assert known.endswith(", and 22 more")
    assert known.count("`") == 2 * 20


def test_the_french_text_names_its_months_as_french_does(history: History) -> None:
    """ "Bilan SLA novembre 2026", and a credit's month the same way, not "2026-11" (English
    names them too); the JSON, read by programs, keeps 2026-11."""
    month = report(history, 2026, 11, client="acme")
    text = "\n".join(to_text(month, Messages("fr")))
    assert text.startswith("*Bilan SLA novembre 2026* (fuseau Europe/Paris)")
    assert "avoir 60,00 € accordé (novembre 2026)" in text
    assert "(2026-1" not in text  # no credit month in ISO (dates are still written so)
    assert "credit 60.00 € granted (November 2026)" in "\n".join(to_text(month, Messages("en")))
    assert to_json(month)["month"] == "2026-11"


def test_the_slack_post_shows_every_client_of_a_long_report(history: History) -> None:
    """Slack shows at most 50 blocks: 80 clients are packed several to a section, each under
    Slack's text limit, and none is left out of what the channel sees."""
    month = report(history, 2026, 11)
    globex = client_of(month, "globex")  # a short paragraph: two tickets
    clients = tuple(replace(globex, client_id=f"client{n:02d}") for n in range(80))
    _, blocks = to_slack(replace(month, clients=clients), Messages("fr"))
    shown = "\n".join(block["text"]["text"] for block in blocks)
    assert len(blocks) <= 50
    assert all(len(block["text"]["text"]) <= 3000 for block in blocks)
    assert all(f"(`client{n:02d}`)" in shown for n in range(80))


def test_a_report_too_long_for_one_slack_message_says_where_the_rest_is(
    history: History,
) -> None:
    """400 clients do not fit in 50 blocks: the last one says the post is cut, not silence."""
    month = report(history, 2026, 11)
    globex = client_of(month, "globex")
    clients = tuple(replace(globex, client_id=f"client{n:03d}") for n in range(400))
    _, blocks = to_slack(replace(month, clients=clients), Messages("en"))
    assert len(blocks) == 50
    assert "supportbot report --month 2026-11" in blocks[-1]["text"]["text"]


def test_the_text_of_a_long_report_fits_in_a_slack_message(history: History) -> None:
    """80 clients fit in the blocks, and their text (notifications) in Slack's 40,000
    characters: over them, chat.postMessage refuses the whole post (msg_too_long), and the
    monthly report would never reach the channel. Cut, the text says where the rest is."""
    month = report(history, 2026, 11)
    globex = client_of(month, "globex")
    clients = tuple(replace(globex, client_id=f"client{n:02d}") for n in range(80))
    text, _ = to_slack(replace(month, clients=clients), Messages("en"))
    assert not text_too_long(text)
    assert text.startswith("*SLA report November 2026*")
    assert text.endswith("or `supportbot report --month 2026-11`._")


def test_a_report_as_of_an_earlier_instant_leaves_out_what_came_later(history: History) -> None:
    """As of Nov 9 18:00 (docs/reports.md: figures read "as of" the report's instant): no
    later ticket, the probes' 19:00 restoration undone, the outage still on, December's
    credit moves not made yet."""
    acme = client_of(report(history, 2026, 11, at=paris(11, 9, 18)), "acme")
    assert [t.ref for t in acme.tickets] == [f"INT-{n}" for n in (3, 4, 5, 6, 7, 8)]
    int8 = next(t for t in acme.tickets if t.ref == "INT-8")
    assert (int8.status, int8.resolved_at) == (TicketStatus.OPEN, None)
    assert int8.clock is not None
    assert (int8.clock.stopped_at, int8.clock.stopped_by) == (None, None)
    assert (int8.clock.state, int8.clock.consumed) == (ClockState.BREACHED, 9 * HOUR)
    assert acme.restorations == {"probe": 0, "hand": 0}
    (outage,) = acme.outages
    assert (outage.ended_at, outage.downtime) == (None, timedelta(hours=9, minutes=10))
    assert [(c.ticket_ref, c.state, c.amount) for c in acme.credits] == [
        ("INT-4", CreditState.ELIGIBLE, Decimal("60.00")),
        ("INT-8", CreditState.ELIGIBLE, Decimal("60.00")),
    ]
    globex = client_of(report(history, 2026, 11, at=paris(11, 9, 18)), "globex")
    assert [t.ref for t in globex.tickets] == ["INT-2"]
    assert globex.credits == ()


def test_a_report_as_of_an_instant_before_any_ticket_is_empty(history: History) -> None:
    """Nothing had been called yet: no ticket, clock, pause, outage or credit."""
    month = report(history, 2026, 11, at=paris(10, 15, 12))
    for client in month.clients:
        assert (client.tickets, client.outages, client.credits) == ((), (), ())
        assert client.allowance.used == 0


def test_a_wait_open_at_the_instant_counts_up_to_it_and_a_later_one_is_absent(
    history: History,
) -> None:
    """INT-4 waited 11:00-13:00 on Nov 3: at 12:00 one hour of an open wait, at 10:30 none."""
    int4 = next(
        t
        for t in client_of(report(history, 2026, 11, at=paris(11, 3, 12)), "acme").tickets
        if t.ref == "INT-4"
    )
    (pause,) = int4.pauses
    assert (pause.ended_at, pause.duration) == (None, HOUR)
    assert int4.status is TicketStatus.WAITING
    assert int4.clock is not None
    assert (int4.clock.state, int4.clock.consumed) == (ClockState.PAUSED, HOUR)
    earlier = client_of(report(history, 2026, 11, at=paris(11, 3, 10, 30)), "acme")
    int4 = next(t for t in earlier.tickets if t.ref == "INT-4")
    assert int4.pauses == ()
    assert int4.status is TicketStatus.OPEN
    assert earlier.pause_count == 0
    assert int4.clock is not None
    assert (int4.clock.state, int4.clock.consumed) == (ClockState.RUNNING, HOUR / 2)


def test_the_summary_counts_a_paused_clock_as_paused_not_running(history: History) -> None:
    """On Nov 3 at 12:00 INT-4 waits on the client: the clocks line says so, in French and
    English, as the JSON does; at 10:30, before the wait, it was running."""
    waiting = report(history, 2026, 11, client="acme", at=paris(11, 3, 12))
    (acme,) = to_json(waiting)["clients"]
    assert (acme["clocks"]["running"], acme["clocks"]["paused"]) == (0, 1)
    english = "\n".join(to_text(waiting, Messages("en")))
    assert "Clocks: 1 met, 0 breached, 0 running, 1 paused · " in english
    french = "\n".join(to_text(waiting, Messages("fr")))
    assert "Délais : 1 respecté, 0 dépassé, 0 en cours, 1 en pause · " in french
    running = report(history, 2026, 11, client="acme", at=paris(11, 3, 10, 30))
    assert "1 running, 0 paused" in "\n".join(to_text(running, Messages("en")))


def test_credits_and_scopes_read_as_of_an_instant_are_in_their_state_then(
    history: History,
) -> None:
    """Requested on Dec 2, granted or declined on Dec 3: requested in between, eligible before;
    INT-5 was quoted at 10:05 on Nov 4, pending at 10:02."""
    between = report(history, 2026, 11, at=paris(12, 2, 12))
    assert [(c.ticket_ref, c.state) for c in client_of(between, "acme").credits] == [
        ("INT-4", CreditState.REQUESTED),
        ("INT-8", CreditState.REQUESTED),
        ("INT-11", CreditState.ELIGIBLE),
    ]
    before = report(history, 2026, 11, at=paris(12, 1, 12))
    assert {c.state for c in client_of(before, "acme").credits} == {CreditState.ELIGIBLE}
    assert [(c.ticket_ref, c.state) for c in client_of(before, "globex").credits] == [
        ("INT-10", CreditState.ELIGIBLE)
    ]
    pending = client_of(report(history, 2026, 11, at=paris(11, 4, 10, 2)), "acme")
    int5 = next(t for t in pending.tickets if t.ref == "INT-5")
    assert int5.scope is Scope.PENDING
    assert pending.out_of_scope == {Scope.QUOTED: 0, Scope.REFUSED: 0, Scope.PENDING: 1}


def test_monthly_report_is_queued_once_at_nine_on_the_first_business_day(
    sessions: sessionmaker[Session],
) -> None:
    """Dec 1 2026 is a Tuesday: not before 09:00, once after, however often asked."""
    h = services(sessions)
    assert first_business_day(h.catalog, 2026, 11).day == 2  # Nov 1: Sunday and a holiday
    assert first_business_day(h.catalog, 2027, 5).day == 3  # May 1: Saturday
    service = ReportService(sessions, h.catalog, Messages("en"), clock=h.clock)
    # Installed on Jan 1, never posted: the last three months due, not ten (the catch-up has
    # its test).
    assert service.post_monthly_reports_if_due(paris(11, 2, 9)) == [
        "2026-08",
        "2026-09",
        "2026-10",
    ]
    assert service.post_monthly_reports_if_due(paris(12, 1, 8, 59)) == []
    assert service.post_monthly_reports_if_due(paris(12, 1, 9)) == ["2026-11"]
    again = ReportService(sessions, h.catalog, Messages("en"), clock=h.clock)  # a restart
    assert again.post_monthly_reports_if_due(paris(12, 1, 9, 5)) == []
    assert again.post_monthly_reports_if_due(paris(12, 20, 9)) == []
    with sessions() as session:
        keys = list(session.scalars(select(OutboxMessage.key).order_by(OutboxMessage.id)))
    assert keys == [f"report/monthly/2026-{month:02d}" for month in range(8, 12)]


def test_months_missed_while_the_bot_was_down_are_all_posted_oldest_first_once_each(
    sessions: sessionmaker[Session],
) -> None:
    """Posted up to September on Oct 1, stopped from Oct 28 to Dec 2: back on Dec 2, October's
    and November's summaries are both queued, October first, and neither again after a
    restart."""
    h = services(sessions)
    service = ReportService(sessions, h.catalog, Messages("en"), clock=h.clock)
    assert service.post_monthly_reports_if_due(paris(10, 1, 9))[-1] == "2026-09"
    assert service.post_monthly_reports_if_due(paris(10, 28, 12)) == []
    assert service.post_monthly_reports_if_due(paris(12, 2, 10)) == ["2026-10", "2026-11"]
    again = ReportService(sessions, h.catalog, Messages("en"), clock=h.clock)  # a restart
    assert again.post_monthly_reports_if_due(paris(12, 2, 10, 5)) == []
    with sessions() as session:
        posted = list(
            session.execute(
                select(OutboxMessage.key, OutboxMessage.text)
                .where(OutboxMessage.key.like("report/monthly/%"))
                .order_by(OutboxMessage.id)
            )
        )
    assert [key for key, _ in posted[-2:]] == ["report/monthly/2026-10", "report/monthly/2026-11"]
    assert posted[-2].text.startswith("*SLA report October 2026*")
    assert posted[-1].text.startswith("*SLA report November 2026*")
    assert len({key for key, _ in posted}) == len(posted) == 5


def test_monthly_report_can_be_turned_off(sessions: sessionmaker[Session]) -> None:
    """policy.monthly_report = false: nothing is queued."""
    h = services(sessions)
    catalog = h.catalog.model_copy(
        update={"policy": h.catalog.policy.model_copy(update={"monthly_report": False})}
    )
    service = ReportService(sessions, catalog, Messages("en"), clock=h.clock)
    assert service.post_monthly_reports_if_due(datetime(2026, 12, 1, 10, tzinfo=PARIS)) == []


def test_a_server_moved_to_another_client_stays_in_its_first_clients_past_months(
    history: History,
) -> None:
    """acme-web-01 handed over to Globex on Dec 5: ACME's November report is unchanged, and
    Globex's November shows none of ACME's outages; in December each client has the server
    for its own days."""
    before = client_of(report(history, 2026, 11), "acme")
    history = move_server(history, "acme-web-01", "globex", paris(12, 5, 0))

    november = report(history, 2026, 11)
    assert client_of(november, "acme").outages == before.outages
    assert client_of(november, "acme").servers == before.servers
    globex = client_of(november, "globex")
    assert "acme-web-01" not in {s.server_id for s in globex.servers}
    assert "acme-web-01" not in {o.server_id for o in globex.outages}

    december = report(history, 2026, 12, at=paris(12, 9, 0))
    acme_days = {s.server_id for s in client_of(december, "acme").servers}
    globex_days = {s.server_id for s in client_of(december, "globex").servers}
    assert "acme-web-01" in acme_days  # Dec 1-5
    assert "acme-web-01" in globex_days  # from Dec 5


def test_an_outage_across_a_servers_move_counts_for_each_client_while_the_server_was_theirs(
    sessions: sessionmaker[Session],
) -> None:
    """acme-web-01 down from Dec 4 20:00 to Dec 5 04:00, handed over to Globex at midnight:
    each client's December lists the outage (as it happened: its first failure and its end)
    with the 4 h it had the server down, so the 8 h are counted once in all, and each
    availability is over that client's own days (ACME 4 days, Globex 15 as of Dec 20)."""
    h = services(sessions)
    outage(h, "acme-web-01", paris(12, 4, 20), paris(12, 5, 4))
    h = move_server(h, "acme-web-01", "globex", paris(12, 5, 0))
    december = report(h, 2026, 12, at=paris(12, 20, 0))
    for client_id, days in (("acme", 4), ("globex", 15)):
        client = client_of(december, client_id)
        (line,) = client.outages
        assert (line.started_at, line.ended_at) == (paris(12, 4, 20), paris(12, 5, 4))
        assert line.downtime == client.downtime == 4 * HOUR
        web = next(s for s in client.servers if s.server_id == "acme-web-01")
        assert web.availability == pytest.approx(1 - 4 / (days * 24))


def test_a_new_contract_does_not_reprice_the_months_before_it(history: History) -> None:
    """ACME moves from essentiel (fee 120 €) to premium (299 €) on Dec 5: November is still
    reported and priced on the old terms (allowance 2, cap 120 €, credits of 60 €);
    December on the new ones."""
    before = client_of(report(history, 2026, 11), "acme")
    history = new_terms(history, "acme", "premium", paris(12, 5, 0))

    november = client_of(report(history, 2026, 11), "acme")
    assert (november.level, november.monthly_fee, november.credit_cap) == (
        before.level,
        before.monthly_fee,
        before.credit_cap,
    )
    assert november.allowance == before.allowance
    assert november.credits == before.credits
    december = client_of(report(history, 2026, 12, at=paris(12, 9, 0)), "acme")
    assert (december.level, december.monthly_fee) == ("premium", Decimal("299.00"))
    assert december.allowance.allowance == 6


def test_a_server_that_was_down_never_reads_100_percent_available(history: History) -> None:
    """Down 10 s in November (two failures to confirm, one retry 5 s later): 99.99961 %, which
    rounds to 100.000 %; the text says 99.999 %, not "1 outage, <1m of downtime, availability
    100.000 %" (the JSON's 4 places read 99.9996)."""
    with history.sessions.begin() as session:
        started = paris(11, 20, 10)
        add_outage(session, "globex-db-01", started_at=started, confirmed_at=started)
        close_outage(session, "globex-db-01", ended_at=started + timedelta(seconds=10))
    month = report(history, 2026, 11, client="globex")
    (db,) = client_of(month, "globex").servers
    assert db.availability == pytest.approx(1 - 10 / (30 * 24 * 3600))
    text = "\n".join(to_text(month, Messages("fr")))
    assert "globex-db-01 99,999 %" in text
    (server,) = to_json(month)["clients"][0]["servers"]
    assert server["availability_percent"] == 99.9996
    one_second = ServerAvailability("db", timedelta(seconds=1), 1 - 1 / (30 * 24 * 3600))
    assert one_second.percent == 99.9999  # 99.99996, which the JSON's 4 places round to 100

    with history.sessions.begin() as session:  # a whole month up: 100 % is the truth
        save_probe_state(session, "acme-web-01", StreakState("acme-web-01/icmp"))
        save_rollups(
            session, [Rollup("acme-web-01/icmp", paris(2, 2, 10).astimezone(UTC), 120, 0, 1, 2)]
        )
    february = report(history, 2026, 2, client="acme")
    assert "acme-web-01 100,000 %" in "\n".join(to_text(february, Messages("fr")))


def test_a_client_is_reported_only_for_the_months_it_was_one(
    sessions: sessionmaker[Session],
) -> None:
    """`/sla report acme 2025-12` (before the install) or `globex 2026-06` (after globex left on
    May 10) answered a report of zeros, "allowance 0/2", as a month not yet begun would: it is
    refused saying when the client was one; its months and all clients' are answered."""
    h = services(sessions)  # installed on Jan 1 2026
    left = h.catalog.model_copy(
        update={
            "clients": [c for c in h.catalog.clients if c.id != "globex"],
            "servers": [s for s in h.catalog.servers if s.client != "globex"],
        }
    )
    with sessions.begin() as session:
        sync_catalog(session, left, now=paris(5, 10, 12))
    h.clock.now = paris(8, 3, 10)
    service = ReportService(sessions, left, Messages("en"), clock=h.clock)
    asked = Actor("U01BBB", "/sla report")
    for text, month, period in [
        ("acme 2025-12", "December 2025", "from 2026-01-01"),
        ("GLOBEX 2026-06", "June 2026", "from 2026-01-01 to 2026-05-10"),
    ]:
        with pytest.raises(UserFacingError) as refused:
            service.answer(asked, parse_report(text), channel_id=None)
        assert (refused.value.key, refused.value.values) == (
            "report.not_a_client_then",
            {"client": text.split()[0].lower(), "month": month, "period": period},
        )
    for text in ["acme 2026-01", "globex 2026-05", "2026-06", "2025-12"]:
        assert "*SLA report" in service.answer(asked, parse_report(text), channel_id=None).text


def test_a_declined_credit_of_a_ticket_quoted_afterwards_is_shown_on_its_ticket(
    sessions: sessionmaker[Session],
) -> None:
    """INT-1 (maintenance) breached its GTI on Nov 2 at 14:00; the credit was requested and
    declined ("outside the forfait"), then the request quoted, which withdraws its clock but
    not the declined credit: the month's credits (and its cap) still count it, 60 € declined.
    Its ticket says so too, in the text and the CSV, or the tickets' credits would not add up
    to the month's (the CSV's rows summed to 0 € against the JSON's 60 €)."""
    h = services(sessions)
    ticket = open_ticket(h, paris(11, 2, 10), "acme-web-01", TicketKind.MAINTENANCE, "plugin")
    h.clock.now = paris(11, 2, 15)
    h.credits.request(TECH, ticket)
    h.credits.decline(TECH, ticket, "outside the forfait")
    h.clock.now = paris(11, 2, 16)
    h.tickets.settle_scope(TECH, ticket, quote=True, note="200 €")
    month = report(h, 2026, 11, client="acme", at=paris(11, 3, 10))
    (acme,) = month.clients
    assert [(c.ticket_ref, c.state, c.amount) for c in acme.credits] == [
        ("INT-1", CreditState.DECLINED, Decimal("60.00"))
    ]
    (int1,) = acme.tickets
    assert (int1.scope, int1.clocks) == (Scope.QUOTED, ())
    assert int1.credits == acme.credits
    assert "no clock (out of scope, quoted) · credit 60.00 € declined (November 2026)" in (
        "\n".join(to_text(month, Messages("en")))
    )
    (row,) = to_csv(month).splitlines()[1:]
    assert row.endswith(",2026-11,declined,60.00,60.00,2026-11,")  # called in 2026-11, no removal


def test_a_ticket_carried_over_from_an_earlier_month_says_so_in_every_format(
    history: History,
) -> None:
    """INT-12, called on Nov 30 and breached on Dec 1, is in December's report for its credit
    under "Tickets: 0": the count says it is not December's, the ticket the month of its call,
    in the text (both languages), the CSV and the JSON alike."""
    december = report(history, 2026, 12, client="acme")
    english = "\n".join(to_text(december, Messages("en")))
    assert (
        "Tickets: 0 (-) · allowance 0/2 · and 1 ticket carried over from an earlier month, "
        "listed for a credit of this month"
    ) in english
    assert (
        "INT-12 hardware · acme-web-01 · called 2026-11-30 17:00 "
        "(carried over: called in November 2026) · GTR *breached*"
    ) in english
    french = "\n".join(to_text(december, Messages("fr")))
    assert "et 1 ticket reporté d'un mois précédent, listé pour un avoir de ce mois" in french
    assert "(reporté : appel de novembre 2026)" in french
    (row,) = csv.DictReader(io.StringIO(to_csv(december)))
    assert (row["ticket"], row["in_month"], row["called_month"]) == ("INT-12", "no", "2026-11")
    (acme,) = to_json(december)["clients"]
    (int12,) = acme["tickets"]
    assert (int12["in_month"], int12["called_month"]) == (False, "2026-11")
    # November's own tickets say nothing of the kind.
    november = "\n".join(to_text(report(history, 2026, 11, client="acme"), Messages("en")))
    assert "carried over" not in november
    assert {
        r["called_month"] for r in csv.DictReader(io.StringIO(to_csv(report(history, 2026, 11))))
    } == {"2026-11"}


def test_a_client_removed_before_the_month_is_in_it_for_a_credit_due_in_it(
    sessions: sessionmaker[Session],
) -> None:
    """ACME called on Nov 30 at 17:00 (GTR 8 h on business hours, due Dec 1 15:00) and left the
    catalog at 18:00: the breach's 60 € is December's, so December's report of all clients lists
    ACME, marked as removed, and `/sla report acme 2026-12` answers it; January's does not."""
    h = services(sessions)
    ticket = open_ticket(h, paris(11, 30, 17), "acme-web-01", TicketKind.MATERIEL, "raid")
    left = h.catalog.model_copy(
        update={
            "clients": [c for c in h.catalog.clients if c.id != "acme"],
            "servers": [s for s in h.catalog.servers if s.client != "acme"],
        }
    )
    with sessions.begin() as session:
        sync_catalog(session, left, now=paris(11, 30, 18))
    december = report(h, 2026, 12, at=paris(12, 10, 10))
    acme = client_of(december, "acme")
    assert acme.removed_at == paris(11, 30, 18)
    assert [(c.ticket_ref, c.amount) for c in acme.credits] == [(f"INT-{ticket}", Decimal("60.00"))]
    assert "*ACME SARL* (`acme`) · level essentiel · removed from the catalog on 2026-11-30" in (
        "\n".join(to_text(december, Messages("en")))
    )
    assert "retiré du catalogue le 2026-11-30" in "\n".join(to_text(december, Messages("fr")))
    assert (
        to_json(december)["clients"][0]["removed_at"]
        == paris(11, 30, 18).astimezone(UTC).isoformat()
    )
    (row,) = csv.DictReader(io.StringIO(to_csv(december)))
    assert row["client_removed_at_utc"] == "2026-11-30T17:00:00+00:00"
    # November's report marks it too (it left within the month); a client still there is not.
    november = report(h, 2026, 11, at=paris(12, 10, 10))
    assert client_of(november, "acme").removed_at == paris(11, 30, 18)
    assert client_of(november, "globex").removed_at is None
    h.clock.now = paris(2, 3, 10, year=2027)
    service = ReportService(sessions, left, Messages("en"), clock=h.clock)
    asked = Actor("U01BBB", "/sla report")
    assert (
        "removed from the catalog"
        in service.answer(asked, parse_report("acme 2026-12"), channel_id=None).text
    )
    with pytest.raises(UserFacingError) as refused:
        service.answer(asked, parse_report("acme 2027-01"), channel_id=None)
    assert refused.value.key == "report.not_a_client_then"
    assert [c.client_id for c in report(h, 2027, 1, at=paris(2, 3, 10, year=2027)).clients] == [
        "globex"
    ]
