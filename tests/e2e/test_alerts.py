"""Outage alerts end to end: real probes against a real HTTP target and closed TCP ports, the
whole bot, and the Slack emulator showing what the team sees in the alert channel."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from bot.sandbox import EmulatorThread, Message, OpenedView
from bot.slack.ids import (
    OPEN_DESCRIPTION_BLOCK,
    OPEN_INPUT,
    OPEN_KIND_BLOCK,
    OPEN_SERVER_BLOCK,
    Action,
)
from bot.storage.models import (
    AuditEvent,
    Clock,
    Outage,
    ProbeState,
    ProbeStatus,
    Silence,
    Ticket,
)
from tests.plugins.bot import ALERTS, OUTSIDER, TECH, TECH2, RunningBot, start_bot, stop_bot

T = TypeVar("T")

# interval + failures × retry_interval + 5 s: the acceptance bound for the root message
ROOT_WITHIN_S = 1 + 3 * 1 + 5

HEAD = """
timezone = "Europe/Paris"
[calendars.always]
always_open = true
[levels.critique]
gti = "30m"
gtr = "2h"
calendar = "always"
monthly_interventions = 20
monthly_fee = 890.0
[team]
technicians = ["U01AAA", "U01BBB"]
oncall = ["U01AAA"]
alerts_channel = "C01ALERTS"
[[clients]]
id = "acme"
name = "ACME SARL"
level = "critique"
"""
FAST = 'interval = "1s"\ntimeout = "1s"\nretry_interval = "1s"\nfailures = 3\nsuccesses = 2\n'


class Target:
    """An HTTP server on 127.0.0.1 that can be stopped, restarted on the same port, or told to
    answer 503 to the next requests."""

    def __init__(self) -> None:
        self.fail_next = 0
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def start(self) -> None:
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = 200
                if target.fail_next > 0:
                    target.fail_next -= 1
                    status = 503
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except ConnectionError:
                    pass  # the prober hung up (the bot stopping): nothing to answer

            def log_message(self, *_args: object) -> None:
                pass  # quiet test output

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    server.start()
    yield server
    server.stop()


def http_catalog(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "catalog.toml"
    server = '[[servers]]\nid = "web-01"\nclient = "acme"\nhost = "127.0.0.1"\n'
    probe = f'[[servers.probes]]\ntype = "http"\nurl = "{url}"\n{FAST}'
    path.write_text(HEAD + server + probe, encoding="utf-8")
    return path


@pytest.fixture
def alerting(
    slack: EmulatorThread, database_url: URL, tmp_path: Path, target: Target
) -> Iterator[RunningBot]:
    """The bot with probes on, watching `target` (web-01) every second."""
    running, loop = start_bot(
        slack, database_url, catalog=http_catalog(tmp_path, target.url), probes=True
    )
    yield running
    stop_bot(running, loop)


def poll(predicate: Callable[[], T | None], timeout_s: float = 10) -> T:
    """Poll a database condition (the emulator's wait_until only wakes on Slack traffic)."""
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s}s")
        time.sleep(0.05)
    return result


def first_audit(bot: RunningBot, action: str) -> AuditEvent | None:
    """The first audit event of `action`, read in a session of its own: one session held
    across a poll holds SQLite's writers' lock, and the work polled for waits on it."""
    with bot.sessions() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).first()


def probe_state(bot: RunningBot) -> ProbeState | None:
    with bot.sessions() as session:
        return session.scalars(select(ProbeState)).first()


def wait_up(bot: RunningBot) -> None:
    poll(lambda: (s := probe_state(bot)) is not None and s.status is ProbeStatus.UP)


def latest_root(bot: RunningBot, contains: str, timeout_s: float = 15) -> Message:
    """The first root of the alert channel once its latest version (text or blocks) contains
    `contains`."""

    def found() -> Message | None:
        for message in bot.slack.roots(ALERTS):
            current = bot.slack.root(ALERTS, message.ts)
            if contains in current.text or contains in str(current.blocks):
                return current
        return None

    return bot.slack.wait_until(found, timeout_s=timeout_s)


def open_modal_of_outage(bot: RunningBot, target: Target) -> OpenedView:
    """Take web-01 down, and click Open intervention on its root: the modal, as TECH sees it."""
    target.stop()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    bot.slack.click(ALERTS, root.ts, Action.OPEN_INTERVENTION.value, user_id=TECH)
    return bot.slack.wait_until(lambda: next(iter(bot.slack.views(TECH)), None))


def modal_values(view: OpenedView, kind: str) -> dict[str, dict[str, dict[str, Any]]]:
    """What submitting the Open intervention modal sends: its text fields as pre-filled, and
    `kind` chosen."""
    blocks = {b["block_id"]: b for b in view.view["blocks"] if b["type"] == "input"}
    values = {
        block_id: {OPEN_INPUT: {"type": "plain_text_input", "value": b["element"]["initial_value"]}}
        for block_id, b in blocks.items()
        if block_id != OPEN_KIND_BLOCK
    }
    values[OPEN_KIND_BLOCK] = {
        OPEN_INPUT: {"type": "static_select", "selected_option": {"value": kind}}
    }
    return values


def replies(bot: RunningBot, root: Message, contains: str, timeout_s: float = 10) -> list[str]:
    """The thread's replies once one contains `contains`."""

    def found() -> list[str] | None:
        texts = [m.text for m in bot.slack.thread(ALERTS, root.ts) if m.is_reply]
        return texts if any(contains in text for text in texts) else None

    return bot.slack.wait_until(found, timeout_s=timeout_s)


def test_a_stopped_http_target_alerts_once_with_details_and_recovery_updates_the_root(
    alerting: RunningBot, target: Target
) -> None:
    """Stopped: one root (server, client, level, buttons, on-call) within the bound, the failing
    probe in the thread; Acknowledge is told; restarted: the root says recovered after …"""
    bot = alerting
    wait_up(bot)
    target.stop()
    stopped = time.monotonic()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    assert time.monotonic() - stopped <= ROOT_WITHIN_S
    assert "(ACME SARL, critique)" in root.text
    assert "<@U01AAA>" in root.text  # the on-call is paged for a real outage
    assert root.action_ids() == [
        Action.OPEN_INTERVENTION.value,
        Action.ACKNOWLEDGE.value,
        Action.SILENCE_1H.value,
    ]
    details = replies(bot, root, "Probe `http:")
    assert any("DOWN since" in text for text in details)

    with bot.sessions.begin() as session:  # as if the outage had started 1 h earlier
        outage = session.scalars(select(Outage)).one()
        outage.started_at -= timedelta(hours=1)
    assert bot.server.services.alerts.post_outage_milestones(bot.clock()) == 1
    assert bot.server.services.alerts.post_outage_milestones(bot.clock()) == 0  # idempotent by key
    replies(bot, root, "has been down for 1h")

    bot.slack.click(ALERTS, root.ts, Action.ACKNOWLEDGE.value, user_id=TECH)
    replies(bot, root, "acknowledged the alert")
    acknowledged = latest_root(bot, "Acknowledged by <@U01AAA>")
    assert "<@U01AAA>" not in acknowledged.text  # no more pings
    assert Action.ACKNOWLEDGE.value not in acknowledged.action_ids()

    target.start()
    recovered = latest_root(bot, "recovered after 1h")
    assert recovered.ts == root.ts
    assert recovered.action_ids() == []
    replies(bot, root, "recovered after")
    assert len(bot.slack.roots(ALERTS)) == 1
    with bot.sessions() as session:
        outage = session.scalars(select(Outage)).one()
        assert outage.ended_at is not None
        assert outage.acknowledged_by == TECH
        assert outage.root_key == f"outage-{outage.id}/root"


def test_buttons_clicked_on_a_recovered_outage_say_so_and_change_nothing(
    alerting: RunningBot, target: Target
) -> None:
    """The server came back while the technician was clicking (their Slack still shows the
    buttons): Acknowledge posts no "no more pings" under the recovery, and Silence 1h does not
    hide the server's next outage; the clicker is told it recovered."""
    bot = alerting
    wait_up(bot)
    target.stop()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    target.start()
    latest_root(bot, "recovered after")
    replies(bot, root, "recovered after")
    for action in (Action.ACKNOWLEDGE, Action.SILENCE_1H):
        # The buttons of the root as first posted, clicked after the recovery.
        reply = bot.slack.send_block_action(
            action.value,
            user_id=TECH,
            channel_id=ALERTS,
            value=root.blocks[-1]["elements"][0]["value"],
        )
        assert reply.status == 200
    told = bot.slack.wait_until(lambda: (r := bot.slack.responses(TECH)) and len(r) == 2 and r)
    assert all(r.text.startswith("web-01 already recovered") for r in told), told
    time.sleep(1.0)  # a wrongly accepted click would be in the thread by now
    texts = [m.text for m in bot.slack.thread(ALERTS, root.ts) if m.is_reply]
    assert not any("acknowledged" in text or "silenced" in text for text in texts), texts
    assert "Acknowledged" not in str(bot.slack.root(ALERTS, root.ts).blocks)
    with bot.sessions() as session:
        outage = session.scalars(select(Outage)).one()
        assert outage.acknowledged_by is None
        assert session.scalars(select(Silence)).all() == []
        actions = session.scalars(select(AuditEvent.action)).all()
        assert "outage.acknowledged" not in actions
        assert "server.silenced" not in actions


def test_a_single_failed_check_posts_nothing(alerting: RunningBot, target: Target) -> None:
    """A flap (one 503, then successes) never goes DOWN: no outage, no message."""
    bot = alerting
    wait_up(bot)
    target.fail_next = 1
    poll(lambda: (s := probe_state(bot)) is not None and s.failures == 1)
    # Settled UP again: the success after the failure is written, later ones are not.
    poll(lambda: (s := probe_state(bot)) is not None and s.successes >= 1)
    time.sleep(2.5)  # a wrongly confirmed outage would be written and posted by now
    assert bot.slack.messages(ALERTS) == []
    with bot.sessions() as session:
        assert session.scalars(select(Outage)).all() == []


def test_a_silenced_server_posts_nothing_but_its_outage_is_recorded(
    alerting: RunningBot, target: Target
) -> None:
    """`/sla silence web-01 1h …`: the outage is stored, audited silence, no alert message."""
    bot = alerting
    wait_up(bot)
    reply = bot.command("silence web-01 1h planned reboot", command="/sla")
    assert reply.startswith("Alerts for `web-01` silenced until")
    target.stop()

    def outage() -> Outage | None:
        with bot.sessions() as session:
            return session.scalars(select(Outage)).first()

    recorded = poll(outage, timeout_s=ROOT_WITHIN_S)
    assert recorded.root_key is None
    time.sleep(1.0)
    assert bot.slack.messages(ALERTS) == []
    with bot.sessions.begin() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "server.silenced"))
        assert [e.command for e in event] == ["/sla silence web-01 1h planned reboot"]
        session.scalars(select(Silence)).one().ends_at = bot.clock()  # the hour is up

    # Still down when the silence ends: alerted now, the root paging the on-call, and its
    # thread saying why it comes late (without mentioning them a second time).
    assert bot.server.services.alerts.post_outage_milestones(bot.clock()) >= 2
    root = latest_root(bot, "web-01 DOWN")
    assert "<@U01AAA>" in root.text
    over = replies(bot, root, "Silence over at")[-1]
    assert "web-01 is still down" in over
    assert "<@" not in over


def test_an_outage_back_after_its_silence_ended_but_before_the_milestones_run_is_told(
    alerting: RunningBot, target: Target
) -> None:
    """web-01 down under a silence that ends while it is still down, and back before the
    milestones run would have posted its root: the channel gets its root, recovered, and the
    recovery in its thread, paging nobody."""
    bot = alerting
    wait_up(bot)
    bot.command("silence web-01 1h planned reboot", command="/sla")
    target.stop()

    def outage() -> Outage | None:
        with bot.sessions() as session:
            return session.scalars(select(Outage)).first()

    poll(outage, timeout_s=ROOT_WITHIN_S)
    with bot.sessions.begin() as session:
        session.scalars(select(Silence)).one().ends_at = bot.clock()  # the hour is up
    target.start()
    root = latest_root(bot, "web-01 recovered after")
    assert "<@" not in root.text
    assert root.action_ids() == []
    assert replies(bot, root, "web-01 recovered after")
    assert len(bot.slack.roots(ALERTS)) == 1


def test_an_open_maintenance_ticket_marks_the_outage_and_pages_nobody(
    alerting: RunningBot, target: Target
) -> None:
    """A reboot during announced maintenance: the root says so and mentions no one."""
    bot = alerting
    wait_up(bot)
    assert bot.command("open web-01 maintenance kernel update and reboot").startswith("INT-1")
    target.stop()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    assert "INT-1" in root.text + str(root.blocks)
    assert "<@" not in root.text
    assert "<@" not in str(root.blocks)


def test_a_maintenance_ticket_opened_or_closed_during_an_outage_updates_its_root(
    alerting: RunningBot, target: Target
) -> None:
    """The root stops paging the on-call once a maintenance ticket is opened on the server by
    command (not only from the alert), and says who is paged again once it is resolved, when
    the thread tells them the server is still down."""
    bot = alerting
    wait_up(bot)
    target.stop()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    assert "<@U01AAA>" in root.text

    def root_now(predicate: Callable[[Message], bool]) -> Message:
        def current() -> Message | None:
            message = bot.slack.root(ALERTS, root.ts)
            return message if predicate(message) else None

        return bot.slack.wait_until(current)

    assert bot.command("open web-01 maintenance restoring the backup").startswith("INT-1")
    quiet = root_now(lambda m: "INT-1" in m.text + str(m.blocks))
    assert "<@" not in quiet.text + str(quiet.blocks)
    assert "INT-1 resolved" in bot.command("resolve INT-1 restored")
    paging = root_now(lambda m: "<@U01AAA>" in m.text)
    assert "INT-1" not in paging.text
    # The edit notifies nobody: the thread tells the on-call the server is still down.
    over = replies(bot, root, "Maintenance over (INT-1)")[-1]
    assert over.startswith(":bell: Maintenance over (INT-1): web-01 is still down, for ")
    assert over.endswith(" now. <@U01AAA>")


def test_resolve_anyway_keeps_the_note_typed_with_the_command(
    alerting: RunningBot, target: Target
) -> None:
    """`resolve INT-1 <note>` on a server still down asks for confirmation; the click resolves
    with the note the technician typed, which the audit keeps as evidence."""
    bot = alerting
    wait_up(bot)
    target.stop()
    latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    assert bot.command("open web-01 materiel disk errors").startswith("INT-1")
    asked = bot.slack.send_slash_command(
        "/intervention", "resolve INT-1 swapped the disk", user_id=TECH, channel_id=ALERTS
    ).json()
    assert "still see web-01 down" in asked["text"]
    button = asked["blocks"][1]["elements"][0]
    assert button["action_id"] == Action.RESOLVE_ANYWAY.value
    reply = bot.slack.send_block_action(
        button["action_id"], user_id=TECH, channel_id=ALERTS, value=button["value"]
    )
    assert reply.status == 200
    resolved = poll(lambda: first_audit(bot, "ticket.resolved"))  # the click's work follows
    assert resolved.details["note"] == "swapped the disk"
    assert resolved.details["confirmed_while_down"] is True


def test_an_unknown_server_typed_in_the_open_modal_is_refused_in_the_modal(
    alerting: RunningBot, target: Target
) -> None:
    """The error shows on the server field, so the description typed is not lost."""
    bot = alerting
    wait_up(bot)
    view = open_modal_of_outage(bot, target)
    values = modal_values(view, "secours")
    values[OPEN_SERVER_BLOCK] = {OPEN_INPUT: {"type": "plain_text_input", "value": "web-99"}}
    answer = bot.slack.submit_view(view, values).json()
    assert answer["response_action"] == "errors"
    assert "Unknown server" in answer["errors"][OPEN_SERVER_BLOCK]
    with bot.sessions() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_an_open_modal_refused_on_submit_shows_why_in_the_modal(
    alerting: RunningBot, target: Target
) -> None:
    """A description of blanks is asked for again; a submitter who is not a technician is
    refused there too (and audited), whatever the fields, which are kept; neither registers a
    ticket."""
    bot = alerting
    wait_up(bot)
    view = open_modal_of_outage(bot, target)
    blank = modal_values(view, "secours")
    blank[OPEN_DESCRIPTION_BLOCK] = {OPEN_INPUT: {"type": "plain_text_input", "value": "   "}}
    answer = bot.slack.submit_view(view, blank).json()
    assert answer == {
        "response_action": "errors",
        "errors": {OPEN_DESCRIPTION_BLOCK: "Describe the intervention."},
    }
    for values in (blank, modal_values(view, "secours")):
        answer = bot.slack.submit_view(view, values, user_id=OUTSIDER).json()
        assert answer["response_action"] == "errors"
        assert "technicians" in answer["errors"][OPEN_DESCRIPTION_BLOCK]
    with bot.sessions() as session:
        assert session.scalars(select(Ticket)).all() == []
        refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "refused")).all()
        assert [event.actor_id for event in refused] == [OUTSIDER, OUTSIDER]
        assert refused[0].command.startswith("[modal] open intervention from outage ")


def test_a_click_slack_cannot_open_a_modal_for_is_told_to_click_again(
    alerting: RunningBot, target: Target
) -> None:
    """The click's trigger expired (the bot was slow): the clicker is told, not left waiting;
    and a click refused to an outsider names the outage in the audit."""
    bot = alerting
    wait_up(bot)
    target.stop()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    bot.slack.inject_error("views.open", "expired_trigger_id", times=1)
    bot.slack.click(ALERTS, root.ts, Action.OPEN_INTERVENTION.value, user_id=TECH)
    told = bot.slack.wait_until(
        lambda: next((r for r in bot.slack.responses() if "click again" in r.text), None)
    )
    assert told.text == "Slack did not open the form (the click may have expired): click again."
    assert list(bot.slack.views(TECH)) == []
    bot.slack.click(ALERTS, root.ts, Action.OPEN_INTERVENTION.value, user_id=OUTSIDER)
    refused = poll(lambda: first_audit(bot, "refused"))
    with bot.sessions() as session:
        outage_id = session.scalars(select(Outage.id)).one()
    assert refused.command == f"[button] open intervention from outage {outage_id}"


def test_a_ticket_opened_from_the_alert_names_the_one_already_open_on_its_server(
    alerting: RunningBot, target: Target
) -> None:
    """A colleague registered the client's call a minute ago: the modal names the colleague's
    ticket above its fields; the ticket opened from it is registered all the same, and the DM
    that confirms it names the colleague's ticket."""
    bot = alerting
    wait_up(bot)
    bot.command("open web-01 secours the client calls: site down", user_id=TECH2)
    bot.command("claim 1", user_id=TECH2)
    view = open_modal_of_outage(bot, target)
    note = view.view["blocks"][0]
    assert note["type"] == "context"
    assert note["elements"][0]["text"] == (
        ":warning: web-01 already has 1 open ticket: INT-1 (incident, <@U01BBB>). "
        "Open another only for a different call."
    )
    assert bot.slack.submit_view(view, modal_values(view, "secours")).status == 200
    told = bot.slack.wait_until(
        lambda: next((m.text for m in bot.slack.dms(TECH) if "INT-2 registered" in m.text), None)
    )
    assert told.endswith(
        "\n:warning: web-01 already has 1 open ticket: INT-1 (incident, <@U01BBB>). "
        "Check that INT-2 is not a duplicate."
    )
    with bot.sessions() as session:
        assert session.scalars(select(Ticket.outage_id).order_by(Ticket.id)).all() == [
            None,
            session.scalars(select(Outage.id)).one(),
        ]


def test_the_silence_button_stops_further_posts_for_an_hour(
    alerting: RunningBot, target: Target
) -> None:
    """Silence 1h on a root: audited, told in the thread, no milestone posts while it lasts."""
    bot = alerting
    wait_up(bot)
    target.stop()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    bot.slack.click(ALERTS, root.ts, Action.SILENCE_1H.value, user_id=TECH)
    poll(lambda: silenced(bot))
    with bot.sessions.begin() as session:  # as if the outage had lasted 1 h
        outage = session.scalars(select(Outage)).one()
        outage.started_at -= timedelta(hours=1)
    assert bot.server.services.alerts.post_outage_milestones(bot.clock()) == 0
    time.sleep(1.0)
    assert not any("has been down for" in m.text for m in bot.slack.messages(ALERTS))


def test_a_silence_over_on_a_server_still_down_pages_the_oncall_again(
    alerting: RunningBot, target: Target
) -> None:
    """The hour of Silence 1h is up and the server is still down: the thread says so and
    mentions the on-call (nobody acknowledged), once; the root no longer says "silenced" and
    offers the Silence button again."""
    bot = alerting
    wait_up(bot)
    target.stop()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    bot.slack.click(ALERTS, root.ts, Action.SILENCE_1H.value, user_id=TECH)
    quiet = latest_root(bot, "Alerts silenced until")
    assert Action.SILENCE_1H.value not in quiet.action_ids()
    assert "<@U01AAA>" not in quiet.text
    with bot.sessions.begin() as session:  # as if the hour had passed
        silence = session.scalars(select(Silence)).one()
        silence.ends_at = bot.clock()
    assert bot.server.services.alerts.post_outage_milestones(bot.clock()) == 1
    assert bot.server.services.alerts.post_outage_milestones(bot.clock()) == 0  # once
    told = replies(bot, root, "Silence over at")
    over = next(text for text in told if "Silence over at" in text)
    assert "web-01 is still down" in over
    assert over.endswith(" <@U01AAA>")

    def paging() -> Message | None:
        current = bot.slack.root(ALERTS, root.ts)
        return current if "silenced" not in str(current.blocks) else None

    again = bot.slack.wait_until(paging)
    assert "<@U01AAA>" in again.text
    assert again.action_ids() == [
        Action.OPEN_INTERVENTION.value,
        Action.ACKNOWLEDGE.value,
        Action.SILENCE_1H.value,
    ]


def test_a_server_down_again_within_the_hour_gets_a_root_that_says_it_flaps(
    alerting: RunningBot, target: Target
) -> None:
    """Down, up, down again: the second outage has its own root, which says the server went
    down twice within the hour; the first root keeps saying it recovered."""
    bot = alerting
    wait_up(bot)
    target.stop()
    first = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    assert "within an hour" not in first.text
    target.start()
    latest_root(bot, "recovered after")
    target.stop()

    def second_root() -> Message | None:
        roots = bot.slack.roots(ALERTS)
        return roots[1] if len(roots) == 2 else None

    second = bot.slack.wait_until(second_root, timeout_s=ROOT_WITHIN_S + 2)
    assert "(down 2 times within an hour)" in second.text
    assert "Flapping: down 2 times within an hour" in str(second.blocks)
    assert "recovered after" in bot.slack.roots(ALERTS)[0].text


def test_a_server_down_again_after_its_outage_was_acknowledged_tells_its_acknowledger(
    alerting: RunningBot, target: Target
) -> None:
    """Down, acknowledged, up, down again: the second root is posted, says who acknowledged
    the incident and when, mentions them, and neither mentions the on-call nor offers
    Acknowledge again."""
    bot = alerting
    wait_up(bot)
    target.stop()
    first = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    bot.slack.click(ALERTS, first.ts, Action.ACKNOWLEDGE.value, user_id=TECH2)
    latest_root(bot, "Acknowledged by <@U01BBB>")
    target.start()
    latest_root(bot, "recovered after")
    target.stop()

    def second_root() -> Message | None:
        roots = bot.slack.roots(ALERTS)
        return bot.slack.root(ALERTS, roots[1].ts) if len(roots) == 2 else None

    second = bot.slack.wait_until(second_root, timeout_s=ROOT_WITHIN_S + 2)
    assert second.text.startswith("web-01 DOWN")
    assert "<@U01AAA>" not in second.text
    assert second.text.endswith(f" <@{TECH2}>")
    assert "Acknowledged by <@U01BBB> at " in str(second.blocks)
    assert ", on an earlier outage of this server: it carries over" in str(second.blocks)
    assert second.action_ids() == [Action.OPEN_INTERVENTION.value, Action.SILENCE_1H.value]
    with bot.sessions() as session:
        outages = session.scalars(select(Outage).order_by(Outage.id)).all()
        assert [outage.acknowledged_by for outage in outages] == [TECH2, TECH2]
        carried = session.scalars(select(AuditEvent).where(AuditEvent.actor_id == "system")).one()
        assert carried.action == "outage.acknowledged"
        assert carried.details["carried_from"] == outages[0].id


def test_sla_status_names_the_servers_down_and_silenced_before_the_tickets(
    alerting: RunningBot, target: Target
) -> None:
    """At 3 a.m. one command says what is down: `/sla status` (all, or the server's client, or
    the server) lists a server down with who acknowledged it, and its silence, until it is
    back up; `list` stays a list of tickets."""
    bot = alerting
    wait_up(bot)
    target.stop()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    bot.slack.click(ALERTS, root.ts, Action.ACKNOWLEDGE.value, user_id=TECH)
    replies(bot, root, "acknowledged the alert")
    bot.command("silence web-01 1h reboot <!here>", command="/sla")
    for target_text in ("status", "status acme", "status web-01"):
        status = bot.command(target_text, command="/sla")
        assert status.startswith("No ticket open"), status
        lines = status.splitlines()
        assert lines[1].startswith(":red_circle: `web-01` DOWN since ")
        assert lines[1].endswith(" · acknowledged by <@U01AAA>")
        assert lines[2].startswith(":no_bell: `web-01`: alerts silenced until ")
        assert lines[2].endswith(" Reason: reboot &lt;!here&gt;")  # escaped: pings nobody
    assert "web-01" not in bot.command("list")
    bot.command("open web-01 secours site down")
    status = bot.command("status", command="/sla")
    assert [line[:14] for line in status.splitlines()[:4]] == [
        "1 ticket open",
        ":red_circle: `",
        ":no_bell: `web",
        "*INT-1* incide",
    ]

    target.start()
    latest_root(bot, "recovered after")
    status = bot.command("status", command="/sla").splitlines()
    assert not any("DOWN" in line for line in status)
    assert any("silenced until" in line for line in status)  # the silence runs its hour


def silenced(bot: RunningBot) -> bool:
    with bot.sessions() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    return any("silence" in action for action in actions)


def test_a_gtr_ticket_opened_from_the_alert_stops_its_clock_at_recovery(
    alerting: RunningBot, target: Target
) -> None:
    """Open intervention (modal, materiel) on the alert, then the target comes back: GTR stops
    at the first success of the UP streak, by `probe`, and the thread asks to resolve."""
    bot = alerting
    wait_up(bot)
    target.stop()
    root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    bot.slack.click(ALERTS, root.ts, Action.OPEN_INTERVENTION.value, user_id=TECH)
    view = bot.slack.wait_until(lambda: next(iter(bot.slack.views(TECH)), None))
    blocks = {block["block_id"]: block for block in view.view["blocks"]}
    assert blocks[OPEN_KIND_BLOCK]["element"]["initial_option"]["value"] == "secours"
    assert bot.slack.submit_view(view, modal_values(view, "materiel")).status == 200
    replies(bot, root, "INT-1")  # the ticket's root is in the outage thread

    target.start()
    said = replies(bot, root, "GTR of INT-1 stopped")
    assert any(
        "GTR met" in text and "<@U01AAA>" in text and "resolve INT-1" in text for text in said
    )
    with bot.sessions() as session:
        outage = session.scalars(select(Outage)).one()
        ticket = session.scalars(select(Ticket)).one()
        clock = session.scalars(select(Clock)).one()
        assert ticket.outage_id == outage.id
        assert ticket.kind == "materiel"
        assert clock.kind == "gtr"
        assert clock.stopped_by == "probe"
        assert clock.stopped_at == outage.ended_at
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.ticket_id == 1))
        assert "clock.restored" in list(actions)
    assert "INT-1" in str(latest_root(bot, "recovered after").blocks)


def test_an_outage_whose_failing_probe_left_the_catalog_recovers_on_the_probes_left(
    slack: EmulatorThread, database_url: URL, tmp_path: Path, target: Target
) -> None:
    """web-01 is down on its `/old` health URL only; the technician removes that probe from the
    catalog and restarts: the probe left (UP all along) is confirmed again, which ends the
    outage (root recovered, no more milestones) and stops the GTR of the ticket on it."""
    gone = Target()
    gone.start()
    gone.stop()  # the URL that failed
    both = http_catalog(tmp_path, target.url)
    both.write_text(
        both.read_text(encoding="utf-8")
        + f'[[servers.probes]]\ntype = "http"\nurl = "{gone.url}"\n{FAST}',
        encoding="utf-8",
    )
    bot, loop = start_bot(slack, database_url, catalog=both, probes=True)
    try:
        root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
        assert bot.command("open web-01 materiel site down").startswith("INT-1")
    finally:
        stop_bot(bot, loop)
    one = tmp_path / "one.toml"
    one.write_text(http_catalog(tmp_path, target.url).read_text(encoding="utf-8"))
    bot, loop = start_bot(slack, database_url, catalog=one, probes=True)
    try:
        recovered = latest_root(bot, "recovered after", timeout_s=ROOT_WITHIN_S)
        assert recovered.ts == root.ts
        bot.slack.wait_until(
            lambda: any("GTR of INT-1 stopped" in m.text for m in bot.slack.messages(ALERTS))
        )
        with bot.sessions() as session:
            outage = session.scalars(select(Outage)).one()
            assert outage.ended_at is not None
            clock = session.scalars(select(Clock)).one()
            assert (clock.stopped_by, clock.stopped_at) == ("probe", outage.ended_at)
        assert bot.server.services.alerts.post_outage_milestones(bot.clock()) == 0
    finally:
        stop_bot(bot, loop)


def test_a_server_removed_from_the_catalog_during_its_outage_pages_nobody_any_more(
    slack: EmulatorThread, database_url: URL, tmp_path: Path, target: Target
) -> None:
    """web-01 is decommissioned while down and the bot restarted without it: nothing probes
    it any more, so no milestone says it "has been down for 1h" and pages the on-call (who
    could not even silence it: `/sla silence` no longer knows the server); its thread says why
    once, and its root no longer shows it DOWN with buttons."""
    bot, loop = start_bot(
        slack, database_url, catalog=http_catalog(tmp_path, target.url), probes=True
    )
    try:
        wait_up(bot)
        target.stop()
        root = latest_root(bot, "web-01 DOWN", timeout_s=ROOT_WITHIN_S + 2)
    finally:
        stop_bot(bot, loop)
    without = tmp_path / "without.toml"
    without.write_text(
        HEAD + '[[servers]]\nid = "web-02"\nclient = "acme"\nhost = "127.0.0.1"\n',
        encoding="utf-8",
    )
    bot, loop = start_bot(slack, database_url, catalog=without, probes=True)
    try:
        with bot.sessions.begin() as session:  # as if the outage had started 1 h earlier
            outage = session.scalars(select(Outage)).one()
            outage.started_at -= timedelta(hours=1)
        assert bot.server.services.alerts.post_outage_milestones(bot.clock()) == 1
        assert bot.server.services.alerts.post_outage_milestones(bot.clock()) == 0
        told = replies(bot, root, "web-01 is no longer probed")
        assert not any("<@" in text for text in told if "no longer probed" in text)
        unprobed = latest_root(bot, "web-01* is no longer monitored")
        assert unprobed.ts == root.ts
        assert unprobed.action_ids() == []  # Silence and Open would refuse an unknown server
        assert "<@" not in unprobed.text + str(unprobed.blocks)
        assert not any("has been down" in m.text for m in slack.thread(ALERTS, root.ts))
    finally:
        stop_bot(bot, loop)


def closed_ports(count: int) -> list[int]:
    """Ports nothing listens on: bound, then released."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fifty_servers_down_at_once_post_one_grouped_root_without_any_429(
    slack: EmulatorThread, database_url: URL, tmp_path: Path
) -> None:
    """50 closed ports at once: one storm root listing them that pages the on-call, details in
    its thread, each with the button to open a ticket from it, paced; Acknowledge on the root
    takes them all."""
    servers = "".join(
        f'[[servers]]\nid = "node-{n:02d}"\nclient = "acme"\nhost = "127.0.0.1"\n'
        f'[[servers.probes]]\ntype = "tcp"\nport = {port}\n{FAST}'
        for n, port in enumerate(closed_ports(50))
    )
    catalog = tmp_path / "storm.toml"
    catalog.write_text(HEAD + servers, encoding="utf-8")
    bot, loop = start_bot(slack, database_url, catalog=catalog, probes=True, paced=True)
    try:
        root = latest_root(bot, "Alert storm: 50 servers down", timeout_s=15)
        assert "`node-00`" in str(root.blocks)
        assert "`node-49`" in str(root.blocks)

        def five_details() -> list[Message] | None:
            found = [m for m in slack.thread(ALERTS, root.ts) if m.is_reply]
            return found if len(found) >= 5 else None

        details = bot.slack.wait_until(five_details, timeout_s=10)
        assert "down since" in details[0].text
        assert "<@U01AAA>" in bot.slack.root(ALERTS, root.ts).text
        bot.slack.click(ALERTS, details[0].ts, Action.OPEN_INTERVENTION.value, user_id=TECH)
        view = bot.slack.wait_until(lambda: next(iter(bot.slack.views(TECH)), None))
        server = details[0].text.split("*")[1]  # "*node-07* (ACME SARL, critique) down since…"
        assert server in str(view.view["blocks"])
        assert len(slack.roots(ALERTS)) == 1
        posts = slack.calls_to("chat.postMessage")
        assert posts
        assert all(call.status == 200 for call in posts)

        # One click takes the whole storm: the root stops paging, says who took it.
        bot.slack.click(ALERTS, root.ts, Action.ACKNOWLEDGE_STORM.value, user_id=TECH)
        taken = latest_root(bot, "Acknowledged by <@U01AAA>")
        assert "<@U01AAA>" not in taken.text
        assert taken.action_ids() == []
    finally:
        stop_bot(bot, loop)


@pytest.mark.parametrize(
    ("language", "down", "error"),
    [
        ("fr", "web-01* en panne", "statut 503, 200 attendu"),
        ("en", "web-01* is DOWN", "status 503, expected 200"),
    ],
)
def test_a_probe_error_is_told_in_the_team_s_language_on_the_root_and_in_its_thread(
    slack: EmulatorThread,
    database_url: URL,
    tmp_path: Path,
    target: Target,
    language: str,
    down: str,
    error: str,
) -> None:
    """The probe's reason is the catalog's words in SUPPORTBOT_LANGUAGE, as the rest of the
    alert is: a French team read "status 503, expected 200" in its French root and thread."""
    bot, loop = start_bot(
        slack,
        database_url,
        catalog=http_catalog(tmp_path, target.url),
        probes=True,
        language=language,
    )
    try:
        wait_up(bot)
        target.fail_next = 1000
        root = latest_root(bot, down, timeout_s=ROOT_WITHIN_S + 2)
        probes = str(root.blocks)
        assert error in probes
        assert language == "en" or "expected" not in probes
        details = replies(bot, root, error)
        assert any(f"`http:{target.url}`" in text and error in text for text in details)
    finally:
        target.fail_next = 0
        stop_bot(bot, loop)
