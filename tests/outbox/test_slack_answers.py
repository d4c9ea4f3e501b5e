"""How the sender takes each way Slack's Web API can answer a message, against the emulator."""

import itertools

import pytest
from sqlalchemy import update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from bot.__main__ import main
from bot.outbox.sender import SenderConfig
from bot.sandbox import EmulatorThread
from bot.storage.models import OutboxMessage, OutboxOperation, OutboxStatus
from bot.storage.outbox import Outbound
from tests.outbox.harness import (
    ALERTS,
    SenderThread,
    edit,
    enqueue,
    rows,
    wait_drained,
    wait_until,
)
from tests.services.history import EXAMPLE_CATALOG


def sender(slack: EmulatorThread, sessions: sessionmaker[Session]) -> SenderThread:
    """A sender for `slack` reporting to ALERTS, with a quick backoff."""
    config = SenderConfig(alerts_channel=ALERTS, base_backoff=0.05, max_backoff=0.5)
    return SenderThread(sessions, slack.api_url, slack.bot_token, config=config)


@pytest.mark.parametrize(
    ("operation", "method", "error"),
    [
        (OutboxOperation.POST, "chat.postMessage", "rate_limited"),
        (OutboxOperation.EPHEMERAL, "chat.postEphemeral", "ratelimited"),
    ],
    ids=["post-rate_limited", "ephemeral-ratelimited"],
)
def test_a_rate_limit_told_in_the_body_holds_the_channel_and_the_message_goes_later(
    slack: EmulatorThread,
    sessions: sessionmaker[Session],
    operation: OutboxOperation,
    method: str,
    error: str,
) -> None:
    """chat.postMessage and chat.postEphemeral document `rate_limited` ("Application has posted
    too many messages") as an ok:false answer, and a 429's body says `ratelimited`: either is a
    wait, not a message refused for good. Nothing fails or is reported, the message goes once,
    and its channel is held at least a second each time (no hot loop)."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    slack.add_user("U1")
    slack.inject_error(method, error, times=2)
    user = "U1" if operation is OutboxOperation.EPHEMERAL else None
    enqueue(
        sessions,
        [Outbound(key="m", text="later", channel_id="C1", operation=operation, user_id=user)],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=15)
    calls = slack.calls_to(method)
    assert [c.error for c in calls] == [error, error, None]
    assert all(later.at - earlier.at >= 0.95 for earlier, later in itertools.pairwise(calls))
    row = rows(sessions)["m"]
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 3)
    assert slack.messages(ALERTS) == []


def test_the_edits_of_a_message_deleted_in_slack_fail_and_are_reported_once(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Someone deletes a ticket's root in Slack: each later edit of it (every change of the
    ticket) is answered `message_not_found` and fails without holding anything up, but the
    alert channel is told once, not at each change of the ticket."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="root", text="the root", channel_id="C1")])
    with sender(slack, sessions) as running:
        wait_drained(sessions, timeout_s=10)
        slack.delete_message("C1", rows(sessions)["root"].ts or "")
        for n in range(3):
            enqueue(sessions, [edit(f"root/v{n}", f"the root, edit {n}", of="root")])
            running.wake()
            wait_drained(sessions, timeout_s=10)
        enqueue(sessions, [Outbound(key="after", text="still delivered", channel_id="C1")])
        running.wake()
        wait_drained(sessions, timeout_s=10)
    found = rows(sessions)
    assert [found[f"root/v{n}"].last_error for n in range(3)] == ["message_not_found"] * 3
    assert [m.text for m in slack.messages("C1")] == ["still delivered"]
    (report,) = slack.messages(ALERTS)
    assert "`root/v0`" in report.text
    assert "deleted" in report.text


def test_an_archived_channel_fails_its_message_and_reports_it(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A channel archived in Slack refuses posts with `is_archived`: the message fails for
    good at its first answer, is reported once, and the other channels go on."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    slack.add_channel("C2")
    slack.archive_channel("C1")
    enqueue(
        sessions,
        [
            Outbound(key="m", text="to the archive", channel_id="C1"),
            Outbound(key="other", text="elsewhere", channel_id="C2"),
        ],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    row = rows(sessions)["m"]
    assert (row.status, row.last_error, row.attempts) == (OutboxStatus.FAILED, "is_archived", 1)
    assert [m.text for m in slack.messages("C2")] == ["elsewhere"]
    (report,) = slack.messages(ALERTS)
    assert "`is_archived`" in report.text


@pytest.mark.parametrize("error", ["token_revoked", "account_inactive"])
def test_a_refused_token_pauses_every_message_and_status_says_what_to_do(
    slack: EmulatorThread,
    sessions: sessionmaker[Session],
    database_url: URL,
    error: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The app uninstalled, the token revoked or its workspace gone: no message is failed,
    reported or lost; every channel waits, and `supportbot outbox status` says what the
    operator must do. A valid token once back, everything goes."""
    slack.add_channel(ALERTS)
    for channel in ("C1", "C2"):
        slack.add_channel(channel)
    slack.inject_error("chat.postMessage", error, times=None)
    enqueue(
        sessions,
        [Outbound(key=f"m{c}", text=f"to C{c}", channel_id=f"C{c}") for c in (1, 2)],
    )
    with sender(slack, sessions):
        wait_until(lambda: all(row.attempts >= 2 for row in rows(sessions).values()))
    assert {(row.status, row.last_error) for row in rows(sessions).values()} == {
        (OutboxStatus.PENDING, error)
    }
    assert slack.messages(ALERTS) == []
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", database_url.render_as_string(False))
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    assert main(["outbox", "status"]) == 0
    out = capsys.readouterr().out
    assert f"  {error}: 2 message(s)" in out
    assert "Slack refuses the bot token" in out
    assert "SLACK_BOT_TOKEN" in out

    slack.clear_faults()
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=15)
    assert [m.text for c in ("C1", "C2") for m in slack.messages(c)] == ["to C1", "to C2"]


def test_a_sixth_reply_to_one_response_url_fails_and_the_lane_moves_on(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Slack takes five posts per response_url (within 30 minutes): the sixth is answered 404
    `used_url`, which no retry changes. It fails for good at once; the five went, in order."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    slack.add_user("U1")
    url = slack.issue_response_url("slash_command", user_id="U1", channel="C1")
    enqueue(
        sessions,
        [
            Outbound(
                key=f"r{n}", text=f"r{n}", operation=OutboxOperation.RESPONSE, response_url=url
            )
            for n in range(6)
        ],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    assert [r.text for r in slack.responses()] == [f"r{n}" for n in range(5)]
    row = rows(sessions)["r5"]
    assert (row.status, row.last_error, row.attempts) == (OutboxStatus.FAILED, "used_url", 1)


SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*INT-42* web-01 down"}}


@pytest.mark.parametrize("error", ["msg_blocks_too_long", "invalid_blocks"])
def test_a_root_whose_layout_slack_refuses_goes_as_plain_text_and_keeps_its_thread(
    slack: EmulatorThread, sessions: sessionmaker[Session], error: str
) -> None:
    """Slack refuses a ticket root's blocks (`msg_blocks_too_long`: their text adds up to
    more than Slack takes, `invalid_blocks`): failed, the root would take its whole thread
    with it. It goes once more as its plain text, the replies thread under it, and the alert
    channel is told once that it lost its layout."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    slack.inject_error("chat.postMessage", error, times=1)
    enqueue(
        sessions,
        [
            Outbound(key="root", text="INT-42 web-01 down", channel_id="C1", blocks=[SECTION]),
            Outbound(key="root/1", text="claimed", thread_key="root"),
        ],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    calls = slack.calls_to("chat.postMessage")
    assert [(c.error, "blocks" in c.params) for c in calls if c.channel == "C1"] == [
        (error, True),
        (None, False),
        (None, False),
    ]
    found = rows(sessions)
    assert (found["root"].status, found["root"].blocks) == (OutboxStatus.SENT, None)
    root, reply = slack.thread("C1", found["root"].ts or "")
    assert (root.text, root.blocks, reply.text) == ("INT-42 web-01 down", [], "claimed")
    (report,) = slack.messages(ALERTS)
    assert f"`{error}`" in report.text
    assert "plain text" in report.text


@pytest.mark.parametrize("lead", range(5))
def test_a_long_text_sent_plain_is_cut_between_escapes_and_mentions(
    slack: EmulatorThread, sessions: sessionmaker[Session], lead: int
) -> None:
    """A message whose blocks Slack refuses goes as its text, cut to 4,000 characters: never
    inside an escape of user text (`&am…` shows as typed) nor inside a mention (`<@U01A…` is
    none, and Slack reads on to the next `>`)."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    slack.inject_error("chat.postMessage", "invalid_blocks", times=1)
    text = "x" * lead + "&amp; <@U01AAA> " * 400  # 6,400 characters
    enqueue(sessions, [Outbound(key="long", text=text, channel_id="C1", blocks=[SECTION])])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    (sent,) = slack.messages("C1")
    assert len(sent.text) <= 4000
    assert sent.text.endswith("…")
    kept = sent.text.removesuffix("…").rstrip()
    assert kept.endswith(("&amp;", "<@U01AAA>"))
    assert kept.count("<") == kept.count(">")


def test_an_edit_whose_layout_slack_refuses_replaces_the_old_layout_with_plain_text(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """chat.update keeps a message's blocks unless told otherwise: an edit sent again without
    its refused blocks clears them (`blocks: []`), or the message would show the old state."""
    slack.add_channel(ALERTS)
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="root", text="open", channel_id="C1", blocks=[SECTION])])
    with sender(slack, sessions) as running:
        wait_drained(sessions, timeout_s=10)
        slack.inject_error("chat.update", "invalid_blocks", times=1)
        enqueue(sessions, [edit("root/v1", "resolved", of="root")])
        with sessions.begin() as session:  # the edit's own blocks, as a renderer writes them
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key == "root/v1")
                .values(blocks=[SECTION, SECTION])
            )
        running.wake()
        wait_drained(sessions, timeout_s=10)
    (root,) = slack.messages("C1")
    assert (root.text, root.blocks) == ("resolved", [])
    assert rows(sessions)["root/v1"].status is OutboxStatus.SENT


def test_a_dm_to_someone_not_in_the_workspace_fails_and_the_others_go(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A DM goes to a user id (Slack opens the conversation): one Slack does not know is
    answered `channel_not_found`, for good. It is reported once; the other DMs go."""
    slack.add_channel(ALERTS)
    slack.add_user("U01AAA")
    enqueue(
        sessions,
        [
            Outbound(key="gone", text="you are paged", channel_id="U0GONE"),
            Outbound(key="here", text="you are paged", channel_id="U01AAA"),
        ],
    )
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
    found = rows(sessions)
    assert (found["gone"].status, found["gone"].last_error) == (
        OutboxStatus.FAILED,
        "channel_not_found",
    )
    assert [m.text for m in slack.dms("U01AAA")] == ["you are paged"]
    (report,) = slack.messages(ALERTS)
    assert "`U0GONE`" in report.text
