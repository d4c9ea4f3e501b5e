"""A month of history built through the services with an injected clock (shared by the tests).

Everything below is registered as technicians would, at the instants given (Paris time), on the
example catalog: ACME (essentiel: GTI 4h, GTR 8h on business hours, 2 interventions, fee 120 €)
and Globex (premium: GTI 1h business, GTR 4h 24/7, 6 interventions, fee 299 €).
The expected figures are in the tests, worked out by hand from this script.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Catalog, load_catalog
from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.credits import CreditService
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from bot.storage.catalog_sync import sync_catalog
from bot.storage.models import Ticket
from bot.storage.probes import add_outage, close_outage

EXAMPLE_CATALOG = Path(__file__).parents[2] / "examples" / "catalog.toml"
PARIS = ZoneInfo("Europe/Paris")
TECH = Actor("U01AAA")
REPORT_AT = datetime(2026, 12, 10, 10, 0, tzinfo=PARIS)


def paris(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


@dataclass
class SetClock:
    """The injected clock: it says what the test set, nothing else."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


@dataclass
class History:
    catalog: Catalog
    clock: SetClock
    tickets: TicketService
    credits: CreditService
    sessions: sessionmaker[Session]


def services(sessions: sessionmaker[Session]) -> History:
    """The catalog mirrored into the database and the services on a settable clock."""
    catalog = load_catalog(EXAMPLE_CATALOG)
    clock = SetClock(paris(1, 1, 0))
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=clock())
    messages = Messages("en")
    return History(
        catalog,
        clock,
        TicketService(sessions, catalog, messages, clock=clock),
        CreditService(sessions, catalog, messages, clock=clock),
        sessions,
    )


def new_terms(h: History, client: str, level: str, at: datetime) -> History:
    """The client's contract changed to `level` (at the level's fee) at `at`: the catalog
    synced then, and the services on it."""
    clients = [
        spec.model_copy(update={"level": level, "monthly_fee": None}) if spec.id == client else spec
        for spec in h.catalog.clients
    ]
    catalog = h.catalog.model_copy(update={"clients": clients})
    with h.sessions.begin() as session:
        sync_catalog(session, catalog, now=at)
    messages = Messages("en")
    return History(
        catalog,
        h.clock,
        TicketService(h.sessions, catalog, messages, clock=h.clock),
        CreditService(h.sessions, catalog, messages, clock=h.clock),
        h.sessions,
    )


def move_server(h: History, server: str, client: str, at: datetime) -> History:
    """The catalog gives `server` to `client` at `at` (synced then)."""
    servers = [
        spec.model_copy(update={"client": client}) if spec.id == server else spec
        for spec in h.catalog.servers
    ]
    catalog = h.catalog.model_copy(update={"servers": servers})
    with h.sessions.begin() as session:
        sync = sync_catalog(session, catalog, now=at)
    assert sync.moved, f"{server} already belonged to {client}"
    return replace(h, catalog=catalog)


def outage(h: History, server: str, start: datetime, end: datetime) -> None:
    """An outage confirmed two minutes after its first failure and over at `end`."""
    with h.sessions.begin() as session:
        add_outage(session, server, started_at=start, confirmed_at=start.replace(minute=2))
        close_outage(session, server, ended_at=end)


def open_ticket(h: History, at: datetime, server: str, kind: TicketKind, what: str) -> int:
    h.clock.now = at
    h.tickets.open(TECH, Open(server, kind, None, what))
    with h.sessions() as session:
        return int(session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) or 0)


def build_history(sessions: sessionmaker[Session]) -> History:
    """Tickets INT-1 … INT-12, outages in March, October, November and December 2026."""
    h = services(sessions)
    clock = h.clock
    web, db = "acme-web-01", "globex-db-01"
    outage(h, web, paris(3, 10, 10), paris(3, 10, 13))  # March: 3 h, a 743 h month (DST)
    outage(h, db, paris(10, 30, 10), paris(10, 30, 12))  # October: 2 h, a 745 h month (DST)

    # The month split at local midnight: both calls are on October 31 in UTC.
    assert open_ticket(h, paris(10, 31, 23, 30), db, TicketKind.SECOURS, "late call") == 1
    assert open_ticket(h, paris(11, 1, 0, 30), db, TicketKind.SECOURS, "early call") == 2
    clock.now = paris(11, 2, 9, 15)
    h.tickets.claim(TECH, 1)  # GTI met: 15m of open time (closed until Monday 09:00)
    clock.now = paris(11, 2, 9, 30)
    h.tickets.claim(TECH, 2)  # GTI met: 30m

    assert open_ticket(h, paris(11, 2, 10), web, TicketKind.SECOURS, "site down") == 3
    clock.now = paris(11, 2, 11)
    h.tickets.claim(TECH, 3)  # GTI met: 1h of 4h

    assert open_ticket(h, paris(11, 3, 10), web, TicketKind.MAINTENANCE, "update php") == 4
    clock.now = paris(11, 3, 11)
    h.tickets.wait(TECH, 4, "waiting for the root password")
    clock.now = paris(11, 3, 13)
    h.tickets.resume(TECH, 4)  # a 2 h pause: the deadline moves from 14:00 to 16:00
    clock.now = paris(11, 3, 17)
    h.tickets.claim(TECH, 4)  # GTI breached: 5h of 4h, deadline 16:00

    # The allowance (2) is used: three out-of-scope tickets.
    assert open_ticket(h, paris(11, 4, 10), web, TicketKind.UTILISATION, "new cms") == 5
    clock.now = paris(11, 4, 10, 5)
    h.tickets.settle_scope(TECH, 5, quote=True, note="150 €")
    assert open_ticket(h, paris(11, 5, 10), web, TicketKind.SECOURS, "their own tool") == 6
    clock.now = paris(11, 5, 10, 5)
    h.tickets.settle_scope(TECH, 6, quote=False, note="not ours")
    assert open_ticket(h, paris(11, 6, 10), web, TicketKind.UTILISATION, "training") == 7

    # Hardware during an outage: GTR 8h business from 09:00 is due 17:00; probes see the
    # server back at 19:00 and stop the GTR (breached, 10h), the technician resolves next day.
    with h.sessions.begin() as session:
        add_outage(session, web, started_at=paris(11, 9, 8, 50), confirmed_at=paris(11, 9, 8, 52))
    assert open_ticket(h, paris(11, 9, 9), web, TicketKind.MATERIEL, "disk failure") == 8
    clock.now = paris(11, 9, 19)
    with h.sessions.begin() as session:
        close_outage(session, web, ended_at=paris(11, 9, 19))
        assert h.tickets.stop_gtr_on_recovery(session, web, paris(11, 9, 19)) == [8]
    clock.now = paris(11, 10, 9, 30)
    h.tickets.resolve(TECH, 8, "disk replaced")

    assert open_ticket(h, paris(11, 12, 10), web, TicketKind.RESEAU, "packet loss") == 9
    clock.now = paris(11, 12, 12)
    h.tickets.resolve(TECH, 9, "switch port")  # GTR met by hand: 2h of 8h

    assert open_ticket(h, paris(11, 13, 10), db, TicketKind.SECOURS, "db slow") == 10
    clock.now = paris(11, 13, 12, 30)
    h.tickets.claim(TECH, 10)  # GTI 1h breached: 2h30m, deadline 11:00

    assert open_ticket(h, paris(11, 16, 9), web, TicketKind.MATERIEL, "psu") == 11
    clock.now = paris(11, 17, 12)
    h.tickets.resolve(TECH, 11, "psu swapped")  # GTR breached: 13h, deadline Nov 16 17:00

    # Called in November, breached in December: its credit is December's.
    assert open_ticket(h, paris(11, 30, 17), web, TicketKind.MATERIEL, "raid") == 12
    outage(h, web, paris(11, 30, 23), paris(12, 1, 1))  # 1 h in November, 1 h in December
    clock.now = paris(12, 1, 16)
    h.tickets.resolve(TECH, 12, "raid rebuilt")  # GTR breached: 9h, deadline Dec 1 15:00

    clock.now = paris(12, 2, 10)
    h.credits.request(TECH, 4, "client asked by mail")
    h.credits.request(TECH, 8)
    h.credits.request(TECH, 10)
    clock.now = paris(12, 3, 10)
    h.credits.grant(TECH, 4)
    h.credits.decline(TECH, 8, "outage caused by the client")
    clock.now = REPORT_AT
    return h
