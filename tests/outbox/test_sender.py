"""The sender against the emulator over HTTP: pacing, Retry-After, retries, failures, order."""

import itertools
import logging
import socket
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import text as sql
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from bot.outbox.sender import Renderer, SenderConfig
from bot.sandbox import EmulatorThread, SlackEmulator
from bot.storage.database import make_engine, make_sessionmaker
from bot.storage.models import OutboxOperation, OutboxStatus
from bot.storage.outbox import Outbound
from tests.outbox.harness import (
    ALERTS,
    SenderThread,
    edit,
    enqueue,
    rows,
    statuses,
    wait_drained,
)


def sender(
    slack: EmulatorThread,
    sessions: sessionmaker[Session],
    *,
    base_backoff: float = 0.05,
    max_backoff: float = 0.5,
    renderers: dict[str, Renderer] | None = None,
    poll_interval: float = 1.0,
    watchers: tuple[str, ...] = (),
) -> SenderThread:
    """A sender for `slack` reporting to ALERTS, with a quick backoff unless told otherwise."""
    config = SenderConfig(
        alerts_channel=ALERTS,
        base_backoff=base_backoff,
        max_backoff=max_backoff,
        poll_interval=poll_interval,
        alerts_channel_watchers=watchers,
    )
    thread = SenderThread(sessions, slack.api_url, slack.bot_token, config=config)
    for name, renderer in (renderers or {}).items():
        thread.sender.add_renderer(name, renderer)
    return thread


def storm_plan(channels: int, threads: int, per_thread: int) -> list[Outbound]:
    """Roots and replies written interleaved across threads, as concurrent tickets would."""
    plan: list[Outbound] = []
    for seq in range(per_thread):
        for thread in range(threads):
            channel = f"C{thread % channels:02d}"
            root = f"t{thread:02d}/0"
            if seq == 0:
                plan.append(Outbound(key=root, text=f"t{thread:02d} #0", channel_id=channel))
            else:
                plan.append(
                    Outbound(
                        key=f"t{thread:02d}/{seq}", text=f"t{thread:02d} #{seq}", thread_key=root
                    )
                )
    return plan


def check_threads(slack: EmulatorThread, channels: int, threads: int, per_thread: int) -> None:
    """Every message once, each thread's replies in the order they were written."""
    posted = [m for c in range(channels) for m in slack.messages(f"C{c:02d}")]
    counts = Counter(m.text for m in posted)
    assert len(counts) == threads * per_thread
    assert [text for text, n in counts.items() if n > 1] == []
    for root in (m for m in posted if m.thread_ts is None):
        replies = slack.thread(root.channel, root.ts)[1:]
        thread = root.text.split()[0]
        assert [r.text for r in replies] == [f"{thread} #{seq}" for seq in range(1, per_thread)]


@pytest.mark.long
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_429_storm_delivers_everything_once_in_order_never_early(
    slack: EmulatorThread, sessions: sessionmaker[Session], database_url: URL
) -> None:
    """200 messages, 5 channels, 20 threads, 30 % of calls answered 429 with Retry-After 1–5 s:
    all delivered, none twice, each thread in order, no call before its Retry-After elapsed."""
    for channel in range(5):
        slack.add_channel(f"C{channel:02d}")
    slack.inject_429(0.3, retry_after=(1, 5), seed=4)
    enqueue(sessions, storm_plan(5, 20, 10))
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=150)
    assert slack.early_retries() == []
    assert sum(1 for c in slack.calls if c.status == 429) > 20  # the storm did happen
    check_threads(slack, 5, 20, 10)
    assert set(statuses(sessions).values()) == {OutboxStatus.SENT}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_rate_limited_threads_keep_their_order_on_postgresql(
    slack: EmulatorThread, sessions: sessionmaker[Session], database_url: URL
) -> None:
    """A smaller storm (40 messages, 4 channels, 8 threads) on PostgreSQL (the big one runs on
    SQLite: together they cover both backends within the suite's time budget)."""
    for channel in range(4):
        slack.add_channel(f"C{channel:02d}")
    slack.inject_429(0.3, retry_after=(1, 2), seed=7)
    enqueue(sessions, storm_plan(4, 8, 5))
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=60)
    assert slack.early_retries() == []
    check_threads(slack, 4, 8, 5)


def test_one_channel_is_paced_to_its_burst_then_one_post_per_second(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Six posts to one channel: three at once (Slack's burst), then one a second, no 429."""
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key=f"m{i}", text=f"m{i}", channel_id="C1") for i in range(6)])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=15)
    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [200] * 6
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls[2:])]
    # A token bucket: what it refilled while the burst went out may go one post sooner after
    # it (a loaded machine spreads the burst); after that, one post a second.
    burst = calls[2].at - calls[0].at
    assert gaps[0] >= 0.95 - burst, (gaps, burst)
    assert all(gap >= 0.95 for gap in gaps[1:]), gaps
    assert [m.text for m in slack.messages("C1")] == [f"m{i}" for i in range(6)]


def test_permanent_errors_fail_the_row_report_once_and_the_sender_moves_on(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """channel_not_found and not_in_channel fail their row with the error; invalid_blocks (51
    blocks) sends it again as plain text; replies to a failed root fail without a report of
    their own; later messages still go; each is reported once in the alert channel, however
    often the sender runs."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    slack.add_channel("C2", is_member=False)
    too_many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    enqueue(
        sessions,
        [
            Outbound(key="gone", text="to nowhere", channel_id="C404"),
            Outbound(key="gone/reply", text="reply to nowhere", thread_key="gone"),
            Outbound(key="blocks", text="too many blocks", channel_id="C1", blocks=too_many),
            Outbound(key="outside", text="not a member", channel_id="C2"),
            Outbound(key="after", text="still delivered", channel_id="C1"),
        ],
    )
    for _ in range(2):  # a second sender over the same rows reports nothing new
        with sender(slack, sessions):
            wait_drained(sessions, timeout_s=15)
    found = rows(sessions)
    assert (found["gone"].status, found["gone"].last_error) == (
        OutboxStatus.FAILED,
        "channel_not_found",
    )
    assert (found["blocks"].status, found["blocks"].blocks) == (OutboxStatus.SENT, None)
    assert found["outside"].last_error == "not_in_channel"
    assert found["gone/reply"].status is OutboxStatus.FAILED
    assert [(m.text, m.blocks) for m in slack.messages("C1")] == [
        ("too many blocks", []),
        ("still delivered", []),
    ]
    reports = slack.messages(ALERTS)
    assert len(reports) == 3
    assert sum("could not be delivered" in m.text for m in reports) == 2
    assert sum("it is sent as plain text" in m.text for m in reports) == 1
    assert {
        key for key in ("`gone`", "`blocks`", "`outside`") if any(key in m.text for m in reports)
    } == {
        "`gone`",
        "`blocks`",
        "`outside`",
    }


def test_an_alert_channel_the_bot_left_is_told_to_the_on_call_by_dm_once(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Every alert goes to the alert channel: when it refuses them all (the bot was removed
    from it), a report posted there would be lost too. The watchers get one DM each for the
    error, however many alerts fail; a message refused for its content is still reported in
    the channel."""
    slack.add_channel(ALERTS, is_member=False)
    for user in ("U01AAA", "U01BBB"):
        slack.add_user(user)
    enqueue(
        sessions,
        [
            Outbound(key="outage-1/root", text="web-01 DOWN", channel_id=ALERTS),
            Outbound(key="outage-1/probe", text="probe down", thread_key="outage-1/root"),
            Outbound(key="outage-2/root", text="db-01 DOWN", channel_id=ALERTS),
        ],
    )
    with sender(slack, sessions, watchers=("U01AAA", "U01BBB")):
        wait_drained(sessions, timeout_s=15)
    assert {row.last_error for row in rows(sessions).values() if row.channel_id == ALERTS} == {
        "not_in_channel"
    }
    for user in ("U01AAA", "U01BBB"):
        (dm,) = slack.dms(user)
        assert dm.text.startswith(
            ":rotating_light: supportbot can no longer post to the alert channel "
            f"`{ALERTS}` (Slack error `not_in_channel`)"
        )
    assert slack.messages(ALERTS) == []

    slack.add_channel(ALERTS)  # invited back; then one message is refused for its content
    slack.inject_error("chat.postMessage", "no_text", times=1)
    enqueue(sessions, [Outbound(key="big", text="big", channel_id=ALERTS)])
    with sender(slack, sessions, watchers=("U01AAA",)):
        wait_drained(sessions, timeout_s=15)
    (report,) = slack.messages(ALERTS)
    assert "could not be delivered" in report.text
    assert "`big`" in report.text
    assert len(slack.dms("U01AAA")) == 1


def test_a_failed_edit_is_reported_with_the_channel_of_the_message_it_edits(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """An edit names its message by key, not by channel: the report names the channel."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="root", text="the root", channel_id="C1")])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    slack.inject_error("chat.update", "message_not_found", times=1)
    enqueue(sessions, [edit("root/r1", "the root, edited", of="root")])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    assert rows(sessions)["root/r1"].last_error == "message_not_found"
    (report,) = slack.messages(ALERTS)
    assert "The message the bot edits in `C1` was deleted in Slack" in report.text


def test_a_reply_to_a_message_never_written_fails_and_is_reported_once(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """An orphan (its thread's root key was never queued) fails for good instead of waiting
    forever, with one report, however often the sender passes; its neighbours still go."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    enqueue(
        sessions,
        [
            Outbound(key="orphan", text="reply to nothing", thread_key="never-written"),
            Outbound(key="after", text="still delivered", channel_id="C1"),
        ],
    )
    for _ in range(2):
        with sender(slack, sessions):
            wait_drained(sessions, timeout_s=10)
    orphan = rows(sessions)["orphan"]
    assert orphan.status is OutboxStatus.FAILED
    assert orphan.last_error == "unknown parent message 'never-written'"
    assert [m.text for m in slack.messages("C1")] == ["still delivered"]
    (report,) = slack.messages(ALERTS)
    assert "`orphan`" in report.text
    assert "reply to nothing" in report.text


def test_server_errors_are_retried_with_growing_backoff_then_delivered(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Three HTTP 500s in a row: the sender waits longer each time, then the post goes out."""
    slack.add_channel("C1")
    slack.inject_http_status(500, times=3, methods="chat.postMessage")
    enqueue(sessions, [Outbound(key="m", text="after three 500s", channel_id="C1")])
    with sender(slack, sessions, base_backoff=0.2, max_backoff=5.0):
        wait_drained(sessions, timeout_s=15)
    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [500, 500, 500, 200]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    # Backoff n waits between half and all of 0.2 × 2^(n-1) s (jittered).
    assert [gap >= 0.1 * 2**n for n, gap in enumerate(gaps)] == [True, True, True], gaps
    assert [m.text for m in slack.messages("C1")] == ["after three 500s"]
    assert rows(sessions)["m"].attempts == 4


@pytest.mark.parametrize("error", ["team_added_to_org", "org_login_required"])
def test_a_workspace_migrating_to_an_enterprise_org_is_waited_for_not_a_failure(
    slack: EmulatorThread, sessions: sessionmaker[Session], error: str
) -> None:
    """Slack answers these while the workspace migrates to an Enterprise organization ("Web
    API operations will be intermittently unavailable until the transition is complete"): the
    message is retried and goes out once it is over, nothing fails or is reported."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    slack.inject_error("chat.postMessage", error, times=2)
    enqueue(sessions, [Outbound(key="m", text="after the migration", channel_id="C1")])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=15)
    assert [c.error for c in slack.calls_to("chat.postMessage")] == [error, error, None]
    assert rows(sessions)["m"].status is OutboxStatus.SENT
    assert [m.text for m in slack.messages("C1")] == ["after the migration"]
    assert slack.messages(ALERTS) == []


def test_a_refused_connection_is_retried_until_slack_is_back(
    sessions: sessionmaker[Session],
) -> None:
    """Nothing listens on Slack's port: the row stays pending with the network error, and goes
    out once the server answers on that port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emulator = SlackEmulator(port=port)
    api_url = f"http://127.0.0.1:{port}/api/"
    enqueue(sessions, [Outbound(key="m", text="once Slack is back", channel_id="C1")])
    config = SenderConfig(base_backoff=0.1, max_backoff=0.4)
    with SenderThread(sessions, api_url, emulator.bot_token, config=config):
        deadline = time.monotonic() + 10
        while rows(sessions)["m"].attempts < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        row = rows(sessions)["m"]
        assert row.status is OutboxStatus.PENDING
        assert (row.last_error or "").startswith("network")
        with EmulatorThread(emulator) as slack:
            slack.add_channel("C1")
            wait_drained(sessions, timeout_s=10)
            assert [m.text for m in slack.messages("C1")] == ["once Slack is back"]


def test_a_call_slack_leaves_unanswered_holds_up_only_its_own_channel(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Slack hangs on one channel's call: the other channels' messages, and a reply to an
    interaction, go out while it waits; its channel's next message waits behind it, and it is
    delivered once when Slack answers."""
    slack.add_channel("CSLOW")
    slack.add_channel("CFAST")
    url = slack.issue_response_url("slash_command", user_id="U01AAA", channel="CFAST")
    slack.stall("CSLOW")
    enqueue(
        sessions,
        [
            Outbound(key="slow/1", text="slow 1", channel_id="CSLOW"),
            Outbound(key="slow/2", text="slow 2", channel_id="CSLOW"),
            *(Outbound(key=f"fast/{n}", text=f"fast {n}", channel_id="CFAST") for n in range(5)),
            Outbound(
                key="reply",
                text="ephemeral reply",
                operation=OutboxOperation.RESPONSE,
                response_url=url,
            ),
        ],
    )
    config = SenderConfig(alerts_channel=ALERTS)
    with SenderThread(
        sessions, slack.api_url, slack.bot_token, config=config, api_timeout_s=60.0
    ) as thread:
        try:
            slack.wait_until(lambda: slack.stalled_calls == 1, timeout_s=10)
            slack.wait_until(lambda: len(slack.messages("CFAST")) == 5, timeout_s=20)
            slack.wait_until(lambda: len(slack.responses()) == 1, timeout_s=10)
            assert slack.stalled_calls == 1  # still unanswered: the others did not wait for it
            assert statuses(sessions)["slow/2"] is OutboxStatus.PENDING
            assert slack.calls_to("chat.postMessage")[-1].channel == "CFAST"
        finally:
            slack.release()
        thread.wake()
        wait_drained(sessions, timeout_s=20)
    assert [m.text for m in slack.messages("CSLOW")] == ["slow 1", "slow 2"]
    assert [m.text for m in slack.messages("CFAST")] == [f"fast {n}" for n in range(5)]


def test_pending_updates_of_one_message_are_coalesced_into_the_latest(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Three updates of a root written while the sender was down: one chat.update, last text."""
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="root", text="GTR 0 %", channel_id="C1")])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    enqueue(
        sessions,
        [edit(f"root/v{n}", f"GTR {n * 25} %", of="root") for n in (1, 2, 3)],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    assert [c.params["text"] for c in slack.calls_to("chat.update")] == ["GTR 75 %"]
    (root,) = slack.messages("C1")
    assert root.text == "GTR 75 %"
    found = statuses(sessions)
    assert [found[f"root/v{n}"] for n in (1, 2, 3)] == [
        OutboxStatus.COALESCED,
        OutboxStatus.COALESCED,
        OutboxStatus.SENT,
    ]


def test_a_backlog_in_one_thread_holds_up_no_other_channel(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A backlog (after a Slack outage) all in a thread whose root Slack is slow to answer: a
    message to another channel written after it goes out all the same, not once the backlog
    has drained."""
    slack.add_channel("CA")
    slack.add_channel("CB")
    slack.stall("CA")
    enqueue(
        sessions,
        [
            Outbound(key="root", text="root", channel_id="CA"),
            *(Outbound(key=f"root/{n}", text=f"reply {n}", thread_key="root") for n in range(10)),
            Outbound(key="other", text="web-02 DOWN", channel_id="CB"),
        ],
    )
    config = SenderConfig(alerts_channel=ALERTS)
    with SenderThread(
        sessions, slack.api_url, slack.bot_token, config=config, api_timeout_s=60.0
    ) as thread:
        try:
            slack.wait_until(lambda: slack.stalled_calls == 1, timeout_s=10)
            slack.wait_until(lambda: len(slack.messages("CB")) == 1, timeout_s=10)
            assert statuses(sessions)["root/0"] is OutboxStatus.PENDING
        finally:
            slack.release()
        thread.wake()
        wait_drained(sessions, timeout_s=30)
    (root,) = slack.roots("CA")
    assert [r.text for r in slack.thread("CA", root.ts)[1:]] == [f"reply {n}" for n in range(10)]


def test_an_update_slack_is_answering_is_not_coalesced_by_a_newer_one(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """An edit is in flight (Slack slow to answer) when a newer edit of the same message is
    queued: the first is settled by its answer (sent), not marked coalesced, which would drop
    that answer; the newer one follows it."""
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="root", text="GTR 0 %", channel_id="C1")])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    slack.stall("C1")
    enqueue(sessions, [edit("root/v1", "GTR 25 %", of="root")])
    config = SenderConfig(alerts_channel=ALERTS)
    with SenderThread(
        sessions, slack.api_url, slack.bot_token, config=config, api_timeout_s=60.0
    ) as thread:
        try:
            slack.wait_until(lambda: slack.stalled_calls == 1, timeout_s=10)
            enqueue(sessions, [edit("root/v2", "GTR 50 %", of="root")])
            thread.wake()
            time.sleep(1.0)  # passes run meanwhile, v1 still awaiting its answer
            assert statuses(sessions)["root/v1"] is OutboxStatus.PENDING
        finally:
            slack.release()
        thread.wake()
        wait_drained(sessions, timeout_s=20)
    found = statuses(sessions)
    assert (found["root/v1"], found["root/v2"]) == (OutboxStatus.SENT, OutboxStatus.SENT)
    assert [c.params["text"] for c in slack.calls_to("chat.update")] == ["GTR 25 %", "GTR 50 %"]


def test_an_edit_of_a_root_goes_before_the_replies_queued_ahead_of_it(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A root with 5 replies waiting and then an edit of it: the edit takes the channel's next
    call, not the sixth (a storm root grows from 49 to 50 servers down while its details go)."""
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="root", text="49 servers down", channel_id="C1")])
    enqueue(
        sessions,
        [Outbound(key=f"root/{n}", text=f"detail {n}", thread_key="root") for n in range(5)]
        + [edit("root/v1", "50 servers down", of="root")],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=20)
    calls = [c for c in slack.calls if c.method in {"chat.postMessage", "chat.update"}]
    assert [c.params["text"] for c in calls[:2]] == ["49 servers down", "50 servers down"]
    (root,) = slack.roots("C1")
    replies = slack.thread("C1", root.ts)[1:]
    assert [r.text for r in replies] == [f"detail {n}" for n in range(5)]
    assert slack.root("C1", root.ts).text == "50 servers down"


def test_a_new_alert_goes_before_the_routine_replies_queued_ahead_of_it(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Five ticket replies waiting, then an outage confirmed: its root takes the channel's next
    call, not the sixth; the replies keep their order."""
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="INT-1/root", text="INT-1", channel_id="C1")])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    enqueue(
        sessions,
        [
            Outbound(key=f"INT-1/event/{n}", text=f"reply {n}", thread_key="INT-1/root")
            for n in range(5)
        ]
        + [Outbound(key="outage-7/root", text="web-01 DOWN", channel_id="C1")],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=20)
    posts = [c.params["text"] for c in slack.calls_to("chat.postMessage") if c.status == 200]
    assert posts == ["INT-1", "web-01 DOWN", *(f"reply {n}" for n in range(5))]


def test_an_edit_waits_for_replies_written_before_it_in_other_threads(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Only its own thread's replies are overtaken: across threads, writing order."""
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key=k, text=k, channel_id="C1") for k in ("a", "b")])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    enqueue(
        sessions,
        [
            Outbound(key="b/1", text="b's reply", thread_key="b"),
            edit("a/v1", "a, edited", of="a"),
        ],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    calls = [c for c in slack.calls if c.method in {"chat.postMessage", "chat.update"}]
    assert [c.params["text"] for c in calls] == ["a", "b", "b's reply", "a, edited"]


def test_messages_written_at_send_time_are_written_once_each_as_they_go(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A root and three edits of it queued with a renderer: the renderer writes the root when
    it goes and only the latest edit (the superseded ones are never written), with the state
    of the moment it is called; the queued text is not what is sent."""
    slack.add_channel("C1")
    state = {"revision": 0}
    written: list[str] = []

    def root(_session: Session, argument: str) -> tuple[str, list[dict[str, Any]] | None]:
        written.append(argument)
        text = f"{argument} at revision {state['revision']}"
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}}]

    enqueue(sessions, [Outbound(key="root", text="queued", channel_id="C1", render="root:INT-7")])
    with sender(slack, sessions, renderers={"root": root}):
        wait_drained(sessions, timeout_s=10)
    enqueue(
        sessions,
        [edit(f"root/r{n}", "queued", of="root", render="root:INT-7") for n in (1, 2, 3)],
    )
    state["revision"] = 3
    with sender(slack, sessions, renderers={"root": root}):
        wait_drained(sessions, timeout_s=10)
    assert written == ["INT-7", "INT-7"]
    assert [c.params["text"] for c in slack.calls_to("chat.postMessage")] == ["INT-7 at revision 0"]
    (message,) = slack.messages("C1")
    assert message.text == "INT-7 at revision 3"
    assert "*INT-7 at revision 3*" in str(message.blocks)
    # The rows keep what was sent (the evidence export quotes it), not what was queued.
    found = rows(sessions)
    assert (found["root"].text, found["root/r3"].text) == (
        "INT-7 at revision 0",
        "INT-7 at revision 3",
    )
    assert "*INT-7 at revision 3*" in str(found["root/r3"].blocks)


def test_a_message_that_cannot_be_written_goes_as_it_was_queued(
    slack: EmulatorThread, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """A renderer that raises, and one this process does not have: the message is not lost
    (a root carries its ticket's thread), it goes with the row's own text, and the error is
    logged; the messages after them go too."""
    slack.add_channel("C1")

    def broken(_session: Session, argument: str) -> tuple[str, list[dict[str, Any]] | None]:
        raise LookupError(f"no ticket {argument}")

    enqueue(
        sessions,
        [
            Outbound(key="raises", text="INT-404 title", channel_id="C1", render="broken:404"),
            Outbound(key="unknown", text="INT-5 title", channel_id="C1", render="nobody:5"),
            Outbound(key="after", text="still delivered", channel_id="C1"),
        ],
    )
    with sender(slack, sessions, renderers={"broken": broken}):
        wait_drained(sessions, timeout_s=10)
    assert [m.text for m in slack.messages("C1")] == [
        "INT-404 title",
        "INT-5 title",
        "still delivered",
    ]
    assert set(statuses(sessions).values()) == {OutboxStatus.SENT}
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("writing raises failed" in r.getMessage() and r.exc_info for r in logged)
    assert any("no renderer 'nobody' here" in r.getMessage() for r in logged)


def test_a_database_away_while_writing_delays_that_message_only(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """The renderer's connection is lost for two passes: that message waits, then goes
    written (not as its queued text); a message of another channel goes meanwhile."""
    slack.add_channel("C1")
    slack.add_channel("C2")
    failures = [2]
    seen_other_first: list[bool] = []

    def flaky(_session: Session, argument: str) -> tuple[str, list[dict[str, Any]] | None]:
        if failures[0]:
            failures[0] -= 1
            closed = Exception("server closed the connection")
            raise OperationalError("SELECT 1", {}, closed, connection_invalidated=True)
        seen_other_first.append(bool(slack.messages("C2")))
        return f"written {argument}", None

    enqueue(
        sessions,
        [
            Outbound(key="root", text="queued", channel_id="C1", render="flaky:7"),
            Outbound(key="other", text="other channel", channel_id="C2"),
        ],
    )
    with sender(slack, sessions, renderers={"flaky": flaky}, poll_interval=0.05):
        wait_drained(sessions, timeout_s=10)
    assert failures == [0]
    assert seen_other_first == [True]
    assert [m.text for m in slack.messages("C1")] == ["written 7"]


def test_a_renderer_failing_on_the_database_is_its_own_fault_not_the_outbox(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A renderer whose query is wrong (no such table: an error that will not pass) does not
    hold the outbox back: its message goes as it was queued."""
    slack.add_channel("C1")

    def wrong(session: Session, _argument: str) -> tuple[str, list[dict[str, Any]] | None]:
        session.execute(sql("SELECT * FROM no_such_table"))
        return "never", None

    enqueue(sessions, [Outbound(key="root", text="queued", channel_id="C1", render="wrong:1")])
    with sender(slack, sessions, renderers={"wrong": wrong}, poll_interval=0.05):
        wait_drained(sessions, timeout_s=10)
    assert [m.text for m in slack.messages("C1")] == ["queued"]


def test_a_reply_waits_for_its_root_and_finds_it_after_a_restart(
    slack: EmulatorThread, database_url: URL
) -> None:
    """The root is refused twice (503): its reply waits instead of going out unthreaded. A new
    sender over a new engine (a restart) threads later replies and updates under the stored ts."""
    slack.add_channel("C1")
    slack.inject_http_status(503, times=2, methods="chat.postMessage")
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    enqueue(
        sessions,
        [
            Outbound(key="root", text="outage", channel_id="C1"),
            Outbound(key="root/1", text="detail 1", thread_key="root"),
        ],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    engine.dispose()

    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    enqueue(
        sessions,
        [
            Outbound(key="root/2", text="detail 2", thread_key="root"),
            edit("root/v2", "outage (resolved)", of="root"),
        ],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    engine.dispose()
    posts = [c for c in slack.calls_to("chat.postMessage") if c.status == 200]
    assert [c.params["text"] for c in posts] == ["outage", "detail 1", "detail 2"]
    root, *replies = slack.thread("C1", slack.roots("C1")[0].ts)
    assert root.text == "outage (resolved)"
    assert [r.text for r in replies] == ["detail 1", "detail 2"]
    assert len(slack.messages("C1")) == 3


def test_an_expired_response_url_fails_the_row_instead_of_retrying_forever(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """response_url answers 404 `expired_url` in plain text: permanent, not a network glitch."""
    slack.add_channel(ALERTS)
    url = f"{slack.base_url}response/never-issued"
    enqueue(
        sessions,
        [Outbound(key="r", text="late", operation=OutboxOperation.RESPONSE, response_url=url)],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    row = rows(sessions)["r"]
    assert (row.status, row.last_error) == (OutboxStatus.FAILED, "expired_url")


def test_a_message_another_sender_is_sending_is_left_to_it(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A leader superseded while Slack was slow to answer its call (paused, its database
    stalled): the new leader's sender, on the same database, leaves the message to the call
    in flight instead of sending it again, and Slack shows the alert once."""
    slack.add_channel("C1")
    slack.stall("C1")
    enqueue(sessions, [Outbound(key="outage-1/root", text="web-01 DOWN", channel_id="C1")])
    config = SenderConfig(alerts_channel=ALERTS)
    with SenderThread(
        sessions, slack.api_url, slack.bot_token, config=config, api_timeout_s=60.0, instance="a"
    ) as first:
        try:
            slack.wait_until(lambda: slack.stalled_calls == 1, timeout_s=10)
            with SenderThread(
                sessions, slack.api_url, slack.bot_token, instance="b", running=False
            ) as second:
                second.deliver_due()
                row = rows(sessions)["outage-1/root"]
                assert (row.attempts, row.claimed_by) == (1, first.sender.holder)
        finally:
            slack.release()
        wait_drained(sessions, timeout_s=10)
    assert [m.text for m in slack.messages("C1")] == ["web-01 DOWN"]


@pytest.mark.parametrize(
    ("successor", "claim_ttl"),
    [("b", 1.0), ("a", 300.0)],
    ids=["another-instance-once-the-claim-ran-out", "same-instance-restarted-at-once"],
)
def test_a_sender_paused_after_its_claim_leaves_the_call_to_the_next_one(
    slack: EmulatorThread,
    engine: Engine,
    sessions: sessionmaker[Session],
    successor: str,
    claim_ttl: float,
) -> None:
    """A sender paused for a minute between claiming a message and calling Slack (its
    database stalled on the claim's commit): by then another sender may have sent the message,
    so it does not call. Another instance sends it once the claim has run out; a process of
    the same instance (restarted: the one that claimed is gone) at once. Slack sees it once."""
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="outage-1/root", text="web-01 DOWN", channel_id="C1")])
    paused = [0.0]
    stalling = make_sessionmaker(engine)

    @event.listens_for(stalling, "do_orm_execute")
    def _stall(state: ORMExecuteState) -> None:
        if state.is_update:  # the claim: a minute passes before it is committed
            paused[0] += 60.0

    config = SenderConfig(alerts_channel=ALERTS, claim_ttl=claim_ttl, start_within=0.5)
    with SenderThread(
        stalling,
        slack.api_url,
        slack.bot_token,
        config=config,
        monotonic=lambda: time.monotonic() + paused[0],
        instance="a",
        running=False,
    ) as first:
        first.deliver_due()
    assert slack.calls_to("chat.postMessage") == []
    assert rows(sessions)["outage-1/root"].attempts == 1
    with SenderThread(sessions, slack.api_url, slack.bot_token, instance=successor):
        wait_drained(sessions, timeout_s=10)
    assert [m.text for m in slack.messages("C1")] == ["web-01 DOWN"]
