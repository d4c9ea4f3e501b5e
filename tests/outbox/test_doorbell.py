"""The outbox's doorbell: a follower's commit wakes the leader's sender without its poll."""

import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from bot.outbox import doorbell
from bot.outbox.doorbell import NoDoorbell, PostgresDoorbell, UnixDoorbell, doorbell_for
from bot.sandbox import EmulatorThread
from bot.storage.database import make_engine
from tests.plugins.bot import ALERTS, start_bot, stop_bot
from tests.plugins.db import PostgresDatabases

NEVER = 3600.0  # a sender poll interval no test waits for


def counter() -> tuple[list[int], Callable[[], None]]:
    rings: list[int] = []
    return rings, lambda: rings.append(1)


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Until `condition` holds: it reads what other threads change (rings, log records)."""

    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 (no event to wait on across those threads)
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout_s)


def test_a_ring_wakes_the_instance_that_answers() -> None:
    address = f"\0supportbot-test-{uuid.uuid4().hex}"

    async def scenario() -> int:
        leader, follower = UnixDoorbell(address), UnixDoorbell(address)
        rings, wake = counter()
        stop = asyncio.Event()
        answering = asyncio.create_task(leader.answer(wake, stop))
        await asyncio.sleep(0)  # bound, listening
        follower.ring()
        await until(lambda: len(rings) >= 1)
        stop.set()
        await answering
        follower.ring()  # nobody answers now: the poll will deliver; no error
        follower.close()
        return len(rings)

    assert asyncio.run(scenario()) == 1


def test_a_new_leader_answers_once_the_previous_one_lets_go(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(doorbell, "RETRY_SECONDS", 0.05)
    address = f"\0supportbot-test-{uuid.uuid4().hex}"

    async def scenario() -> None:
        old, new, follower = UnixDoorbell(address), UnixDoorbell(address), UnixDoorbell(address)
        old_rings, old_wake = counter()
        new_rings, new_wake = counter()
        old_stop, new_stop = asyncio.Event(), asyncio.Event()
        old_answering = asyncio.create_task(old.answer(old_wake, old_stop))
        await asyncio.sleep(0)
        new_answering = asyncio.create_task(new.answer(new_wake, new_stop))
        await until(lambda: "cannot answer yet" in caplog.text)
        old_stop.set()
        await old_answering

        def rung() -> bool:
            follower.ring()
            return bool(new_rings)

        await until(rung)
        new_stop.set()
        await new_answering
        follower.close()
        assert not old_rings

    with caplog.at_level(logging.WARNING, logger="bot.outbox.doorbell"):
        asyncio.run(scenario())


def test_each_database_has_its_own_doorbell(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    same = doorbell_for(make_engine(f"sqlite:///{tmp_path}/bot.db"))
    again = doorbell_for(make_engine(f"sqlite:///{tmp_path}/sub/../bot.db"))
    other = doorbell_for(make_engine(f"sqlite:///{tmp_path}/other.db"))
    assert isinstance(same, UnixDoorbell)
    assert isinstance(again, UnixDoorbell)
    assert isinstance(other, UnixDoorbell)
    assert same.address == again.address != other.address
    assert isinstance(doorbell_for(make_engine("sqlite://")), NoDoorbell)
    pg = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert isinstance(doorbell_for(pg), PostgresDoorbell)


@pytest.mark.postgres
def test_postgres_notify_wakes_the_listener(postgres: PostgresDatabases) -> None:
    url = postgres.create()
    engine = make_engine(url)
    leader, follower = PostgresDoorbell(engine), PostgresDoorbell(engine)

    async def scenario() -> None:
        rings, wake = counter()
        stop = asyncio.Event()
        answering = asyncio.create_task(leader.answer(wake, stop))
        await until(lambda: len(rings) == 1)  # listening: it wakes once for what it missed
        follower.ring()
        await until(lambda: len(rings) == 2)
        stop.set()
        await answering

    try:
        asyncio.run(scenario())
    finally:
        follower.close()
        leader.close()
        engine.dispose()
        postgres.drop(url)


def test_a_follower_command_is_delivered_by_the_leader_at_once(
    slack: EmulatorThread, database_url: URL
) -> None:
    """The leader's sender polls once an hour here: only the doorbell can bring the messages
    queued by the follower's command."""
    leader, leader_loop = start_bot(slack, database_url, instance_id="a", poll_interval=NEVER)
    follower, follower_loop = start_bot(slack, database_url, instance_id="b", poll_interval=NEVER)
    try:
        assert leader.server.leadership.is_leader
        assert not follower.server.leadership.is_leader
        reply = follower.command("open acme-web-01 secours site down")  # slack.bot_url: b
        assert "INT-1" in reply
        root = slack.wait_until(
            lambda: next((m for m in slack.messages(ALERTS) if "INT-1" in m.text), None),
            timeout_s=20,
        )
        follower.command("update 1 told the client")
        slack.wait_until(
            lambda: any("told the client" in m.text for m in slack.thread(ALERTS, root.ts)) or None,
            timeout_s=20,
        )
    finally:
        stop_bot(follower, follower_loop)
        stop_bot(leader, leader_loop)


def test_a_ring_that_cannot_reach_the_database_is_logged_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bell = PostgresDoorbell(make_engine("postgresql://postgres@127.0.0.1:1/nowhere"))
    with caplog.at_level(logging.WARNING, logger="bot.outbox.doorbell"):
        bell.ring()  # returns at once: the thread connects
        asyncio.run(until(lambda: "could not ring" in caplog.text))
        bell.close()  # interrupts the wait before the next attempt


def test_a_doorbell_that_fails_costs_speed_not_the_leadership(
    slack: EmulatorThread,
    database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Out of file descriptors, say: the error is logged, the sender's poll still delivers,
    and the bot still steps down and stops cleanly."""

    async def broken(self: object, wake: Callable[[], None], stop: asyncio.Event) -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(UnixDoorbell, "answer", broken)
    monkeypatch.setattr(PostgresDoorbell, "answer", broken)
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        bot, loop = start_bot(slack, database_url)
        try:
            bot.command("open acme-web-01 secours site down")
            slack.wait_until(
                lambda: next((m for m in slack.messages(ALERTS) if "INT-1" in m.text), None),
                timeout_s=20,
            )
        finally:
            stop_bot(bot, loop)  # would raise if the failure had reached the leadership
    assert "outbox doorbell: no longer answering" in caplog.text
    assert not bot.server.leadership.is_leader  # stepped down on the way out
