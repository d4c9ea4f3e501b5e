"""`/sla status` and `list` with a ticket of a client the catalog no longer has: the ticket is
still listed (by the name kept in the database), and only clients in the catalog get an
allowance line."""

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import UserFacingError
from bot.grammar import Open
from bot.handlers.errors import render_error
from bot.messages import Messages
from bot.sandbox import parse_blocks
from bot.services.audit import Actor
from bot.services.tickets import TicketService
from bot.services.views import Ranking, ticket_view
from bot.sla import TicketKind
from bot.storage.catalog_sync import sync_catalog
from bot.storage.database import reading
from bot.storage.open_tickets import OpenTicketCache
from bot.storage.probes import add_outage
from tests.services.history import TECH, History, open_ticket, paris, services


def test_a_ticket_of_a_removed_client_is_listed_without_an_allowance(
    sessions: sessionmaker[Session],
) -> None:
    h = services(sessions)
    open_ticket(h, paris(11, 2, 9), "acme-web-01", TicketKind.SECOURS, "site down")
    open_ticket(h, paris(11, 2, 10), "globex-db-01", TicketKind.MATERIEL, "disk")
    tickets = without_acme(h, sessions)
    status = tickets.status(None).text
    assert status.splitlines()[0] == "2 tickets open"
    assert "INT-1" in status
    # One allowance line, Globex's (a hardware ticket does not count); none for ACME.
    assert status.count("interventions this month") == 1
    assert status.endswith("\nGlobex SAS (premium): 0/6 interventions this month")
    assert tickets.list_tickets("open", user_id=TECH.user_id).text.startswith("2 tickets open")


def test_one_screen_shows_the_30_most_urgent_and_counts_the_rest(
    sessions: sessionmaker[Session],
) -> None:
    """33 open tickets: the 30 due first are listed, and a line says 3 more are not shown."""
    h = services(sessions)
    for minute in range(33):  # GTR 4 h around the clock: INT-1 is due first, INT-33 last
        open_ticket(h, paris(11, 2, 9, minute), "globex-db-01", TicketKind.MATERIEL, "disk")
    for reply in (h.tickets.status(None), h.tickets.list_tickets("open", user_id=TECH.user_id)):
        lines = reply.text.splitlines()
        assert lines[0] == "33 tickets open"
        refs = [line.split("*")[1] for line in lines if line.startswith("*INT-")]
        assert refs == [f"INT-{n}" for n in range(1, 31)]
        assert "… and 3 less urgent tickets, not shown." in reply.text
        assert reply.blocks is not None
        assert "… and 3 less urgent tickets, not shown." in str(reply.blocks[-1])


def test_mine_lists_the_tickets_assigned_to_the_caller(sessions: sessionmaker[Session]) -> None:
    h = services(sessions)
    for minute in range(3):
        open_ticket(h, paris(11, 2, 9, minute), "globex-db-01", TicketKind.MATERIEL, "disk")
    h.tickets.claim(TECH, 2)
    h.tickets.claim(Actor("U01BBB"), 3)
    mine = h.tickets.list_tickets("mine", user_id=TECH.user_id).text.splitlines()
    assert mine[0] == "1 ticket assigned to you"
    assert mine[1].startswith("*INT-2*")
    assert len(mine) == 2  # 30 or fewer: no line about tickets not shown
    assert h.tickets.list_tickets("mine", user_id="U01CCC").text == "No ticket assigned to you."


def test_french_lists_agree_with_the_number_of_tickets(sessions: sessionmaker[Session]) -> None:
    """ "Aucun ticket ouvert", "1 ticket ouvert", "2 tickets ouverts"."""
    h = services(sessions)
    tickets = TicketService(sessions, h.catalog, Messages("fr"), clock=h.clock)
    assert tickets.list_tickets("open", user_id=TECH.user_id).text == "Aucun ticket ouvert."
    open_ticket(h, paris(11, 2, 9), "globex-db-01", TicketKind.MATERIEL, "disk")
    assert tickets.status(None).text.startswith("1 ticket ouvert\n")
    open_ticket(h, paris(11, 2, 10), "globex-db-01", TicketKind.MATERIEL, "disk")
    assert tickets.status("globex").text.startswith("2 tickets ouverts pour Globex SAS\n")


def test_the_ranking_from_deadlines_agrees_with_the_tickets_read_in_full(
    sessions: sessionmaker[Session],
) -> None:
    """`Ranking` sorts without reading the clocks in full and keeps what clocks are read from
    by revision: at every instant, through pauses, claims and breaches, its order is the order
    of the views' own urgency, and the lines it makes say what the views read in full say."""
    h = services(sessions)
    opened = [  # business-hours GTI (acme), round-the-clock GTR (globex), one out of scope
        open_ticket(h, paris(11, 2, 9), "acme-web-01", TicketKind.SECOURS, "site down"),
        open_ticket(h, paris(11, 2, 9, 5), "globex-db-01", TicketKind.MATERIEL, "disk"),
        open_ticket(h, paris(11, 2, 9, 10), "acme-web-01", TicketKind.MAINTENANCE, "patch"),
        open_ticket(h, paris(11, 2, 9, 20), "globex-db-01", TicketKind.RESEAU, "switch"),
        open_ticket(h, paris(11, 2, 9, 30), "acme-web-01", TicketKind.UTILISATION, "how to"),
    ]
    ranking = Ranking(h.catalog)
    cache = OpenTicketCache()

    def check() -> None:
        now = h.clock()
        with reading(sessions) as session:
            records = cache.read(session)
        full = sorted(records, key=lambda r: ticket_view(r, "", h.catalog, now).urgency())
        assert [r.id for r in ranking.rank(records, now)] == [r.id for r in full]
        assert [ranking.urgency(r, now) for r in records] == [
            ticket_view(r, "", h.catalog, now).urgency() for r in records
        ]
        views = [ticket_view(r, "", h.catalog, now) for r in records]
        assert [ranking.line(r, now) for r in records] == [
            (v.id, v.kind, v.server_id, v.status, v.scope, v.assignee_id, v.clock) for v in views
        ]

    steps = [
        lambda: h.tickets.wait(TECH, opened[1], "client away"),
        lambda: h.tickets.claim(TECH, opened[0]),
        lambda: h.tickets.wait(TECH, opened[3], "codes"),
        lambda: h.tickets.resume(TECH, opened[1]),
        lambda: h.tickets.resolve(TECH, opened[2], "done"),
    ]
    check()
    for hours, step in enumerate(steps, start=1):
        h.clock.now = paris(11, 2, 9, 30) + timedelta(hours=hours * 3)  # deadlines pass
        check()  # the kept deadlines, read later: running clocks breach without a change
        step()
        check()


def test_a_removed_client_with_tickets_can_still_be_named_to_list_them(
    sessions: sessionmaker[Session],
) -> None:
    """ACME left the catalog with a ticket still open: `list acme` and `/sla status acme` (any
    case) list it, as `show INT-1` shows it; a name no ticket has stays unknown."""
    h = services(sessions)
    open_ticket(h, paris(11, 2, 9), "acme-web-01", TicketKind.SECOURS, "site down")
    open_ticket(h, paris(11, 2, 10), "globex-db-01", TicketKind.MATERIEL, "disk")
    tickets = without_acme(h, sessions)
    listed = tickets.list_tickets("ACME", user_id=TECH.user_id).text.splitlines()
    assert listed[0] == "1 ticket open for ACME SARL"
    assert listed[1].startswith("*INT-1*")
    status = tickets.status("acme").text.splitlines()
    assert status[0] == "1 ticket open for ACME SARL"
    assert status[1].startswith("*INT-1*")
    assert not any("interventions this month" in line for line in status)  # no allowance
    with pytest.raises(UserFacingError) as unknown:
        tickets.list_tickets("initech", user_id=TECH.user_id)
    assert unknown.value.key == "list.unknown_client"


def test_a_line_read_again_at_the_same_instant_shows_what_changed_in_between(
    sessions: sessionmaker[Session],
) -> None:
    """Lines are kept by what they are written from: a claim, a reassignment or a quote at
    the instant of the last list, its clock's line unchanged, still show in the next one, in
    each language."""
    h = services(sessions)
    disk = open_ticket(h, paris(11, 2, 9), "globex-db-01", TicketKind.MATERIEL, "disk")
    usage = open_ticket(h, paris(11, 2, 9), "acme-web-01", TicketKind.UTILISATION, "how to")
    h.clock.now = paris(11, 2, 10)
    french = TicketService(sessions, h.catalog, Messages("fr"), clock=h.clock)

    def lines() -> list[str]:
        replies = [h.tickets.list_tickets("open", user_id=TECH.user_id), french.status(None)]
        return [line for reply in replies for line in reply.text.splitlines() if "*INT-" in line]

    due = "2026-11-02 13:00"
    assert lines() == [
        f"*INT-{disk}* hardware · globex-db-01 · unclaimed · nobody — GTR 4h: 3h left, due {due}",
        f"*INT-{usage}* usage · acme-web-01 · unclaimed · nobody — GTI 4h: 3h left, due {due}",
        f"*INT-{disk}* matériel · globex-db-01 · à prendre · personne — GTR 4h : reste 3h, "
        f"échéance {due}",
        f"*INT-{usage}* utilisation · acme-web-01 · à prendre · personne — GTI 4h : reste 3h, "
        f"échéance {due}",
    ]
    h.tickets.claim(TECH, disk)  # the GTR runs on: the same clock line
    h.tickets.settle_scope(TECH, usage, quote=True, note="150 €")
    assert lines() == [
        f"*INT-{disk}* hardware · globex-db-01 · in progress · <@U01AAA> — GTR 4h: 3h left, "
        f"due {due}",
        f"*INT-{usage}* usage · acme-web-01 · unclaimed · out of scope, quoted · nobody — no clock",
        f"*INT-{disk}* matériel · globex-db-01 · en cours · <@U01AAA> — GTR 4h : reste 3h, "
        f"échéance {due}",
        f"*INT-{usage}* utilisation · acme-web-01 · à prendre · hors forfait, devis · "
        "personne — aucun délai",
    ]
    h.tickets.reassign(TECH, disk, "U01BBB")
    assert [line.split(" — ")[0] for line in lines()[::2]] == [
        f"*INT-{disk}* hardware · globex-db-01 · in progress · <@U01BBB>",
        f"*INT-{disk}* matériel · globex-db-01 · en cours · <@U01BBB>",
    ]


def without_acme(h: History, sessions: sessionmaker[Session]) -> TicketService:
    """The ticket service of a catalog ACME and its servers have left."""
    catalog = h.catalog.model_copy(
        update={
            "clients": [c for c in h.catalog.clients if c.id != "acme"],
            "servers": [s for s in h.catalog.servers if s.client != "acme"],
        }
    )
    return TicketService(sessions, catalog, Messages("en"), clock=h.clock)


def test_a_level_named_with_markup_is_escaped_in_the_root_and_the_allowance(
    sessions: sessionmaker[Session],
) -> None:
    """Levels are named in the catalog as its authors like ("Or <24h> & co"): Slack would
    read `<24h>` as a link and drop it, as it does any raw `<…>`. The ticket's root title and
    the client's allowance line escape the name as they do the client's."""
    h = services(sessions)
    name = "Or <24h> & co"
    levels = {**h.catalog.levels, name: h.catalog.levels["premium"]}
    clients = [
        spec.model_copy(update={"level": name}) if spec.id == "globex" else spec
        for spec in h.catalog.clients
    ]
    catalog = h.catalog.model_copy(update={"levels": levels, "clients": clients})
    with h.sessions.begin() as session:
        sync_catalog(session, catalog, now=h.clock())
    tickets = TicketService(sessions, catalog, Messages("en"), clock=h.clock)
    h.clock.now = paris(11, 2, 10)
    tickets.open(TECH, Open("globex-db-01", TicketKind.SECOURS, None, "slow"))
    shown = "Or &lt;24h&gt; &amp; co"
    status = tickets.status("globex").text
    assert f"Globex SAS ({shown}): 1/6 interventions this month" in status
    with reading(sessions) as session:
        _, blocks = tickets.render_root(session, "1")
    assert f"Globex SAS ({shown})" in blocks[0]["text"]["text"]
    assert "<24h>" not in str(blocks)


def test_a_storm_before_any_ticket_names_every_server_in_blocks(
    sessions: sessionmaker[Session],
) -> None:
    """The first minutes of an outage of the whole room: 60 servers down, no ticket yet. The
    reply shows each server in blocks within Slack's limits, as it does once tickets are open,
    not as one text of 6,000-odd characters, which Slack splits or cuts."""
    h = services(sessions)
    web = h.catalog.servers[0]
    servers = [web.model_copy(update={"id": f"customer-{n:02d}-web.example"}) for n in range(60)]
    catalog = h.catalog.model_copy(update={"servers": [*h.catalog.servers, *servers]})
    started = paris(11, 2, 9)
    with h.sessions.begin() as session:
        sync_catalog(session, catalog, now=started)
        for server in servers:
            add_outage(session, server.id, started_at=started, confirmed_at=started)
    h.clock.now = paris(11, 2, 10)
    reply = TicketService(sessions, catalog, Messages("en"), clock=h.clock).status(None)
    assert reply.text.startswith("No ticket open.\n")
    shown = "\n".join(block["text"]["text"] for block in parse_blocks(reply.blocks))
    assert shown.startswith("*No ticket open.*")
    assert all(f"`customer-{n:02d}-web.example`" in shown for n in range(60))


def test_an_unknown_server_is_answered_with_the_nearest_names_not_the_whole_catalog(
    sessions: sessionmaker[Session],
) -> None:
    """A typo against a catalog of 400 servers: the refusal names the 20 servers nearest what
    was typed and counts the rest, instead of 10,000 characters of names."""
    h = services(sessions)
    web = h.catalog.servers[0]
    servers = [web.model_copy(update={"id": f"customer-{n:03d}-web.example"}) for n in range(400)]
    catalog = h.catalog.model_copy(update={"servers": [*h.catalog.servers, *servers]})
    tickets = TicketService(sessions, catalog, Messages("en"), clock=h.clock)
    with pytest.raises(UserFacingError) as refused:
        tickets.server("customer-012-web.exmaple")
    text = render_error(refused.value, Messages("en"))
    assert text.startswith(
        "Unknown server `customer-012-web.exmaple`. Servers: `customer-012-web.example`, "
    )
    assert text.count("`customer-") == 21  # the one typed, and 20 nearest
    assert text.endswith(", and 382 more.")
    # A catalog of a few servers is named whole, as before.
    with pytest.raises(UserFacingError) as few:
        h.tickets.server("nope")
    assert render_error(few.value, Messages("en")) == (
        "Unknown server `nope`. Servers: `acme-web-01`, `globex-db-01`."
    )


def test_a_silence_reason_typed_on_several_lines_stays_on_its_servers_line(
    sessions: sessionmaker[Session],
) -> None:
    """`/sla silence acme-web-01 2h reboot` then Shift+Enter and `disks next`: the reason
    keeps its line break (955afa0), and `/sla status` names each server on one line: the
    reason's second line read as another line of the list, of no server."""
    from bot.storage.models import Silence

    h = services(sessions)
    h.clock.now = paris(11, 2, 10)
    with h.sessions.begin() as session:
        session.add(
            Silence(
                server_id="acme-web-01",
                starts_at=h.clock.now,
                ends_at=h.clock.now + timedelta(hours=2),
                reason="reboot\ndisks next",
                created_by=TECH.user_id,
            )
        )
    reply = h.tickets.status(None)
    lines = reply.text.splitlines()
    silenced = [line for line in lines if "alerts silenced until" in line]
    assert len(silenced) == 1
    assert "disks next" in silenced[0]
    assert not any(line.strip() == "disks next" for line in lines)
