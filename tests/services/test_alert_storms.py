"""Storm grouping through the alert service, on a real database: outages opened and closed as
the probe engine does (its transaction, then the service's hook), with an injected clock."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import load_catalog
from bot.messages import Messages
from bot.probes.state import OutageClosed, OutageOpened
from bot.services.alerts import AlertService
from bot.services.tickets import TicketService
from bot.storage.catalog_sync import sync_catalog
from bot.storage.models import OutboxMessage, OutboxOperation
from bot.storage.probes import add_outage, close_outage
from tests.services.history import SetClock

SERVERS = 6
CATALOG = """
timezone = "Europe/Paris"
[calendars.always]
always_open = true
[levels.critique]
gti = "30m"
gtr = "2h"
calendar = "always"
monthly_interventions = 20
monthly_fee = 890.0
[policy]
storm_threshold = 2
storm_window = "60s"
[team]
technicians = ["U01AAA"]
oncall = ["U01AAA"]
alerts_channel = "C01ALERTS"
[[clients]]
id = "acme"
name = "ACME SARL"
level = "critique"
""" + "".join(
    f'[[servers]]\nid = "node-{n}"\nclient = "acme"\nhost = "127.0.0.1"\n'
    f'[[servers.probes]]\ntype = "tcp"\nport = 22\n'
    for n in range(1, SERVERS + 1)
)
START = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


@dataclass
class Alerting:
    alerts: AlertService
    clock: SetClock
    sessions: sessionmaker[Session]

    def down(self, *servers: str, after: timedelta) -> None:
        """`servers` confirmed down together (one probe pass), `after` START."""
        self.clock.now = START + after
        with self.sessions.begin() as session:
            for server in servers:
                outage = add_outage(
                    session,
                    server,
                    started_at=self.clock.now - timedelta(seconds=3),
                    confirmed_at=self.clock.now,
                )
                event = OutageOpened(server, outage.started_at, outage.confirmed_at, outage.id)
                self.alerts.in_transaction(session, event)

    def up(self, *servers: str, after: timedelta) -> None:
        self.clock.now = START + after
        with self.sessions.begin() as session:
            for server in servers:
                outage = close_outage(session, server, ended_at=self.clock.now)
                assert outage is not None
                event = OutageClosed(server, self.clock.now, self.clock.now, outage.id)
                self.alerts.in_transaction(session, event)

    def roots(self) -> list[str]:
        """The keys of the root messages queued in the alert channel, in order."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(OutboxMessage.key)
                    .where(
                        OutboxMessage.operation == OutboxOperation.POST,
                        OutboxMessage.thread_key.is_(None),
                    )
                    .order_by(OutboxMessage.id)
                )
            )


@pytest.fixture
def alerting(sessions: sessionmaker[Session], tmp_path: Path) -> Alerting:
    path = tmp_path / "catalog.toml"
    path.write_text(CATALOG, encoding="utf-8")
    catalog = load_catalog(path)
    clock = SetClock(START)
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=clock())
    messages = Messages("en")
    tickets = TicketService(sessions, catalog, messages, clock=clock)
    return Alerting(AlertService(tickets, sessions, messages, clock=clock), clock, sessions)


def test_a_wave_over_the_threshold_is_one_storm_and_its_stragglers_join_it(
    alerting: Alerting,
) -> None:
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.down("node-4", after=timedelta(seconds=30))
    assert alerting.roots() == ["storm-1/root"]


def test_after_a_storm_is_over_a_lone_outage_has_its_own_root(alerting: Alerting) -> None:
    """Three servers blipped together and all came back; a minute later another goes down on
    its own: its own root, not a "storm" of one server."""
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.up("node-1", "node-2", "node-3", after=timedelta(seconds=20))
    alerting.down("node-4", after=timedelta(seconds=40))
    roots = alerting.roots()
    assert roots[0] == "storm-1/root"
    assert roots[1].startswith("outage-")
    assert len(roots) == 2


def test_servers_alerted_one_by_one_and_still_down_count_towards_a_storm(
    alerting: Alerting,
) -> None:
    """Two outages alerted alone, still down: the next one within the window starts a storm,
    which the following ones join."""
    alerting.down("node-1", after=timedelta(0))
    alerting.down("node-2", after=timedelta(seconds=5))
    alerting.down("node-3", after=timedelta(seconds=10))
    alerting.down("node-4", after=timedelta(seconds=15))
    roots = alerting.roots()
    assert [root.split("-")[0] for root in roots] == ["outage", "outage", "storm"]


def test_servers_that_came_back_no_longer_count_towards_a_storm(alerting: Alerting) -> None:
    """Two outages alerted alone that both recovered: the next one is alerted alone too."""
    alerting.down("node-1", after=timedelta(0))
    alerting.down("node-2", after=timedelta(seconds=5))
    alerting.up("node-1", "node-2", after=timedelta(seconds=10))
    alerting.down("node-3", after=timedelta(seconds=15))
    assert [root.split("-")[0] for root in alerting.roots()] == ["outage"] * 3
