"""The alert service on a real database, fed as the probe engine feeds it (events in its
transaction, through the service's hook), with an injected clock: storm grouping and storm
acknowledgement, expiring certificates."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import load_catalog
from bot.errors import UserFacingError
from bot.grammar import Open
from bot.messages import Messages
from bot.probes.errors import probe_error
from bot.probes.state import CertificateExpiring, OutageClosed, OutageOpened, StreakState
from bot.services.alerts import AlertService
from bot.services.audit import Actor
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from bot.slack.ids import Action
from bot.storage.catalog_sync import sync_catalog
from bot.storage.models import (
    AlertStorm,
    AuditEvent,
    Outage,
    OutboxMessage,
    OutboxOperation,
    ProbeStatus,
    Silence,
)
from bot.storage.probes import add_outage, close_outage, save_probe_states
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
HTTPS = "https://shop.example/health"
EXPIRES = START + timedelta(days=12, hours=12)


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

    def certificate(self, notice: int, *, after: timedelta, server: str = "node-1") -> None:
        """The engine saw `server`'s certificate (valid until EXPIRES) `after` START, at
        notice `notice`."""
        self.clock.now = START + after
        with self.sessions.begin() as session:
            key = f"{server}/http:{HTTPS}"
            event = CertificateExpiring(key, server, HTTPS, EXPIRES, notice)
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


def latest_root(alerting: Alerting, key: str) -> OutboxMessage:
    """The storm root as last queued: its post or its latest edit."""
    with alerting.sessions() as session:
        return session.scalars(
            select(OutboxMessage)
            .where((OutboxMessage.key == key) | (OutboxMessage.target_key == key))
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        ).one()


def thread_texts(alerting: Alerting, root: str) -> list[str]:
    """The texts posted (or queued) in the thread of `root`, in order."""
    with alerting.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage.text)
                .where(OutboxMessage.thread_key == root)
                .order_by(OutboxMessage.id)
            )
        )


def buttons(message: OutboxMessage) -> list[str]:
    return [
        element["action_id"]
        for block in message.blocks or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_acknowledging_a_storm_acknowledges_its_servers_down_and_stops_the_paging(
    alerting: Alerting,
) -> None:
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.up("node-3", after=timedelta(seconds=10))
    root = latest_root(alerting, "storm-1/root")
    assert "<@U01AAA>" in root.text
    assert buttons(root) == [Action.ACKNOWLEDGE_STORM.value]

    alerting.clock.now = START + timedelta(seconds=20)
    reply = alerting.alerts.acknowledge_storm(Actor("U01BBB", "[button] acknowledge"), 1)
    assert reply.text == "You acknowledged the storm (2 servers still down)."
    root = latest_root(alerting, "storm-1/root")
    assert "<@U01AAA>" not in root.text
    assert "Acknowledged by <@U01BBB> at 2026-11-27 04:00." in str(root.blocks)
    assert buttons(root) == []
    with pytest.raises(UserFacingError) as again:
        alerting.alerts.acknowledge_storm(Actor("U01AAA"), 1)
    assert again.value.key == "alert.already_acknowledged"

    alerting.down("node-4", after=timedelta(seconds=30))  # joins the storm, seen by nobody
    root = latest_root(alerting, "storm-1/root")
    assert buttons(root) == [Action.ACKNOWLEDGE_STORM.value]  # someone must take it again
    assert "<@U01AAA>" in root.text
    with alerting.sessions() as session:
        detail = session.scalars(
            select(OutboxMessage.text).where(OutboxMessage.key == "outage-4/detail")
        ).one()
        assert detail.endswith("\n<@U01AAA>")
    with alerting.sessions() as session:
        acknowledged = session.execute(
            select(Outage.server_id, Outage.acknowledged_by).order_by(Outage.server_id)
        ).all()
        assert acknowledged == [
            ("node-1", "U01BBB"),
            ("node-2", "U01BBB"),
            ("node-3", None),  # recovered before
            ("node-4", None),
        ]
        event = session.scalars(select(AuditEvent)).one()
        assert (event.action, event.actor_id) == ("storm.acknowledged", "U01BBB")
        assert event.details == {"storm_id": 1, "servers": ["node-1", "node-2"], "carried": {}}
        told = session.scalars(
            select(OutboxMessage.text).where(OutboxMessage.thread_key == "storm-1/root")
        ).all()
        assert "<@U01BBB> acknowledged the storm: no more pings." in told


def test_a_storm_over_cannot_be_acknowledged(alerting: Alerting) -> None:
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.up("node-1", "node-2", "node-3", after=timedelta(minutes=5))
    assert buttons(latest_root(alerting, "storm-1/root")) == []
    with pytest.raises(UserFacingError) as over:
        alerting.alerts.acknowledge_storm(Actor("U01AAA"), 1)
    assert over.value.key == "alert.storm_already_over"
    with alerting.sessions() as session:
        assert session.scalars(select(AuditEvent)).all() == []


def without(alerting: Alerting, server_id: str) -> Alerting:
    """The same database and clock, served by a bot restarted on a catalog without
    `server_id` (no longer probed)."""
    catalog = alerting.alerts.catalog
    kept = [server for server in catalog.servers if server.id != server_id]
    catalog = catalog.model_copy(update={"servers": kept})
    messages = Messages("en")
    tickets = TicketService(alerting.sessions, catalog, messages, clock=alerting.clock)
    alerts = AlertService(tickets, alerting.sessions, messages, clock=alerting.clock)
    return Alerting(alerts, alerting.clock, alerting.sessions)


def storm_ended_at(alerting: Alerting) -> datetime | None:
    with alerting.sessions() as session:
        return session.scalars(select(AlertStorm.ended_at)).one()


def test_a_storm_whose_only_servers_down_are_no_longer_probed_is_over(
    alerting: Alerting,
) -> None:
    """node-3 was removed from the catalog while down: when the servers still probed are
    back, the storm is over; its root says node-3 is no longer probed, and pages nobody."""
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    restarted = without(alerting, "node-3")
    restarted.up("node-1", after=timedelta(minutes=5))
    assert storm_ended_at(alerting) is None
    restarted.up("node-2", after=timedelta(minutes=7))
    assert storm_ended_at(alerting) == START + timedelta(minutes=7)
    root = latest_root(alerting, "storm-1/root")
    assert "• :white_circle: `node-3` (ACME SARL), no longer probed" in str(root.blocks)
    assert "<@U01AAA>" not in root.text
    assert buttons(root) == []


def test_a_storm_kept_open_by_a_server_removed_later_ends_at_the_next_run(
    alerting: Alerting,
) -> None:
    """node-3, still down, was removed from the catalog after the others came back: the next
    run of the milestones says so in the storm's thread, once, and ends the storm when the
    last server still probed came back."""
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.up("node-1", "node-2", after=timedelta(minutes=7))
    assert storm_ended_at(alerting) is None
    restarted = without(alerting, "node-3")
    assert restarted.alerts.post_outage_milestones(START + timedelta(minutes=20)) == 1
    assert storm_ended_at(alerting) == START + timedelta(minutes=7)
    root = latest_root(alerting, "storm-1/root")
    assert "no longer probed" in str(root.blocks)
    assert buttons(root) == []
    with alerting.sessions() as session:
        told = session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.thread_key == "storm-1/root")
        ).all()
    assert "outage-3/unprobed" in told
    assert restarted.alerts.post_outage_milestones(START + timedelta(minutes=21)) == 0


def test_a_silenced_server_removed_from_a_storm_still_lets_it_end_quietly(
    alerting: Alerting,
) -> None:
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.alerts.silence(Actor("U01AAA"), "node-3", timedelta(hours=1), "decommissioning")
    alerting.up("node-1", "node-2", after=timedelta(minutes=7))
    restarted = without(alerting, "node-3")
    assert restarted.alerts.post_outage_milestones(START + timedelta(minutes=20)) == 1
    assert storm_ended_at(alerting) == START + timedelta(minutes=7)
    with alerting.sessions() as session:
        keys = session.scalars(select(OutboxMessage.key)).all()
    assert "outage-3/unprobed" not in keys


def test_an_expiring_certificate_is_posted_once_a_notice_and_pages_on_its_last_day(
    alerting: Alerting,
) -> None:
    alerting.certificate(14, after=timedelta(0))
    alerting.certificate(14, after=timedelta(hours=2))  # again after a restart: nothing new
    alerting.certificate(7, after=timedelta(days=6))
    alerting.certificate(1, after=timedelta(days=12))
    with alerting.sessions() as session:
        posted = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [message.thread_key for message in posted] == [None, None, None]
    assert posted[0].text == (
        f":lock: The TLS certificate of {HTTPS} (node-1) expires in 12d12h, on "
        "2026-12-09 16:00. Renew it before then: once expired, the probe fails and node-1 goes "
        "DOWN."
    )
    assert "expires in 6d12h" in posted[1].text
    assert "<@" not in posted[0].text + posted[1].text
    assert posted[2].text.endswith(" <@U01AAA>")  # the last day: the on-call is told


def test_a_silenced_server_posts_no_certificate_notice(alerting: Alerting) -> None:
    alerting.alerts.silence(Actor("U01AAA"), "node-2", timedelta(hours=1), "migration")
    alerting.certificate(14, after=timedelta(0), server="node-2")
    with alerting.sessions() as session:
        assert session.scalars(select(OutboxMessage.key)).all() == []


def test_a_silence_over_before_the_outage_was_confirmed_says_nothing_more(
    alerting: Alerting,
) -> None:
    """Silenced until 03:01; node-1 first fails at 03:00:58 and is confirmed at 03:01:01, after
    the silence: its root pages the on-call as any other, and no "silence over" follows (the
    silence held nothing back)."""
    alerting.alerts.silence(Actor("U01AAA"), "node-1", timedelta(minutes=1), "reboot")
    alerting.down("node-1", after=timedelta(seconds=61))
    assert alerting.alerts.post_outage_milestones(START + timedelta(seconds=90)) == 0
    with alerting.sessions() as session:
        keys = session.scalars(select(OutboxMessage.key)).all()
    assert [key for key in keys if "silence-over" in key] == []
    assert "outage-1/root" in keys


def test_a_server_no_longer_probed_is_said_so_once_its_silence_is_over(
    alerting: Alerting,
) -> None:
    alerting.down("node-1", after=timedelta(0))
    alerting.alerts.silence(Actor("U01AAA"), "node-1", timedelta(hours=1), "decommissioning")
    catalog = alerting.alerts.catalog
    without = catalog.model_copy(
        update={"servers": [s for s in catalog.servers if s.id != "node-1"]}
    )
    messages = Messages("en")
    tickets = TicketService(alerting.sessions, without, messages, clock=alerting.clock)
    restarted = AlertService(tickets, alerting.sessions, messages, clock=alerting.clock)
    assert restarted.post_outage_milestones(START + timedelta(minutes=30)) == 0
    assert restarted.post_outage_milestones(START + timedelta(minutes=61)) == 1
    with alerting.sessions() as session:
        keys = session.scalars(select(OutboxMessage.key)).all()
    assert "outage-1/unprobed" in keys


def test_a_certificate_a_probe_does_not_verify_is_said_expired_not_a_coming_outage(
    alerting: Alerting,
) -> None:
    """`verify_tls = false`: expiring, the post does not announce an outage (the probe will
    not fail on it); expired, it says so and mentions the on-call."""
    with alerting.sessions.begin() as session:
        key = f"node-1/http:{HTTPS}"
        alerting.alerts.in_transaction(
            session, CertificateExpiring(key, "node-1", HTTPS, EXPIRES, 14, verified=False)
        )
        alerting.clock.now = EXPIRES + timedelta(hours=1)
        alerting.alerts.in_transaction(
            session, CertificateExpiring(key, "node-1", HTTPS, EXPIRES, 0, verified=False)
        )
    with alerting.sessions() as session:
        expiring, expired = session.scalars(
            select(OutboxMessage.text).order_by(OutboxMessage.id)
        ).all()
    assert expiring.endswith("on 2026-12-09 16:00. Renew it before then.")
    assert expired == (
        f":lock: The TLS certificate of {HTTPS} (node-1) expired on 2026-12-09 16:00: the probe "
        "does not verify it, but browsers refuse it. <@U01AAA>"
    )


def test_a_second_silence_1h_click_is_refused_while_the_first_silence_lasts(
    alerting: Alerting,
) -> None:
    """A double click, or two technicians clicking before the root drops the button: one
    silence, one thread note, one audit event; the second clicker is told until when."""
    alerting.down("node-1", after=timedelta(0))
    outage_id = int(alerting.roots()[0].removeprefix("outage-").removesuffix("/root"))
    reply = alerting.alerts.silence_outage(Actor("U01AAA", "[button] silence"), outage_id)
    assert reply.text.startswith("Alerts for `node-1` silenced until 2026-11-27 05:00.")
    alerting.clock.now += timedelta(seconds=1)
    with pytest.raises(UserFacingError) as again:
        alerting.alerts.silence_outage(Actor("U01BBB", "[button] silence"), outage_id)
    assert again.value.key == "alert.already_silenced"
    assert again.value.values == {"server": "node-1", "until": "2026-11-27 05:00"}
    with alerting.sessions() as session:
        assert len(session.scalars(select(Silence)).all()) == 1
        assert session.scalars(select(AuditEvent.action)).all() == ["server.silenced"]
        told = session.scalars(
            select(OutboxMessage.text).where(OutboxMessage.thread_key == f"outage-{outage_id}/root")
        ).all()
        assert sum("silenced alerts" in text for text in told) == 1


def test_a_shorter_silence_over_a_longer_one_says_the_longer_one_still_holds(
    alerting: Alerting,
) -> None:
    """`/sla silence node-1 10m` while a 4h silence lasts: alerts stay silenced for the 4 hours
    (the silence that ends last wins), so the reply and the thread note say so, not "until
    03:10" (local 04:10), which would have the on-call expect a page that never comes."""
    alerting.down("node-1", after=timedelta(0))
    actor = Actor("U01AAA", "/sla silence")
    alerting.alerts.silence(actor, "node-1", timedelta(hours=4), "migration")
    alerting.clock.now += timedelta(minutes=1)
    reply = alerting.alerts.silence(actor, "node-1", timedelta(minutes=10), "")
    assert reply.text.startswith(
        "Alerts for `node-1` silenced until 2026-11-27 04:11: a silence in force until"
        " 2026-11-27 08:00 still holds."
    )
    told = thread_texts(alerting, "outage-1/root")
    assert told[-1] == (
        ":no_bell: <@U01AAA> silenced alerts for node-1 until 2026-11-27 04:11: a silence in"
        " force until 2026-11-27 08:00 still holds."
    )


def maintenance(alerting: Alerting, *servers: str) -> TicketService:
    """Open a `maintenance` ticket on each of `servers` (planned work: they may go down); the
    ticket service, watched by the alerts as the bot wires it."""
    tickets = TicketService(
        alerting.sessions, alerting.alerts.catalog, Messages("en"), clock=alerting.clock
    )
    tickets.watch_maintenance(alerting.alerts.refresh_server)
    for server in servers:
        tickets.open(Actor("U01AAA"), Open(server, TicketKind.MAINTENANCE, None, "kernel update"))
    return tickets


def test_a_storm_of_servers_under_maintenance_pages_nobody(alerting: Alerting) -> None:
    """A planned reboot of servers under maintenance tickets, more than the threshold at once:
    their storm root says so and mentions nobody, as each root would have alone. A server
    down without one joining it pages the on-call, and only its detail mentions them."""
    maintenance(alerting, "node-1", "node-2", "node-3", "node-5")
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    with alerting.sessions() as session:
        posted = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    root = next(message for message in posted if message.key == "storm-1/root")
    assert "<@U01AAA>" not in root.text
    assert "• :wrench: `node-1` (ACME SARL), maintenance in progress (INT-1)" in str(root.blocks)
    details = [message.text for message in posted if message.key.endswith("/detail")]
    assert len(details) == 3
    assert all("<@" not in text for text in details)
    assert "Maintenance in progress (INT-2): nobody is paged." in details[1]

    alerting.alerts.acknowledge_storm(Actor("U01BBB"), 1)
    alerting.down("node-5", after=timedelta(seconds=10))  # planned too: still acknowledged
    root = latest_root(alerting, "storm-1/root")
    assert "Acknowledged by <@U01BBB>" in str(root.blocks)
    alerting.down("node-4", after=timedelta(seconds=20))  # nobody planned this one
    root = latest_root(alerting, "storm-1/root")
    assert "<@U01AAA>" in root.text
    assert "• :red_circle: `node-4` (ACME SARL)" in str(root.blocks)
    with alerting.sessions() as session:
        details = session.scalars(
            select(OutboxMessage.text)
            .where(OutboxMessage.key.in_(["outage-4/detail", "outage-5/detail"]))
            .order_by(OutboxMessage.id)
        ).all()
    assert "<@" not in details[0]  # node-5, under maintenance
    assert details[1].endswith("\n<@U01AAA>")  # node-4


def test_a_maintenance_over_on_a_server_still_down_pages_the_oncall(alerting: Alerting) -> None:
    """node-1 went down for its maintenance at 04:00 (local) and its milestones paged nobody,
    the last one at 4 hours. The maintenance ticket is resolved at 08:30 with node-1 still
    down: no milestone is left to say so, so the thread says it at once, mentioning the on-call."""
    tickets = maintenance(alerting, "node-1")
    alerting.down("node-1", after=timedelta(0))
    assert alerting.alerts.post_outage_milestones(START + timedelta(hours=4, minutes=1)) == 1
    alerting.clock.now = START + timedelta(hours=4, minutes=30)
    tickets.resolve(Actor("U01AAA"), 1, "kernel updated")
    told = thread_texts(alerting, "outage-1/root")
    lasts, over = told
    assert "<@U01AAA>" not in lasts  # the 4h milestone, under maintenance
    assert over == (
        ":bell: Maintenance over (INT-1): node-1 is still down, for 4h30m now. <@U01AAA>"
    )
    assert alerting.alerts.post_outage_milestones(START + timedelta(hours=4, minutes=31)) == 0


def test_a_silence_over_on_a_storm_server_still_down_pages_the_oncall(alerting: Alerting) -> None:
    """node-3 of a storm was silenced for 30 minutes; when the silence is over, it is still
    down: the storm's thread says so, once, mentioning the on-call, as an outage's would."""
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.alerts.silence(Actor("U01AAA"), "node-3", timedelta(minutes=30), "disk swap")
    alerting.up("node-1", "node-2", after=timedelta(minutes=5))
    assert alerting.alerts.post_outage_milestones(START + timedelta(minutes=20)) == 0
    assert alerting.alerts.post_outage_milestones(START + timedelta(minutes=31)) == 1
    assert alerting.alerts.post_outage_milestones(START + timedelta(minutes=32)) == 0
    told = thread_texts(alerting, "storm-1/root")
    assert told[-1] == (
        ":bell: Silence over at 2026-11-27 04:30: node-3 is still down, for 31m now. <@U01AAA>"
    )


def test_silencing_a_storm_server_is_told_in_the_storm_thread_and_on_its_root(
    alerting: Alerting,
) -> None:
    """node-3 of a storm is silenced (by command or by the Silence 1h of its outage): the
    people following the storm's thread are told, as an outage's thread would be, and the
    root lists node-3 as silenced; with only silenced servers left down, it pages nobody. The
    silence over, the root lists node-3 down again and pages."""
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=1)
    actor = Actor("U01BBB", "/sla silence")
    alerting.alerts.silence(actor, "node-3", timedelta(minutes=30), "disk swap")
    told = thread_texts(alerting, "storm-1/root")
    assert told[-1] == (
        ":no_bell: <@U01BBB> silenced alerts for node-3 until 2026-11-27 04:31. Reason: disk swap"
    )
    root = latest_root(alerting, "storm-1/root")
    assert "• :no_bell: `node-3` (ACME SARL), alerts silenced until 2026-11-27 04:31" in str(
        root.blocks
    )
    assert "<@U01AAA>" in root.text  # node-1 and node-2 are still down, unattended

    alerting.alerts.silence_outage(Actor("U01BBB", "[button] silence"), 2)  # node-2
    assert thread_texts(alerting, "storm-1/root")[-1].startswith(
        ":no_bell: <@U01BBB> silenced alerts for node-2 until 2026-11-27 05:01."
    )
    alerting.up("node-1", after=timedelta(minutes=5))
    root = latest_root(alerting, "storm-1/root")
    assert "<@U01AAA>" not in root.text  # nothing left down that anyone must be paged for
    assert buttons(root) == [Action.ACKNOWLEDGE_STORM.value]

    assert alerting.alerts.post_outage_milestones(START + timedelta(minutes=32)) == 1
    root = latest_root(alerting, "storm-1/root")
    assert "• :red_circle: `node-3` (ACME SARL)" in str(root.blocks)
    assert "<@U01AAA>" in root.text


def test_a_maintenance_over_on_a_storm_server_still_down_is_told_in_the_storm_thread(
    alerting: Alerting,
) -> None:
    """A planned reboot of three servers under maintenance made a storm that pages nobody.
    node-3's ticket is resolved while node-3 is still down: the root's edit notifies nobody,
    so the storm's thread says so at once, mentioning the on-call, as an outage's would."""
    tickets = maintenance(alerting, "node-1", "node-2", "node-3")
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=40)
    tickets.resolve(Actor("U01AAA"), 3, "kernel updated")
    told = thread_texts(alerting, "storm-1/root")
    assert told[-1] == (
        ":bell: Maintenance over (INT-3): node-3 is still down, for 40m now. <@U01AAA>"
    )
    root = latest_root(alerting, "storm-1/root")
    assert "• :red_circle: `node-3` (ACME SARL)" in str(root.blocks)
    assert "<@U01AAA>" in root.text


def test_tickets_opened_from_a_storm_servers_are_on_its_root_which_stops_paging_for_them(
    alerting: Alerting,
) -> None:
    """Clients call during a storm and the on-call opens tickets from the servers' details:
    the root names each server's ticket, as an outage's root does, and stops mentioning the
    on-call once every server still down has one (someone is on each)."""
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    tickets = TicketService(
        alerting.sessions, alerting.alerts.catalog, Messages("en"), clock=alerting.clock
    )
    for outage_id, server in ((3, "node-3"), (1, "node-1")):
        command = Open(server, TicketKind.MATERIEL, None, "rack down")
        tickets.open(Actor("U01AAA"), command, outage_id=outage_id)
        alerting.alerts.refresh(outage_id)  # as the modal's handler does once it is registered
    root = latest_root(alerting, "storm-1/root")
    assert "• :red_circle: `node-3` (ACME SARL), tickets: INT-1" in str(root.blocks)
    assert "• :red_circle: `node-1` (ACME SARL), tickets: INT-2" in str(root.blocks)
    assert "<@U01AAA>" in root.text  # nobody took node-2 yet

    tickets.open(Actor("U01AAA"), Open("node-2", TicketKind.MATERIEL, None, "rack"), outage_id=2)
    alerting.alerts.refresh(2)
    root = latest_root(alerting, "storm-1/root")
    assert "<@U01AAA>" not in root.text


def test_a_recovered_root_no_longer_says_its_maintenance_is_in_progress(
    alerting: Alerting,
) -> None:
    """node-1 went down during its maintenance and came back; its maintenance ticket is then
    resolved. The recovered root stays as it is for good: it must not say "maintenance in
    progress, nobody is paged" about an outage that is over."""
    tickets = maintenance(alerting, "node-1")
    alerting.down("node-1", after=timedelta(0))
    assert "Maintenance in progress (INT-1)" in str(latest_root(alerting, "outage-1/root").blocks)
    alerting.up("node-1", after=timedelta(minutes=20))
    tickets.resolve(Actor("U01AAA"), 1, "kernel updated")
    root = latest_root(alerting, "outage-1/root")
    assert root.text.startswith("node-1 recovered after 20m")
    assert "Maintenance in progress" not in str(root.blocks)


def test_a_storm_server_down_again_is_listed_once_and_counted_once(alerting: Alerting) -> None:
    """node-1 of a storm comes back and goes down again while the wave goes on: its new outage
    joins the storm, and the root lists node-1 once, down, and counts three servers, not
    "4 servers down" with node-1 both recovered and down (the on-call would look for a fourth
    server)."""
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    alerting.up("node-1", after=timedelta(seconds=10))
    alerting.down("node-1", after=timedelta(seconds=20))
    root = latest_root(alerting, "storm-1/root")
    assert root.text == "Alert storm: 3 servers down now, 0 recovered (of 3) <@U01AAA>"
    lines = [line for line in str(root.blocks).split("\\n") if "node-1" in line]
    assert len(lines) == 1
    assert ":red_circle: `node-1`" in lines[0]

    alerting.up("node-1", "node-2", "node-3", after=timedelta(minutes=5))
    root = latest_root(alerting, "storm-1/root")
    assert root.text == "Alert storm over: 3 servers were down (3 recovered)"
    assert "3/3 recovered" in str(root.blocks)


def test_a_server_probed_again_while_still_down_gets_its_root_and_buttons_back(
    alerting: Alerting,
) -> None:
    """node-1, down, was removed from the catalog (its root turned "no longer monitored",
    without buttons), then put back while still down: the next run says so in its thread and
    turns the root back into a live outage with its buttons, once; its milestones page again
    from a root that says it is down."""
    alerting.down("node-1", after=timedelta(0))
    removed = without(alerting, "node-1")
    assert removed.alerts.post_outage_milestones(START + timedelta(minutes=5)) == 1
    assert "no longer monitored" in latest_root(alerting, "outage-1/root").text

    assert alerting.alerts.post_outage_milestones(START + timedelta(minutes=10)) == 1
    root = latest_root(alerting, "outage-1/root")
    assert root.text.startswith("node-1 DOWN")
    assert root.text.endswith("<@U01AAA>")
    assert buttons(root) == [
        Action.OPEN_INTERVENTION.value,
        Action.ACKNOWLEDGE.value,
        Action.SILENCE_1H.value,
    ]
    assert thread_texts(alerting, "outage-1/root")[-1] == (
        ":large_blue_circle: node-1 is probed again (back in the catalog): it is still down,"
        " and its recovery will be seen."
    )
    assert alerting.alerts.post_outage_milestones(START + timedelta(minutes=11)) == 0


def test_a_server_down_unplanned_joining_a_storm_that_paged_nobody_pages_the_oncall(
    alerting: Alerting,
) -> None:
    """A planned reboot of three servers under maintenance made a storm that pages nobody, and
    nobody acknowledged it (there was nothing to take). node-4, under no maintenance, goes down
    in the same wave: the root's edit notifies nobody and storm members get no milestone, so
    its detail must mention the on-call, as it would on a storm someone had acknowledged."""
    maintenance(alerting, "node-1", "node-2", "node-3")
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    assert "<@U01AAA>" not in latest_root(alerting, "storm-1/root").text
    alerting.down("node-4", after=timedelta(seconds=20))
    assert "<@U01AAA>" in latest_root(alerting, "storm-1/root").text
    detail = thread_texts(alerting, "storm-1/root")[-1]
    assert detail.startswith("*node-4* (ACME SARL, critique) down since")
    assert detail.endswith("\n<@U01AAA>")


def outage_row(alerting: Alerting, outage_id: int) -> Outage:
    with alerting.sessions() as session:
        outage = session.get(Outage, outage_id)
        assert outage is not None
        return outage


def test_a_server_down_again_within_the_hour_of_an_acknowledged_outage_tells_its_acknowledger(
    alerting: Alerting,
) -> None:
    """node-1 went down at 04:00 (local), U01BBB acknowledged it at 04:02, it came back at
    04:05 and went down again at 04:25, then again at 04:45: each new outage posts its root,
    which says who acknowledged the incident and when and mentions them, without mentioning
    the on-call or offering Acknowledge again; its 15 min milestone pages nobody either (its
    1 h one does: test_alert_carried_ack). Audited, as a click is."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=2)
    alerting.alerts.acknowledge(Actor("U01BBB", "[button] acknowledge"), 1)
    alerting.up("node-1", after=timedelta(minutes=5))
    alerting.down("node-1", after=timedelta(minutes=25))
    assert alerting.roots() == ["outage-1/root", "outage-2/root"]
    root = latest_root(alerting, "outage-2/root")
    assert "<@U01AAA>" not in root.text
    assert root.text.endswith(" <@U01BBB>")
    assert (
        "Acknowledged by <@U01BBB> at 2026-11-27 04:02, on an earlier outage of this server: "
        "it carries over while the server keeps going down within the hour, and the on-call is "
        "paged if it is still down at 2026-11-27 05:24." in str(root.blocks)
    )
    assert buttons(root) == [Action.OPEN_INTERVENTION.value, Action.SILENCE_1H.value]
    second = outage_row(alerting, 2)
    assert (second.acknowledged_by, second.acknowledged_at) == (
        "U01BBB",
        START + timedelta(minutes=2),
    )
    with alerting.sessions() as session:
        carried = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[-1]
    assert (carried.action, carried.actor_id, carried.server_id) == (
        "outage.acknowledged",
        "system",
        "node-1",
    )
    assert carried.details == {
        "outage_id": 2,
        "carried_from": 1,
        "acknowledged_by": "U01BBB",
        "acknowledged_at": (START + timedelta(minutes=2)).isoformat(),
        "tickets": [],
    }

    alerting.up("node-1", after=timedelta(minutes=30))
    alerting.down("node-1", after=timedelta(minutes=45))  # the acknowledgement still stands
    assert "<@U01AAA>" not in latest_root(alerting, "outage-3/root").text
    assert alerting.alerts.post_outage_milestones(START + timedelta(minutes=61)) == 1
    assert thread_texts(alerting, "outage-3/root")[-1] == (
        ":hourglass: node-1 has been down for 16m."
    )


def test_a_flapping_server_nobody_took_pages_at_each_outage(alerting: Alerting) -> None:
    """Nobody acknowledged node-1's first outage: its next one pages the on-call, as any
    other; and one acknowledged does not carry to an outage more than an hour after its
    recovery (a new incident)."""
    alerting.down("node-1", after=timedelta(0))
    alerting.up("node-1", after=timedelta(minutes=5))
    alerting.down("node-1", after=timedelta(minutes=10))
    assert "<@U01AAA>" in latest_root(alerting, "outage-2/root").text
    alerting.clock.now = START + timedelta(minutes=11)
    alerting.alerts.acknowledge(Actor("U01BBB"), 2)
    alerting.up("node-1", after=timedelta(minutes=15))
    alerting.down("node-1", after=timedelta(minutes=76))
    root = latest_root(alerting, "outage-3/root")
    assert "<@U01AAA>" in root.text
    assert "Acknowledged" not in str(root.blocks)
    assert outage_row(alerting, 3).acknowledged_by is None


def test_a_server_down_again_after_a_ticket_was_opened_from_its_outage_tells_the_ticket(
    alerting: Alerting,
) -> None:
    """U01BBB opened INT-1 from node-1's outage (the technician is on it) and did not resolve
    it when node-1 came back: node-1 down again within the hour posts its root without paging,
    naming and mentioning who is on it, and INT-1's thread (the first outage's) hears of it."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=3)
    tickets = TicketService(
        alerting.sessions, alerting.alerts.catalog, Messages("en"), clock=alerting.clock
    )
    tickets.open(Actor("U01BBB"), Open("node-1", TicketKind.MATERIEL, None, "disk"), outage_id=1)
    alerting.alerts.refresh(1)
    alerting.up("node-1", after=timedelta(minutes=20))
    alerting.down("node-1", after=timedelta(minutes=40))
    root = latest_root(alerting, "outage-2/root")
    assert "<@U01AAA>" not in root.text
    assert root.text.endswith(" <@U01BBB>")
    assert "Acknowledged by <@U01BBB> at 2026-11-27 04:03, on an earlier outage" in str(root.blocks)
    assert thread_texts(alerting, "outage-1/root")[-1] == (
        ":repeat: node-1 is down again since 2026-11-27 04:39, 20m after it recovered. 1 "
        "ticket still open: INT-1; its new alert pages the on-call only if it is still down an "
        "hour from now."
    )
    with alerting.sessions() as session:
        carried = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[-1]
    assert carried.details["tickets"] == [1]
    assert carried.details["acknowledged_by"] == "U01BBB"


def test_a_server_down_again_in_a_storm_carries_its_acknowledgement_there(
    alerting: Alerting,
) -> None:
    """node-1, acknowledged, came back, and went down again with two other servers: the storm
    lists it as acknowledged and its detail pages nobody; once the others are back, the storm
    left with node-1 down no longer mentions the on-call."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=1)
    alerting.alerts.acknowledge(Actor("U01BBB"), 1)
    alerting.up("node-1", after=timedelta(minutes=2))
    alerting.down("node-1", "node-2", "node-3", after=timedelta(minutes=10))
    root = latest_root(alerting, "storm-1/root")
    assert "<@U01AAA>" in root.text  # node-2 and node-3: nobody took them
    assert "• :red_circle: `node-1` (ACME SARL), acknowledged by <@U01BBB>" in str(root.blocks)
    with alerting.sessions() as session:
        detail = session.scalars(
            select(OutboxMessage.text).where(OutboxMessage.key == "outage-2/detail")
        ).one()
    assert "<@U01AAA>" not in detail
    assert "Acknowledged by <@U01BBB> at 2026-11-27 04:01, on an earlier outage" in detail
    alerting.up("node-2", "node-3", after=timedelta(minutes=12))
    assert "<@U01AAA>" not in latest_root(alerting, "storm-1/root").text


def test_a_server_down_again_while_silenced_keeps_the_acknowledgement_for_later(
    alerting: Alerting,
) -> None:
    """Silenced after its acknowledged outage, node-1 goes down again: nothing is posted (the
    silence holds); when the silence ends with node-1 still down, its root comes, acknowledged,
    mentioning U01BBB, and neither it nor the thread mentions the on-call."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=1)
    alerting.alerts.acknowledge(Actor("U01BBB"), 1)
    alerting.alerts.silence(Actor("U01BBB"), "node-1", timedelta(minutes=30), "reboots")
    alerting.up("node-1", after=timedelta(minutes=5))
    alerting.down("node-1", after=timedelta(minutes=20))
    assert alerting.roots() == ["outage-1/root"]
    assert alerting.alerts.post_outage_milestones(START + timedelta(minutes=32)) == 2
    root = latest_root(alerting, "outage-2/root")
    assert "<@U01AAA>" not in root.text
    assert root.text.endswith(" <@U01BBB>")
    assert "on an earlier outage" in str(root.blocks)
    assert all("<@U01AAA>" not in text for text in thread_texts(alerting, "outage-2/root"))


def test_a_storm_ended_by_its_servers_no_longer_probed_says_so_when_acknowledged(
    alerting: Alerting,
) -> None:
    """The storm ended because node-3, still down, is no longer probed: a late Acknowledge is
    refused with a reason that is true, not "all its servers recovered"."""
    alerting.down("node-1", "node-2", "node-3", after=timedelta(0))
    restarted = without(alerting, "node-3")
    restarted.up("node-1", "node-2", after=timedelta(minutes=7))
    with pytest.raises(UserFacingError) as over:
        restarted.alerts.acknowledge_storm(Actor("U01AAA"), 1)
    assert Messages("en").get(over.value.key, **over.value.values) == (
        "This storm was over at 2026-11-27 04:07: the servers probed then had all recovered, "
        "and the catalog no longer probed the others."
    )


@pytest.mark.parametrize(
    ("language", "stored", "shown"),
    [
        (
            "fr",
            probe_error("probe.error.no_connection", seconds=2.0),
            "• `tcp:22` : délai dépassé : aucune connexion en 2 s",
        ),
        (
            "en",
            probe_error("probe.error.no_connection", seconds=2.0),
            "• `tcp:22`: timeout: no connection in 2 s",
        ),
        # Written by a version that stored English text: shown as it was, never lost.
        (
            "fr",
            "timeout: no connection in 2 s <x>",
            "• `tcp:22` : timeout: no connection in 2 s &lt;x&gt;",
        ),
    ],
)
def test_a_probe_s_stored_reason_is_told_in_the_team_s_language_on_the_root_and_its_thread(
    sessions: sessionmaker[Session], tmp_path: Path, language: str, stored: str, shown: str
) -> None:
    """The reason in `probe_states.last_error`, read back from the database, is put in the
    team's words on the outage's root and in its thread; older text is shown as it is."""
    path = tmp_path / "catalog.toml"
    path.write_text(CATALOG, encoding="utf-8")
    catalog = load_catalog(path)
    clock = SetClock(START)
    messages = Messages(language)  # type: ignore[arg-type]
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=clock())
        state = StreakState(
            "node-1/tcp:22",
            ProbeStatus.DOWN,
            failures=3,
            streak_started_at=START - timedelta(seconds=3),
            last_checked_at=START,
            last_error=stored,
            changed_at=START,
        )
        save_probe_states(session, [("node-1", state)])
    tickets = TicketService(sessions, catalog, messages, clock=clock)
    alerting = Alerting(AlertService(tickets, sessions, messages, clock=clock), clock, sessions)
    alerting.down("node-1", after=timedelta(0))
    root = latest_root(alerting, "outage-1/root")
    assert shown in str(root.blocks)
    assert (
        shown.removeprefix("• `tcp:22`").lstrip(" :") in thread_texts(alerting, "outage-1/root")[0]
    )


def test_an_outage_that_outlived_its_silence_is_told_though_it_recovered_before_the_next_run(
    alerting: Alerting,
) -> None:
    """Silenced until 03:10, node-1 confirmed down at 03:02 and back at 03:10:20, before the
    milestones run that would have posted its root: it was down unsilenced, so the team hears
    of it as it would have then (a root, recovered, and the recovery in its thread), paging
    nobody now that it is over."""
    alerting.alerts.silence(Actor("U01AAA"), "node-1", timedelta(minutes=10), "reboot")
    alerting.down("node-1", after=timedelta(minutes=2))
    alerting.up("node-1", after=timedelta(minutes=10, seconds=20))
    alerting.alerts.post_outage_milestones(START + timedelta(minutes=10, seconds=30))
    assert alerting.roots() == ["outage-1/root"]
    root = latest_root(alerting, "outage-1/root")
    assert root.text.startswith("node-1 recovered after 8m")
    assert "<@" not in root.text
    assert buttons(root) == []
    assert thread_texts(alerting, "outage-1/root")[-1].startswith(
        ":white_check_mark: node-1 recovered after 8m"
    )


def test_an_outage_over_within_its_silence_posts_nothing(alerting: Alerting) -> None:
    alerting.alerts.silence(Actor("U01AAA"), "node-1", timedelta(minutes=10), "reboot")
    alerting.down("node-1", after=timedelta(minutes=2))
    alerting.up("node-1", after=timedelta(minutes=9))
    alerting.alerts.post_outage_milestones(START + timedelta(minutes=10, seconds=30))
    assert alerting.roots() == []


def test_outages_hidden_by_a_silence_do_not_count_as_flapping(alerting: Alerting) -> None:
    """node-1 rebooted twice under a silence, then down for real: its root does not say it was
    down 3 times within the hour, which the team saw nothing of and would read as a server
    unstable; an outage the team was alerted of still counts."""
    alerting.alerts.silence(Actor("U01AAA"), "node-1", timedelta(minutes=10), "reboots")
    alerting.down("node-1", after=timedelta(minutes=1))
    alerting.up("node-1", after=timedelta(minutes=2))
    alerting.down("node-1", after=timedelta(minutes=4))
    alerting.up("node-1", after=timedelta(minutes=5))
    alerting.down("node-1", after=timedelta(minutes=20))
    assert "times within an hour" not in latest_root(alerting, "outage-3/root").text
    alerting.up("node-1", after=timedelta(minutes=21))
    alerting.down("node-1", after=timedelta(minutes=22))
    assert "(down 2 times within an hour)" in latest_root(alerting, "outage-4/root").text


def test_a_silence_over_on_a_rack_still_down_posts_one_storm_not_a_root_each(
    alerting: Alerting,
) -> None:
    """node-1 to node-3 (over the threshold of 2) went down under one silence, a rack's
    maintenance: when it ends with them still down, the team gets them as a wave (one storm
    root, paging the on-call once, a detail each), not a root each paging the on-call."""
    for n in (1, 2, 3):
        alerting.alerts.silence(Actor("U01AAA"), f"node-{n}", timedelta(minutes=30), "rack")
    alerting.down("node-1", "node-2", "node-3", after=timedelta(minutes=1))
    alerting.alerts.post_outage_milestones(START + timedelta(minutes=31))
    assert alerting.roots() == ["storm-1/root"]
    assert "<@U01AAA>" in latest_root(alerting, "storm-1/root").text
    assert sum("<@U01AAA>" in text for text in thread_texts(alerting, "storm-1/root")) == 0


def test_a_carried_acknowledgement_says_when_it_lapses_and_nothing_of_it_once_recovered(
    alerting: Alerting,
) -> None:
    """node-1, acknowledged, down again at 04:20 under a silence whose end, at 04:31, posts its
    root: the on-call is paged if it is still down at 05:19 (its first hour), not "an hour from
    now"; recovered, its root no longer speaks of paging anyone."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=1)
    alerting.alerts.acknowledge(Actor("U01BBB"), 1)
    alerting.alerts.silence(Actor("U01BBB"), "node-1", timedelta(minutes=30), "reboots")
    alerting.up("node-1", after=timedelta(minutes=5))
    alerting.down("node-1", after=timedelta(minutes=20))
    alerting.alerts.post_outage_milestones(START + timedelta(minutes=31))
    blocks = str(latest_root(alerting, "outage-2/root").blocks)
    assert "the on-call is paged if it is still down at 2026-11-27 05:19." in blocks
    alerting.up("node-1", after=timedelta(minutes=40))
    blocks = str(latest_root(alerting, "outage-2/root").blocks)
    assert (
        "Acknowledged by <@U01BBB> at 2026-11-27 04:01, on an earlier outage of this server."
        in blocks
    )
    assert "paged" not in blocks


def test_a_server_down_just_after_a_silence_over_storm_joins_it(alerting: Alerting) -> None:
    """node-1 to node-3 went down under a rack's silence and were alerted as one storm when it
    ended, at 03:31; node-4 goes down 30 s later, within the storm window of that wave: it
    joins the storm, as it would have joined one of servers confirmed at 03:31, instead of a
    root of its own paging the on-call again."""
    for n in (1, 2, 3):
        alerting.alerts.silence(Actor("U01AAA"), f"node-{n}", timedelta(minutes=30), "rack")
    alerting.down("node-1", "node-2", "node-3", after=timedelta(minutes=1))
    alerting.alerts.post_outage_milestones(START + timedelta(minutes=31))
    assert alerting.roots() == ["storm-1/root"]
    alerting.down("node-4", after=timedelta(minutes=31, seconds=30))
    assert alerting.roots() == ["storm-1/root"]
