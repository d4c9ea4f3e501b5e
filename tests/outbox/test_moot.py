"""Messages that depend on a ticket (`Outbound.depends_on`): judged when their turn comes,
dropped with their reason once moot, without holding up their lane; `outbox status` lists them."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from bot.__main__ import main
from bot.outbox.moot import Moot, TicketDependency, TicketState, judge
from bot.sandbox import EmulatorThread
from bot.services.audit import Actor
from bot.sla import TicketKind
from bot.storage.models import OutboxMessage, OutboxStatus, TicketStatus
from bot.storage.outbox import Outbound, get_stats, mark_attempt, mark_dropped
from tests.outbox.harness import SenderThread, enqueue, rows, utc_now
from tests.services.history import EXAMPLE_CATALOG, TECH, open_ticket, paris, services

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
USER, OTHER = "U01AAA", "U01BBB"


def state(**changes: object) -> TicketState:
    """A claimed ticket held by USER, its GTR running, never updated, waited on or snoozed."""
    values: dict[str, object] = {
        "status": TicketStatus.CLAIMED,
        "assignee_id": USER,
        "claimed_at": AT - timedelta(hours=2),
        "last_update_at": None,
        "running_clocks": frozenset({"gtr"}),
        "last_wait_at": None,
        "last_snooze_at": None,
    }
    return TicketState(**(values | changes))  # type: ignore[arg-type]


WARNING = TicketDependency(1, USER, clock="gtr")
NUDGE = TicketDependency(1, USER, quiet_since=AT)
LATER, EARLIER = AT + timedelta(minutes=1), AT - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("dependency", "ticket", "moot"),
    [
        (WARNING, state(), None),
        (WARNING, None, Moot.NO_TICKET),
        (WARNING, state(status=TicketStatus.RESOLVED, running_clocks=frozenset()), Moot.RESOLVED),
        (WARNING, state(status=TicketStatus.WAITING), None),  # paused: still at risk
        (WARNING, state(running_clocks=frozenset()), Moot.CLOCK_STOPPED),
        (WARNING, state(breached_clocks=frozenset({"gtr"})), Moot.BREACHED),
        (WARNING, state(breached_clocks=frozenset({"gti"})), None),  # another clock's breach
        (NUDGE, state(breached_clocks=frozenset({"gtr"})), None),  # still owed news
        (WARNING, state(assignee_id=OTHER), None),  # sent once: to whom it was queued for
        (NUDGE, state(status=TicketStatus.WAITING), Moot.WAITING),
        (NUDGE, state(assignee_id=OTHER), Moot.ASSIGNED_TO_ANOTHER),
        (WARNING, state(last_update_at=LATER, last_wait_at=LATER), None),  # still at risk
        (TicketDependency(1, OTHER, clock="gtr"), state(claimed_at=None, assignee_id=None), None),
        (NUDGE, state(), None),
        (NUDGE, state(last_update_at=EARLIER, last_wait_at=EARLIER, last_snooze_at=EARLIER), None),
        (NUDGE, state(last_update_at=LATER), Moot.CLIENT_UPDATED),
        (NUDGE, state(last_wait_at=LATER), Moot.WAITED),
        (NUDGE, state(last_snooze_at=LATER), Moot.SNOOZED),
        (NUDGE, state(assignee_id=OTHER, last_update_at=LATER), Moot.ASSIGNED_TO_ANOTHER),
    ],
)
def test_a_dependency_is_judged_on_the_ticket_as_it_stands(
    dependency: TicketDependency, ticket: TicketState | None, moot: Moot | None
) -> None:
    """A warning is moot once its clock stops or passes its deadline or its ticket is
    resolved; a nudge (whatever its clocks) once its ticket is resolved, waits on the client
    or is someone else's, or a client update, a wait or a snooze came after it fell due. A
    warning to on-call of an unclaimed ticket stays due."""
    assert judge(dependency, ticket) is moot
    assert TicketDependency.from_json(dependency.to_json()) == dependency


def deliver(slack: EmulatorThread, sessions: sessionmaker[Session]) -> None:
    """Sender passes until nothing is pending (each pass also settles the calls it started)."""
    with SenderThread(sessions, slack.api_url, slack.bot_token, running=False) as thread:
        for _ in range(30):
            thread.deliver_due()
            with sessions() as session:
                if get_stats(session, now=utc_now()).pending == 0:
                    return
    raise AssertionError("the outbox did not drain")


def test_a_moot_message_is_dropped_and_its_lane_goes_on(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Three DMs to one technician, in one lane: the first depends on a ticket resolved since,
    the third on something this version cannot read. The first is dropped, saying why; the
    second and third go, in order (a dependency not understood never loses a message)."""
    h = services(sessions)
    slack.add_channel(h.catalog.team.alerts_channel)
    slack.add_user(USER)
    ticket = open_ticket(h, paris(11, 27, 9), "acme-web-01", TicketKind.SECOURS, "site down")
    h.tickets.resolve(TECH, ticket, "restarted")
    depends = TicketDependency(ticket, USER, clock="gti").to_json()
    enqueue(
        sessions,
        [
            Outbound(key="warn", text="GTI at 75%", channel_id=USER, depends_on=depends),
            Outbound(key="hello", text="hello", channel_id=USER),
            Outbound(key="newer", text="newer", channel_id=USER, depends_on={"server": "x"}),
        ],
    )
    deliver(slack, sessions)
    assert [message.text for message in slack.dms(USER)] == ["hello", "newer"]
    stored = rows(sessions)
    assert (stored["warn"].status, stored["warn"].last_error) == (OutboxStatus.DROPPED, "resolved")
    assert stored["warn"].attempts == 0
    with sessions() as session:
        assert get_stats(session, now=utc_now()).dropped == 1


def test_a_message_attempted_since_it_was_read_is_not_dropped(
    sessions: sessionmaker[Session],
) -> None:
    """Another sender started its call meanwhile: its answer settles the row, not a drop."""
    enqueue(sessions, [Outbound(key="warn", text="GTI at 75%", channel_id=USER)])
    with sessions.begin() as session:
        row = session.scalars(select(OutboxMessage)).one()
        until = utc_now() + timedelta(seconds=30)
        assert mark_attempt(session, row.id, seen_attempts=0, holder="other#1", until=until)
        assert not mark_dropped(session, row.id, seen_attempts=0, reason=Moot.RESOLVED)
        assert mark_dropped(session, row.id, seen_attempts=1, reason=Moot.RESOLVED)
    assert rows(sessions)["warn"].status is OutboxStatus.DROPPED


def test_a_message_attempted_before_is_sent_again_not_dropped(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Its first call timed out, and may have reached Slack: dropped when its ticket was then
    resolved, the record would say nobody was paged when someone may have been. It is tried
    again, as any message whose answer never came."""
    h = services(sessions)
    slack.add_channel(h.catalog.team.alerts_channel)
    slack.add_user(USER)
    ticket = open_ticket(h, paris(11, 27, 9), "acme-web-01", TicketKind.SECOURS, "site down")
    depends = TicketDependency(ticket, USER, clock="gti").to_json()
    enqueue(
        sessions, [Outbound(key="warn", text="GTI at 75%", channel_id=USER, depends_on=depends)]
    )
    with sessions.begin() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.key == "warn")).one()
        expired = utc_now() - timedelta(seconds=1)  # the sender that called it is gone
        assert mark_attempt(session, row.id, seen_attempts=0, holder="gone#1", until=expired)
    h.tickets.resolve(TECH, ticket, "restarted")
    deliver(slack, sessions)
    assert [message.text for message in slack.dms(USER)] == ["GTI at 75%"]
    assert rows(sessions)["warn"].status is OutboxStatus.SENT


def test_outbox_status_lists_the_dropped_messages_and_why(
    database_url: URL,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Beside the failed ones: a message not sent on purpose is not a fault, but the on-call
    asking "why did I never get the 75 % warning?" finds the answer there."""
    h = services(sessions)
    ticket = open_ticket(h, paris(11, 27, 9), "acme-web-01", TicketKind.SECOURS, "site down")
    h.tickets.claim(Actor(OTHER), ticket)
    depends = TicketDependency(ticket, USER, clock="gti").to_json()
    key = f"INT-{ticket}/gti/75/dm/{USER}"
    enqueue(sessions, [Outbound(key=key, text="x", channel_id=USER, depends_on=depends)])
    with sessions.begin() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()
        assert mark_dropped(session, row.id, seen_attempts=0, reason=Moot.CLOCK_STOPPED)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", database_url.render_as_string(False))
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    assert main(["outbox", "status"]) == 0
    out = capsys.readouterr().out
    assert "dropped: 1\n" in out
    assert f"  {key}: clock_stopped\n" in out
