"""Two senders on one database (a leader and its successor): what one learned from Slack
holds the other too."""

from sqlalchemy.orm import Session, sessionmaker

from bot.outbox.sender import SenderConfig
from bot.sandbox import EmulatorThread
from bot.storage.outbox import Outbound
from tests.outbox.harness import ALERTS, SenderThread, enqueue, rows


def test_a_429_another_sender_was_told_holds_a_channel_this_one_already_sent_to(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A superseded leader's call answered 429 (Retry-After 30) after its successor had posted
    in that channel: the successor's sender knew the channel already, and ignored the hold
    the row records, sending the channel's other threads at once."""
    slack.add_channel("C1")
    config = SenderConfig(alerts_channel=ALERTS)
    enqueue(sessions, [Outbound(key="root", text="root", channel_id="C1")])
    token, url = slack.bot_token, slack.api_url
    with SenderThread(sessions, url, token, config=config, instance="b", running=False) as b:
        b.deliver_due()  # b posts the root: its pacer knows C1 now
        enqueue(sessions, [Outbound(key="post", text="post", channel_id="C1")])
        slack.inject_429(ratio=1.0, retry_after=(30, 30), seed=1)
        with SenderThread(sessions, url, token, config=config, instance="a", running=False) as a:
            a.deliver_due()  # a's call, answered 429: C1 waits 30 s
        slack.clear_faults()
        assert rows(sessions)["post"].last_error == "ratelimited"
        enqueue(sessions, [Outbound(key="reply", text="reply", thread_key="root")])
        b.deliver_due()
    assert [m.text for m in slack.messages("C1")] == ["root"]


def test_a_sender_restarted_mid_backlog_keeps_the_channel_s_pace(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """A backlog in one channel: the sender is stopped right after Slack's burst went out, and
    the next one (a restart, or the next leader) goes on at one post a second, not with a
    burst of its own that Slack answers 429."""
    slack.add_channel("C1")
    config = SenderConfig(alerts_channel=ALERTS)
    token, url = slack.bot_token, slack.api_url
    enqueue(sessions, [Outbound(key=f"m{i}", text=f"m{i}", channel_id="C1") for i in range(6)])
    with SenderThread(sessions, url, token, config=config, instance="a", running=False) as a:
        a.deliver_due()
        a.deliver_due()
        a.deliver_due()
    assert len(slack.calls_to("chat.postMessage")) == 3
    with SenderThread(sessions, url, token, config=config, instance="a"):
        slack.wait_until(lambda: len(slack.messages("C1")) == 6, timeout_s=15)
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200] * 6
    assert [m.text for m in slack.messages("C1")] == [f"m{i}" for i in range(6)]


def test_a_backlog_of_500_goes_on_after_a_restart_in_order_at_slack_s_pace(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    """500 messages (100 channels, a root and 4 replies each) and a restart once 150 are out:
    every message once, each thread in order, and Slack never answers 429."""
    channels = [f"C{n:03d}" for n in range(100)]
    backlog: list[Outbound] = []
    for seq in range(5):
        for channel in channels:
            key, root = f"{channel}/{seq}", f"{channel}/0"
            thread = None if seq == 0 else root
            backlog.append(
                Outbound(
                    key=key, text=key, channel_id=channel if seq == 0 else None, thread_key=thread
                )
            )
    for channel in channels:
        slack.add_channel(channel)
    enqueue(sessions, backlog)
    config = SenderConfig(alerts_channel=ALERTS)
    token, url = slack.bot_token, slack.api_url
    with SenderThread(sessions, url, token, config=config, instance="a"):
        slack.wait_until(lambda: len(slack.calls_to("chat.postMessage")) >= 150, timeout_s=30)
    with SenderThread(sessions, url, token, config=config, instance="a"):
        slack.wait_until(lambda: sum(len(slack.messages(c)) for c in channels) >= 500, timeout_s=60)
    assert [c.status for c in slack.calls_to("chat.postMessage") if c.status != 200] == []
    for channel in channels:
        assert [m.text for m in slack.messages(channel)] == [f"{channel}/{s}" for s in range(5)]
