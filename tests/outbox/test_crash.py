"""Crash safety: `supportbot outbox send` SIGKILLed at random moments, then restarted."""

import random
import signal
import time
from collections import Counter, defaultdict

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from bot.sandbox import EmulatorThread, Message
from bot.storage.outbox import Outbound
from tests.outbox.harness import (
    ALERTS,
    enqueue,
    sender_process,
    start_sender,
    wait_drained,
    wait_started,
)

CHANNELS = ["C01", "C02", "C03", "C04"]


def crash_plan() -> list[Outbound]:
    """100 messages: per channel a top-level post, two threads of a root and 11 replies, and a
    closing post; written interleaved across channels and threads."""
    plan: list[Outbound] = []
    for channel in CHANNELS:
        plan.append(Outbound(key=f"{channel}/top", text=f"{channel} top", channel_id=channel))
    for seq in range(12):
        for channel in CHANNELS:
            for thread in ("a", "b"):
                name, root = f"{channel}{thread}", f"{channel}{thread}/0"
                if seq == 0:
                    plan.append(Outbound(key=root, text=f"{name} #0", channel_id=channel))
                else:
                    plan.append(
                        Outbound(key=f"{name}/{seq}", text=f"{name} #{seq}", thread_key=root)
                    )
    assert len(plan) == 100
    return plan


def first_deliveries(messages: list[Message], root_ts: set[str]) -> list[str]:
    """Texts in the order of their first delivery."""
    order = [m.text for m in sorted(messages, key=lambda m: float(m.ts)) if m.thread_ts in root_ts]
    return list(dict.fromkeys(order))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sender_killed_20_times_delivers_everything_with_bounded_duplicates(
    slack: EmulatorThread, sessions: sessionmaker[Session], database_url: URL
) -> None:
    """SIGKILL at 20 random moments while delivering 100 messages, restarting each time:
    everything is delivered, threads keep their order, and duplicates stay within the
    documented bound of one per channel per kill."""
    for channel in (*CHANNELS, ALERTS):
        slack.add_channel(channel)
    enqueue(sessions, crash_plan())
    rng = random.Random(20)
    kills = 0
    for _ in range(20):
        process = start_sender(slack, database_url)
        try:
            wait_started(process)
            time.sleep(rng.uniform(0.05, 0.5))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            kills += 1
    with sender_process(slack, database_url):
        wait_drained(sessions, timeout_s=90)

    posted = [m for channel in CHANNELS for m in slack.messages(channel)]
    counts = Counter(m.text for m in posted)
    expected = {m.text for m in crash_plan()}
    assert set(counts) == expected
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= kills * len(CHANNELS), counts
    assert slack.messages(ALERTS) == []  # nothing failed
    roots: dict[str, set[str]] = defaultdict(set)  # thread name -> ts of every copy of its root
    for message in posted:
        if message.thread_ts is None and "#0" in message.text:
            roots[message.text.split()[0]].add(message.ts)
    for name, root_ts in roots.items():
        assert first_deliveries(posted, root_ts) == [f"{name} #{seq}" for seq in range(1, 12)]
    print(f"\n{kills} kills, {duplicates} duplicate(s) (bound {kills * len(CHANNELS)})")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_kill_after_slack_accepted_a_post_sends_that_post_once_more(
    slack: EmulatorThread, sessions: sessionmaker[Session], database_url: URL
) -> None:
    """The sender dies after Slack stored a reply but before its answer arrived (the emulator
    kills it from inside the call): after the restart that reply goes out a second time, the
    accepted duplicate, and nothing else is repeated or reordered."""
    slack.add_channel("C01")
    plan = [Outbound(key="root", text="root", channel_id="C01")]
    plan += [Outbound(key=f"r{n}", text=f"reply {n}", thread_key="root") for n in range(1, 7)]
    enqueue(sessions, plan)
    doomed = start_sender(slack, database_url)

    def kill_on_reply_3(_channel: str, _thread_ts: str | None, _ts: str, text: str) -> None:
        if text == "reply 3" and doomed.poll() is None:
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)

    slack.on_message(kill_on_reply_3)  # runs before the emulator answers the call
    wait_started(doomed)
    assert doomed.wait(30) == -signal.SIGKILL
    with sender_process(slack, database_url):
        wait_drained(sessions, timeout_s=30)
    _root, *replies = slack.thread("C01", slack.roots("C01")[0].ts)
    assert [r.text for r in replies] == [
        "reply 1",
        "reply 2",
        "reply 3",
        "reply 3",
        "reply 4",
        "reply 5",
        "reply 6",
    ]
