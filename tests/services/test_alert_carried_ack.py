"""A carried acknowledgement (alerts.md, "A flapping server someone is on"): what ends it, and
whom a carried-over outage still tells.

First written by a review (r1), which found a resolved ticket's acknowledgement carried over
to every later outage of the night, each paging nobody."""

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import bot.services.alerts as alerts_module
from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from bot.slack.ids import Action
from bot.storage.models import AlertStorm, AuditEvent, Outage, OutboxOperation
from tests.services.test_alert_service import (  # noqa: F401
    START,
    Alerting,
    alerting,
    buttons,
    latest_root,
    outage_row,
    thread_texts,
)


def tickets_of(alerting: Alerting) -> TicketService:  # noqa: F811
    return TicketService(
        alerting.sessions, alerting.alerts.catalog, Messages("en"), clock=alerting.clock
    )


def test_a_server_down_again_after_its_ticket_was_resolved_pages_the_on_call(
    alerting: Alerting,  # noqa: F811
) -> None:
    """04:00 node-1 down; U01BBB acknowledges, opens INT-1, node-1 comes back at 04:20 and
    U01BBB resolves INT-1 ("fixed") and goes back to bed. 05:10 node-1 goes down again and
    stays down for four hours: the technician declared the incident over, so nothing carries
    over and the new outage pages the on-call as any other."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=2)
    alerting.alerts.acknowledge(Actor("U01BBB", "[button] acknowledge"), 1)
    tickets = tickets_of(alerting)
    tickets.open(Actor("U01BBB"), Open("node-1", TicketKind.MATERIEL, None, "disk"), outage_id=1)
    alerting.up("node-1", after=timedelta(minutes=20))
    alerting.clock.now = START + timedelta(minutes=21)
    tickets.resolve(Actor("U01BBB"), 1, "disk swapped")
    alerting.down("node-1", after=timedelta(minutes=70))
    for minutes in (90, 135, 320):
        alerting.alerts.post_outage_milestones(START + timedelta(minutes=minutes))
    root = latest_root(alerting, "outage-2/root")
    assert "<@U01AAA>" in root.text
    assert "Acknowledged" not in str(root.blocks)
    assert outage_row(alerting, 2).acknowledged_by is None
    assert all("<@U01AAA>" in text for text in thread_texts(alerting, "outage-2/root")[-3:])


def test_a_ticket_resolved_before_the_acknowledgement_does_not_end_its_carry(
    alerting: Alerting,  # noqa: F811
) -> None:
    """INT-1, from node-1's first outage, was resolved; its next outage paged the on-call and
    U01CCC acknowledged it: that acknowledgement, given after the ticket was closed, carries
    over to the outage after."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=2)
    tickets = tickets_of(alerting)
    tickets.open(Actor("U01BBB"), Open("node-1", TicketKind.MATERIEL, None, "disk"), outage_id=1)
    alerting.up("node-1", after=timedelta(minutes=10))
    alerting.clock.now = START + timedelta(minutes=11)
    tickets.resolve(Actor("U01BBB"), 1, "disk swapped")
    alerting.down("node-1", after=timedelta(minutes=30))
    assert "<@U01AAA>" in latest_root(alerting, "outage-2/root").text
    alerting.clock.now = START + timedelta(minutes=31)
    alerting.alerts.acknowledge(Actor("U01CCC"), 2)
    alerting.up("node-1", after=timedelta(minutes=40))
    alerting.down("node-1", after=timedelta(minutes=50))
    assert outage_row(alerting, 3).acknowledged_by == "U01CCC"


def carried_over_outage(alerting: Alerting) -> datetime:  # noqa: F811
    """U01BBB acknowledged node-1's outage, no ticket; node-1 came back and went down again
    within the hour: outage 2 carries the acknowledgement. When outage 2 started."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=2)
    alerting.alerts.acknowledge(Actor("U01BBB"), 1)
    alerting.up("node-1", after=timedelta(minutes=5))
    alerting.down("node-1", after=timedelta(minutes=25))
    return outage_row(alerting, 2).started_at.replace(tzinfo=START.tzinfo)


def test_a_carried_over_outage_tells_its_acknowledger_then_pages_the_on_call_at_1h(
    alerting: Alerting,  # noqa: F811
) -> None:
    """The carried-over root mentions U01BBB (who is on it hears it went down again), not the
    on-call; its 15 min milestone pages nobody; still down at 1 h, U01BBB did not act on it:
    the carried acknowledgement ends (audited, by the system), the milestone pages the
    on-call, and the root is edited as an unacknowledged outage's, with Acknowledge for the
    on-call it woke; the 4 h milestone pages as an unacknowledged outage's."""
    started = carried_over_outage(alerting)
    root = latest_root(alerting, "outage-2/root")
    assert root.text.endswith(" <@U01BBB>")
    assert "<@U01AAA>" not in root.text
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=16))
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=61))
    root = latest_root(alerting, "outage-2/root")
    assert root.operation is OutboxOperation.UPDATE
    assert buttons(root) == [
        Action.OPEN_INTERVENTION.value,
        Action.ACKNOWLEDGE.value,
        Action.SILENCE_1H.value,
    ]
    assert "earlier outage" not in str(root.blocks)
    assert "<@U01BBB>" not in root.text
    assert "<@U01AAA>" in root.text
    second = outage_row(alerting, 2)
    assert (second.acknowledged_by, second.acknowledged_at) == (None, None)
    with alerting.sessions() as session:
        ended = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[-1]
    assert (ended.action, ended.actor_id, ended.server_id) == (
        "outage.acknowledgement_ended",
        "system",
        "node-1",
    )
    assert ended.details == {
        "outage_id": 2,
        "carried_from": 1,
        "acknowledged_by": "U01BBB",
        "acknowledged_at": (START + timedelta(minutes=2)).isoformat(),
    }
    alerting.alerts.post_outage_milestones(started + timedelta(hours=4, minutes=1))
    assert thread_texts(alerting, "outage-2/root")[-3:] == [
        ":hourglass: node-1 has been down for 16m.",
        ":hourglass: node-1 has been down for 1h1m. <@U01AAA>",
        ":hourglass: node-1 has been down for 4h1m. <@U01AAA>",
    ]


def test_an_acknowledgement_after_the_carry_ended_holds_as_any(
    alerting: Alerting,  # noqa: F811
) -> None:
    """Paged by the 1 h milestone of a carried-over outage, the on-call acknowledges it from
    its root: the click is taken (nothing carried stands in its way) and the 4 h milestone
    pages nobody, as for any outage acknowledged on its own root."""
    started = carried_over_outage(alerting)
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=61))
    alerting.clock.now = started + timedelta(minutes=62)
    alerting.alerts.acknowledge(Actor("U01AAA"), 2)
    assert outage_row(alerting, 2).acknowledged_by == "U01AAA"
    alerting.alerts.post_outage_milestones(started + timedelta(hours=4, minutes=1))
    assert thread_texts(alerting, "outage-2/root")[-1] == (
        ":hourglass: node-1 has been down for 4h1m."
    )
    assert "<@" not in latest_root(alerting, "outage-2/root").text


def test_an_outage_acknowledged_on_its_own_root_keeps_its_milestones_quiet(
    alerting: Alerting,  # noqa: F811
) -> None:
    """Acknowledged by a click on its own root, an outage's 1 h milestone pages nobody, as
    before: only a carried acknowledgement lapses."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=2)
    alerting.alerts.acknowledge(Actor("U01BBB"), 1)
    alerting.alerts.post_outage_milestones(START + timedelta(minutes=65))
    assert "<@" not in thread_texts(alerting, "outage-1/root")[-1]
    assert "<@" not in latest_root(alerting, "outage-1/root").text


def test_a_silence_over_after_the_first_hour_finds_the_carry_ended(
    alerting: Alerting,  # noqa: F811
) -> None:
    """Carried over, node-1's outage 2 was then silenced for 90 min (its root said so, and its
    1 h milestone stayed quiet): when the silence ends, the carry has lapsed and ends, and the
    "Silence over" reply pages the on-call, whom the root offers Acknowledge."""
    started = carried_over_outage(alerting)
    alerting.clock.now = started + timedelta(minutes=1)
    alerting.alerts.silence(Actor("U01BBB"), "node-1", timedelta(minutes=90), "reboot")
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=61))
    assert outage_row(alerting, 2).acknowledged_by == "U01BBB"
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=92))
    assert outage_row(alerting, 2).acknowledged_by is None
    told = thread_texts(alerting, "outage-2/root")
    assert "silence" in told[-2].lower()
    assert told[-2].endswith(" <@U01AAA>")
    assert told[-1] == ":hourglass: node-1 has been down for 1h32m."
    root = latest_root(alerting, "outage-2/root")
    assert Action.ACKNOWLEDGE.value in buttons(root)
    assert "<@U01AAA>" in root.text


def ended_carry(alerting: Alerting) -> AuditEvent:  # noqa: F811
    """The latest audit event, which must be the end of a carried acknowledgement."""
    with alerting.sessions() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (event.action, event.actor_id) == ("outage.acknowledgement_ended", "system")
    return event


def test_a_maintenance_over_after_the_first_hour_finds_the_carry_ended(
    alerting: Alerting,  # noqa: F811
) -> None:
    """Carried over, node-1's outage 2 was put under a maintenance ticket 10 min in, which held
    the carry past the 1 h milestone (quiet). The maintenance ticket is resolved at 1 h 30 with
    node-1 still down: the carry has lapsed and ends then, audited, the "Maintenance over" reply
    pages the on-call (the 1 h milestone that would have is past), and the root no longer says
    U01BBB acknowledged it on an earlier outage: it offers Acknowledge to the on-call."""
    started = carried_over_outage(alerting)
    tickets = tickets_of(alerting)
    tickets.watch_maintenance(alerting.alerts.refresh_server)
    alerting.clock.now = started + timedelta(minutes=10)
    tickets.open(Actor("U01BBB"), Open("node-1", TicketKind.MAINTENANCE, None, "kernel update"))
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=61))
    assert outage_row(alerting, 2).acknowledged_by == "U01BBB"
    assert "<@" not in thread_texts(alerting, "outage-2/root")[-1]
    alerting.clock.now = started + timedelta(minutes=90)
    tickets.resolve(Actor("U01BBB"), 1, "kernel updated")
    assert outage_row(alerting, 2).acknowledged_by is None
    assert ended_carry(alerting).details == {
        "outage_id": 2,
        "carried_from": 1,
        "acknowledged_by": "U01BBB",
        "acknowledged_at": (START + timedelta(minutes=2)).isoformat(),
    }
    assert thread_texts(alerting, "outage-2/root")[-1] == (
        ":bell: Maintenance over (INT-1): node-1 is still down, for 1h30m now. <@U01AAA>"
    )
    root = latest_root(alerting, "outage-2/root")
    assert Action.ACKNOWLEDGE.value in buttons(root)
    assert "earlier outage" not in str(root.blocks)
    assert "<@U01BBB>" not in root.text
    assert "<@U01AAA>" in root.text
    assert alerting.alerts.post_outage_milestones(started + timedelta(minutes=91)) == 0


def carried_into_a_storm(alerting: Alerting) -> datetime:  # noqa: F811
    """U01BBB acknowledged node-1's outage; node-1 came back and went down again within the
    hour with node-2 and node-3, a storm: its outage 2 carries the acknowledgement there. When
    outage 2 started."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=1)
    alerting.alerts.acknowledge(Actor("U01BBB"), 1)
    alerting.up("node-1", after=timedelta(minutes=2))
    alerting.down("node-1", "node-2", "node-3", after=timedelta(minutes=10))
    assert outage_row(alerting, 2).acknowledged_by == "U01BBB"
    return outage_row(alerting, 2).started_at.replace(tzinfo=START.tzinfo)


def test_a_storm_servers_carried_acknowledgement_lapses_at_1h_and_pages_the_on_call(
    alerting: Alerting,  # noqa: F811
) -> None:
    """node-1, down again in a storm, carries U01BBB's acknowledgement; the other servers came
    back, so the storm root paged nobody. Still down an hour later, U01BBB did not act on it: the
    carry ends (audited), the storm's thread pages the on-call for node-1 (the root's edit
    notifies nobody, and storm members get no other milestone), and the root lists node-1 down,
    mentions the on-call and offers Acknowledge. Once."""
    started = carried_into_a_storm(alerting)
    alerting.up("node-2", "node-3", after=timedelta(minutes=12))
    assert "<@U01AAA>" not in latest_root(alerting, "storm-1/root").text
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=16))
    assert "<@U01AAA>" not in str(thread_texts(alerting, "storm-1/root"))
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=61))
    assert outage_row(alerting, 2).acknowledged_by is None
    assert ended_carry(alerting).details == {
        "outage_id": 2,
        "carried_from": 1,
        "acknowledged_by": "U01BBB",
        "acknowledged_at": (START + timedelta(minutes=1)).isoformat(),
    }
    assert thread_texts(alerting, "storm-1/root")[-1] == (
        ":hourglass: node-1 has been down for 1h1m. <@U01AAA>"
    )
    root = latest_root(alerting, "storm-1/root")
    assert root.operation is OutboxOperation.UPDATE
    assert "• :red_circle: `node-1` (ACME SARL)" in str(root.blocks)
    assert "acknowledged by" not in str(root.blocks)
    assert "<@U01AAA>" in root.text
    assert buttons(root) == [Action.ACKNOWLEDGE_STORM.value]
    told = len(thread_texts(alerting, "storm-1/root"))
    assert alerting.alerts.post_outage_milestones(started + timedelta(hours=4, minutes=1)) == 0
    assert len(thread_texts(alerting, "storm-1/root")) == told


def test_a_storm_taken_while_a_server_carried_takes_it_too_and_its_carry_never_lapses(
    alerting: Alerting,  # noqa: F811
) -> None:
    """U01CCC took the storm while node-1, listed on its root, carried U01BBB's acknowledgement:
    the click takes node-1 too, as of then (no longer a carry), audited with whose carry it
    replaced. node-1 still down at 1 h, nothing lapses: the storm stays U01CCC's, its root and
    thread page nobody. (It used to take the storm's acknowledgement back then, withdrawing
    U01CCC's click on a root that listed node-1.)"""
    started = carried_into_a_storm(alerting)
    clicked = started + timedelta(minutes=5)
    alerting.clock.now = clicked
    reply = alerting.alerts.acknowledge_storm(Actor("U01CCC"), 1)
    assert reply.text == "You acknowledged the storm (3 servers still down)."
    second = outage_row(alerting, 2)
    assert second.acknowledged_by == "U01CCC"
    assert second.acknowledged_at is not None
    assert second.acknowledged_at.replace(tzinfo=START.tzinfo) == clicked
    with alerting.sessions() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (event.action, event.actor_id) == ("storm.acknowledged", "U01CCC")
    assert event.details == {
        "storm_id": 1,
        "servers": ["node-1", "node-2", "node-3"],
        "carried": {"node-1": "U01BBB"},
    }
    told = len(thread_texts(alerting, "storm-1/root"))
    assert alerting.alerts.post_outage_milestones(started + timedelta(minutes=61)) == 0
    assert outage_row(alerting, 2).acknowledged_by == "U01CCC"
    assert len(thread_texts(alerting, "storm-1/root")) == told
    root = latest_root(alerting, "storm-1/root")
    assert buttons(root) == []
    assert "<@U01AAA>" not in root.text


def test_a_carry_joining_a_storm_after_it_was_taken_lapses_and_asks_again(
    alerting: Alerting,  # noqa: F811
) -> None:
    """U01CCC took the storm of node-2, node-3 and node-4; node-1 then joins it, down again
    carrying U01BBB's acknowledgement (someone is on it: the storm stays taken). Its carry
    lapsing at 1 h leaves a server down nobody took, as one joining unseen: the storm's
    acknowledgement is taken back (its Acknowledge button back, the others listed as U01CCC's)
    and the thread pages the on-call, whose click then takes node-1."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=1)
    alerting.alerts.acknowledge(Actor("U01BBB"), 1)
    alerting.up("node-1", after=timedelta(minutes=2))
    alerting.down("node-2", "node-3", "node-4", after=timedelta(minutes=10))
    alerting.clock.now = START + timedelta(minutes=10, seconds=10)
    alerting.alerts.acknowledge_storm(Actor("U01CCC"), 1)
    alerting.down("node-1", after=timedelta(minutes=10, seconds=30))
    joined = outage_row(alerting, 5)
    assert (joined.server_id, joined.storm_id, joined.acknowledged_by) == ("node-1", 1, "U01BBB")
    assert buttons(latest_root(alerting, "storm-1/root")) == []
    started = joined.started_at.replace(tzinfo=START.tzinfo)
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=61))
    assert outage_row(alerting, 5).acknowledged_by is None
    assert ended_carry(alerting).details["acknowledged_by"] == "U01BBB"
    assert thread_texts(alerting, "storm-1/root")[-1] == (
        ":hourglass: node-1 has been down for 1h1m. <@U01AAA>"
    )
    root = latest_root(alerting, "storm-1/root")
    assert buttons(root) == [Action.ACKNOWLEDGE_STORM.value]
    assert "<@U01AAA>" in root.text
    assert "• :red_circle: `node-1` (ACME SARL)" in str(root.blocks)
    assert "`node-2` (ACME SARL), acknowledged by <@U01CCC>" in str(root.blocks)
    alerting.clock.now = started + timedelta(minutes=62)
    alerting.alerts.acknowledge_storm(Actor("U01AAA"), 1)
    assert outage_row(alerting, 5).acknowledged_by == "U01AAA"
    assert "<@U01AAA>" not in latest_root(alerting, "storm-1/root").text


def test_a_maintenance_over_on_a_storm_server_after_its_first_hour_ends_its_carry(
    alerting: Alerting,  # noqa: F811
) -> None:
    """node-1, down again in a storm carrying U01BBB's acknowledgement, was put under a
    maintenance ticket, which held the carry past 1 h. Resolved at 1 h 30 with node-1 still
    down: the carry ends, the storm's "Maintenance over" reply pages the on-call, and the root
    lists node-1 down and pages the on-call; no milestone follows."""
    started = carried_into_a_storm(alerting)
    alerting.up("node-2", "node-3", after=timedelta(minutes=12))
    tickets = tickets_of(alerting)
    tickets.watch_maintenance(alerting.alerts.refresh_server)
    tickets.open(Actor("U01BBB"), Open("node-1", TicketKind.MAINTENANCE, None, "kernel update"))
    assert alerting.alerts.post_outage_milestones(started + timedelta(minutes=61)) == 0
    alerting.clock.now = started + timedelta(minutes=90)
    tickets.resolve(Actor("U01BBB"), 1, "kernel updated")
    assert outage_row(alerting, 2).acknowledged_by is None
    assert ended_carry(alerting).details["outage_id"] == 2
    assert thread_texts(alerting, "storm-1/root")[-1] == (
        ":bell: Maintenance over (INT-1): node-1 is still down, for 1h30m now. <@U01AAA>"
    )
    root = latest_root(alerting, "storm-1/root")
    assert "`node-1` (ACME SARL), acknowledged" not in str(root.blocks)
    assert "<@U01AAA>" in root.text
    assert alerting.alerts.post_outage_milestones(started + timedelta(minutes=91)) == 0


def test_a_storm_click_committed_during_the_milestone_job_is_not_taken_back(
    alerting: Alerting,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL (SQLite's writers take turns): the milestone job judged a storm member's
    carry from outages it read without a lock; a storm click committed before it wrote was
    overwritten, and the lapse then took the click back from the storm. It reads the server
    again under the locks the click takes, in the click's order, and the click holds."""
    with alerting.sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite serialises the two writers (BEGIN IMMEDIATE): no race there")
    started = carried_into_a_storm(alerting)
    read_open = alerts_module.list_open_outages
    clicked: list[BaseException | None] = []

    def read_then_click(session: Session) -> list[Outage]:
        outages = read_open(session)
        if not clicked:

            def click() -> None:
                try:
                    alerting.alerts.acknowledge_storm(Actor("U01CCC"), 1)
                    clicked.append(None)
                except BaseException as error:  # reported below
                    clicked.append(error)

            thread = threading.Thread(target=click)
            thread.start()
            thread.join(timeout=20)  # the click takes the storm's lock: nothing holds it yet
        return outages

    monkeypatch.setattr(alerts_module, "list_open_outages", read_then_click)
    alerting.clock.now = started + timedelta(minutes=61)
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=61))
    assert clicked == [None]  # the click committed, between the job's read and its writes
    assert outage_row(alerting, 2).acknowledged_by == "U01CCC"
    with alerting.sessions() as session:
        assert session.get_one(AlertStorm, 1).acknowledged_by == "U01CCC"
