"""A carried acknowledgement (alerts.md, "A flapping server someone is on"): what ends it, and
whom a carried-over outage still tells.

First written by a review (r1), which found a resolved ticket's acknowledgement carried over
to every later outage of the night, each paging nobody."""

from datetime import timedelta

from bot.grammar import Open
from bot.messages import Messages
from bot.services.audit import Actor
from bot.services.tickets import TicketService
from bot.sla import TicketKind
from tests.services.test_alert_service import (  # noqa: F401
    START,
    Alerting,
    alerting,
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


def test_a_carried_over_outage_tells_its_acknowledger_then_pages_the_on_call_at_1h(
    alerting: Alerting,  # noqa: F811
) -> None:
    """U01BBB acknowledged node-1's outage, no ticket; node-1 came back and went down again
    within the hour: the new root mentions U01BBB (who is on it hears it went down again), not
    the on-call; its 15 min milestone pages nobody; still down at 1 h, U01BBB did not act on
    it, and the milestone pages the on-call, as does the 4 h one."""
    alerting.down("node-1", after=timedelta(0))
    alerting.clock.now = START + timedelta(minutes=2)
    alerting.alerts.acknowledge(Actor("U01BBB"), 1)
    alerting.up("node-1", after=timedelta(minutes=5))
    alerting.down("node-1", after=timedelta(minutes=25))
    root = latest_root(alerting, "outage-2/root")
    assert root.text.endswith(" <@U01BBB>")
    assert "<@U01AAA>" not in root.text
    started = outage_row(alerting, 2).started_at.replace(tzinfo=START.tzinfo)
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=16))
    alerting.alerts.post_outage_milestones(started + timedelta(minutes=61))
    alerting.alerts.post_outage_milestones(started + timedelta(hours=4, minutes=1))
    assert thread_texts(alerting, "outage-2/root")[-3:] == [
        ":hourglass: node-1 has been down for 16m.",
        ":hourglass: node-1 has been down for 1h1m. <@U01AAA>",
        ":hourglass: node-1 has been down for 4h1m. <@U01AAA>",
    ]


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
