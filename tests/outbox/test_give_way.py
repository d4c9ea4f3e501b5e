"""The sender gives way to commands being answered: this instance's requests in flight, and
another instance's burst, known by its doorbell's rings (a pass costs CPU the acks need)."""

import asyncio
import time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.outbox.sender import SenderConfig
from bot.sandbox import EmulatorThread
from bot.storage.outbox import Outbound
from tests.outbox.harness import ALERTS, SenderThread, enqueue, wait_drained

GIVEN = 0.5  # real seconds a test leaves the sender to (wrongly) deliver while it must wait


class FrozenClock:
    """A monotonic clock that moves only when told: how long the sender waits is then up to the
    test, not to how fast this machine runs it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def queue_one(sessions: sessionmaker[Session], slack: EmulatorThread) -> None:
    slack.add_channel("C1")
    enqueue(sessions, [Outbound(key="m", text="after the acks", channel_id="C1")])


def test_a_pass_waits_for_the_requests_in_flight_then_delivers(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    queue_one(sessions, slack)
    quiet = asyncio.Event()  # cleared: a request is being answered
    config = SenderConfig(alerts_channel=ALERTS, max_give_way=60.0)
    with SenderThread(
        sessions, slack.api_url, slack.bot_token, config=config, quiet=quiet
    ) as thread:
        time.sleep(GIVEN)
        assert slack.messages("C1") == []
        thread.call_soon(quiet.set)  # answered
        wait_drained(sessions, timeout_s=10)
    assert [m.text for m in slack.messages("C1")] == ["after the acks"]


def test_requests_that_keep_coming_delay_a_pass_by_max_give_way_only(
    slack: EmulatorThread, sessions: sessionmaker[Session]
) -> None:
    queue_one(sessions, slack)
    quiet = asyncio.Event()  # never set: requests keep coming
    config = SenderConfig(alerts_channel=ALERTS, max_give_way=0.2)
    with SenderThread(sessions, slack.api_url, slack.bot_token, config=config, quiet=quiet):
        wait_drained(sessions, timeout_s=10)
    assert [m.text for m in slack.messages("C1")] == ["after the acks"]


@pytest.mark.parametrize(
    ("ring_settle", "max_give_way", "wait"),
    [
        (0.05, 60.0, 0.05),  # no ring since: the other instance's burst is answered
        (3600.0, 0.5, 0.5),  # rings keep coming, but the pass has waited long enough
    ],
    ids=["until-its-burst-settles", "at-most-max-give-way"],
)
def test_another_instances_ring_holds_a_pass(
    slack: EmulatorThread,
    sessions: sessionmaker[Session],
    ring_settle: float,
    max_give_way: float,
    wait: float,
) -> None:
    queue_one(sessions, slack)
    clock = FrozenClock()
    config = SenderConfig(alerts_channel=ALERTS, ring_settle=ring_settle, max_give_way=max_give_way)
    thread = SenderThread(sessions, slack.api_url, slack.bot_token, config=config, monotonic=clock)
    thread.sender.rung()  # a follower just committed a command, and may commit more
    with thread:
        time.sleep(GIVEN)
        assert slack.messages("C1") == []
        clock.now += wait
        wait_drained(sessions, timeout_s=10)
    assert [m.text for m in slack.messages("C1")] == ["after the acks"]
