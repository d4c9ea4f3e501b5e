"""An edit saying exactly what Slack shows of its message already is settled without a call:
chat.update is rate-limited (Tier 3), and a root is edited after every change of its ticket,
many of which change nothing the root shows. "What Slack shows" is the message's last post or
edit Slack accepted, kept in the database; an edit whose outcome is unknown or refused leaves
it unknown, and the next edit goes."""

import time
from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from bot.outbox.sender import SenderConfig
from bot.sandbox import EmulatorThread
from bot.storage.database import make_engine, make_sessionmaker
from bot.storage.models import OutboxOperation, OutboxStatus
from bot.storage.outbox import UNCHANGED, Outbound
from tests.outbox.harness import ALERTS, SenderThread, edit, enqueue, rows, wait_drained

Blocks = list[dict[str, Any]]


def section(text: str) -> Blocks:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def edited(key: str, text: str, blocks: Blocks | None, *, of: str = "root") -> Outbound:
    """An edit of the message keyed `of`, with its text and blocks."""
    return Outbound(
        key=key, text=text, blocks=blocks, operation=OutboxOperation.UPDATE, target_key=of
    )


def updates(slack: EmulatorThread) -> list[str]:
    """The text of every chat.update Slack answered, in order."""
    return [call.params["text"] for call in slack.calls_to("chat.update")]


def settled_unchanged(sessions: sessionmaker[Session], key: str) -> bool:
    row = rows(sessions)[key]
    return (row.status, row.last_error) == (OutboxStatus.COALESCED, UNCHANGED)


def sender(slack: EmulatorThread, sessions: sessionmaker[Session], **options: Any) -> SenderThread:
    config = SenderConfig(alerts_channel=ALERTS, base_backoff=0.05, max_backoff=0.1)
    return SenderThread(sessions, slack.api_url, slack.bot_token, config=config, **options)


def test_an_edit_that_changes_nothing_slack_shows_makes_no_call(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """Text and blocks the same as the post's (the blocks' keys in another order): no
    chat.update, the row settled as `coalesced`, "unchanged" (not a failure, not dropped). The
    same text with other blocks is an edit, and so is other text; each is then what Slack
    shows, and an edit repeating it makes no call either."""
    slack.add_channel("C1")
    enqueue(
        sessions, [Outbound(key="root", text="GTR 0 %", blocks=section("*0*"), channel_id="C1")]
    )
    reordered = [{"text": {"text": "*0*", "type": "mrkdwn"}, "type": "section"}]
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
        for key, text, blocks in [
            ("root/r1", "GTR 0 %", reordered),
            ("root/r2", "GTR 0 %", section("*zero*")),
            ("root/r3", "GTR 0 %", section("*zero*")),
            ("root/r4", "GTR 25 %", section("*zero*")),
            ("root/r5", "GTR 25 %", section("*zero*")),
        ]:
            enqueue(sessions, [edited(key, text, blocks)])
            wait_drained(sessions, timeout_s=10)
    assert updates(slack) == ["GTR 0 %", "GTR 25 %"]
    assert [settled_unchanged(sessions, f"root/r{n}") for n in range(1, 6)] == [
        True, False, True, False, True,
    ]  # fmt: skip
    (root,) = slack.messages("C1")
    assert root.text == "GTR 25 %"
    assert "*zero*" in str(root.blocks)


def test_an_edit_written_at_send_time_is_compared_as_it_is_written(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A root written by its renderer when it goes (as ticket roots are): its edits are queued
    with a fallback text, and compared as the renderer writes them then. An edit written the
    same as the root makes no call; once the state it shows changed, the next one goes."""
    slack.add_channel("C1")
    state = {"assignee": "nobody"}

    def root(_session: Session, argument: str) -> tuple[str, Blocks | None]:
        text = f"{argument}: {state['assignee']}"
        return text, section(f"*{text}*")

    def render(key: str) -> Outbound:
        return edit(key, "INT-7 title", of="root", render="root:INT-7")

    enqueue(
        sessions, [Outbound(key="root", text="INT-7 title", channel_id="C1", render="root:INT-7")]
    )
    with sender(slack, sessions) as thread:
        thread.sender.add_renderer("root", root)
        wait_drained(sessions, timeout_s=10)
        enqueue(sessions, [render("root/r1")])
        wait_drained(sessions, timeout_s=10)
        state["assignee"] = "U01AAA"
        enqueue(sessions, [render("root/r2")])
        wait_drained(sessions, timeout_s=10)
        enqueue(sessions, [render("root/r3")])
        wait_drained(sessions, timeout_s=10)
    assert updates(slack) == ["INT-7: U01AAA"]
    found = rows(sessions)
    assert settled_unchanged(sessions, "root/r1")
    assert settled_unchanged(sessions, "root/r3")
    assert found["root/r2"].status is OutboxStatus.SENT
    # The row settled says what it was written as, like a row sent.
    assert found["root/r3"].text == "INT-7: U01AAA"


def test_what_slack_shows_is_known_after_a_restart_and_to_another_instance(
    slack: EmulatorThread, sessions: sessionmaker[Session], database_url: URL
) -> None:
    """The root posted and edited by one sender; another one, of another instance, on its own
    connection pool (a restart, or the next leader), knows what Slack shows from the database:
    an edit repeating it makes no call, a change is sent."""
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="root", text="GTR 0 %", channel_id="C1")])
    with sender(slack, sessions, instance="first"):
        wait_drained(sessions, timeout_s=10)
        enqueue(sessions, [edited("root/r1", "GTR 25 %", section("25"))])
        wait_drained(sessions, timeout_s=10)
    engine = make_engine(database_url)
    try:
        other = make_sessionmaker(engine)
        with sender(slack, other, instance="second"):
            enqueue(other, [edited("root/r2", "GTR 25 %", section("25"))])
            wait_drained(other, timeout_s=10)
            enqueue(other, [edited("root/r3", "GTR 50 %", section("50"))])
            wait_drained(other, timeout_s=10)
    finally:
        engine.dispose()
    assert updates(slack) == ["GTR 25 %", "GTR 50 %"]
    assert settled_unchanged(sessions, "root/r2")
    assert rows(sessions)["root/r3"].status is OutboxStatus.SENT


def test_an_edit_slack_refused_is_not_taken_for_what_it_shows(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """An edit failed for good (Slack refused it: the message still shows its post); the next
    edit saying the same as the refused one is sent, not settled as unchanged."""
    slack.add_channel("C1")
    slack.add_channel(ALERTS)
    enqueue(sessions, [Outbound(key="root", text="GTR 0 %", channel_id="C1")])
    with sender(slack, sessions):
        wait_drained(sessions, timeout_s=10)
        slack.inject_error("chat.update", "msg_too_long", times=1)
        enqueue(sessions, [edited("root/r1", "GTR 25 %", None)])
        wait_drained(sessions, timeout_s=10)
        enqueue(sessions, [edited("root/r2", "GTR 25 %", None)])
        wait_drained(sessions, timeout_s=10)
    found = rows(sessions)
    assert (found["root/r1"].status, found["root/r2"].status) == (
        OutboxStatus.FAILED,
        OutboxStatus.SENT,
    )
    (root,) = slack.messages("C1")
    assert root.text == "GTR 25 %"


def test_an_edit_whose_answer_was_lost_leaves_what_slack_shows_unknown(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """An edit to "GTR 25 %" times out (Slack slow: it applies it after the sender gave up on
    the answer). The next edit says what the root was posted with, "GTR 0 %": it is sent, since
    Slack may show the edit whose answer was lost, and does."""
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="root", text="GTR 0 %", channel_id="C1")])
    with sender(slack, sessions, running=False, api_timeout_s=0.5) as thread:
        thread.deliver_due()
        slack.stall("C1")
        enqueue(sessions, [edited("root/r1", "GTR 25 %", None)])
        try:
            thread.deliver_due()  # its call times out: retried later
            assert rows(sessions)["root/r1"].status is OutboxStatus.PENDING
        finally:
            slack.release()
        slack.wait_until(lambda: slack.messages("C1")[0].text == "GTR 25 %", timeout_s=10)
        enqueue(sessions, [edited("root/r2", "GTR 0 %", None)])
        for _ in range(20):
            thread.deliver_due()
            if rows(sessions)["root/r2"].status is not OutboxStatus.PENDING:
                break
            time.sleep(0.1)
    found = rows(sessions)
    assert (found["root/r1"].status, found["root/r2"].status) == (
        OutboxStatus.COALESCED,
        OutboxStatus.SENT,
    )
    assert found["root/r1"].last_error != UNCHANGED
    (root,) = slack.messages("C1")
    assert root.text == "GTR 0 %"
