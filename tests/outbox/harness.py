"""A real OutboxSender on its own loop thread, pointed at the emulator, plus queueing helpers."""

import asyncio
import os
import select as io_select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import Messages
from bot.outbox.sender import OutboxSender, SenderConfig
from bot.sandbox import EmulatorThread, LoopThread
from bot.slack.api import SlackApi
from bot.storage.models import OutboxMessage, OutboxOperation, OutboxStatus
from bot.storage.outbox import Outbound, add_message, get_stats

ALERTS = "C01ALERTS"
REPO = Path(__file__).resolve().parents[2]


def utc_now() -> datetime:
    """The clock handed to the sender in these tests: real UTC time."""
    return datetime.now(UTC)


def enqueue(sessions: sessionmaker[Session], messages: Iterable[Outbound]) -> None:
    """Queue messages in one transaction, as a service would."""
    with sessions.begin() as session:
        for message in messages:
            add_message(session, message, now=utc_now())


def edit(key: str, text: str, *, of: str, render: str | None = None) -> Outbound:
    """An edit of the message whose key is `of`."""
    return Outbound(
        key=key, text=text, operation=OutboxOperation.UPDATE, target_key=of, render=render
    )


def rows(sessions: sessionmaker[Session]) -> dict[str, OutboxMessage]:
    """Every outbox row, by key."""
    with sessions() as session:
        return {row.key: row for row in session.scalars(select(OutboxMessage))}


def wait_drained(sessions: sessionmaker[Session], timeout_s: float) -> None:
    """Block until nothing is pending; TimeoutError with the count left otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        with sessions() as session:
            pending = get_stats(session, now=utc_now()).pending
        if pending == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pending} message(s) still pending after {timeout_s}s")
        time.sleep(0.1)


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll `predicate` (a database read) until it holds; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s}s")
        time.sleep(0.05)


def statuses(sessions: sessionmaker[Session]) -> dict[str, OutboxStatus]:
    """The status of every row, by key."""
    return {key: row.status for key, row in rows(sessions).items()}


class SenderThread:
    """`OutboxSender.run()` on a background loop until `stop()`; usable as a context manager.
    With `running=False`, the loop runs no `run()`: the test makes each pass (`deliver_due`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        api_url: str,
        token: str,
        *,
        config: SenderConfig | None = None,
        api_timeout_s: float = 5.0,
        quiet: asyncio.Event | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        instance: str = "outbox",
        running: bool = True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sessions = sessions
        self._running_sender = running
        self.api = SlackApi(api_url, token, timeout_s=api_timeout_s)
        self.sender = OutboxSender(
            sessions,
            self.api,
            Messages("en"),
            clock=clock,
            monotonic=monotonic,
            config=config or SenderConfig(alerts_channel=ALERTS),
            quiet=quiet,
            instance=instance,
        )
        self._loop = LoopThread("outbox-sender")
        self._stop: asyncio.Event | None = None
        self._running: Future[None] | None = None

    def __enter__(self) -> "SenderThread":
        self._loop.start()
        if not self._running_sender:
            return self
        self._stop = self._loop.run(_new_event())
        self._running = asyncio.run_coroutine_threadsafe(
            self.sender.run(self._stop), self._loop.loop
        )
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._stop is not None and self._running is not None:
                self._loop.loop.call_soon_threadsafe(self._stop.set)
                self._running.result(10)
            self._loop.run(self.api.close(), 5)
        finally:
            self._loop.stop()

    def deliver_due(self) -> float:
        """One pass on the sender's loop (with `running=False`), what `run()` repeats, and the
        settling of the calls it started; how long `run()` would wait for the next one."""
        return self._loop.run(self._pass(), 30)

    async def _pass(self) -> float:
        delay = await self.sender.deliver_due()
        stopped = asyncio.Event()
        stopped.set()
        await self.sender.run(stopped)  # makes no pass: settles the calls in flight, and returns
        return delay

    def wake(self) -> None:
        """Ask the sender for a pass now."""
        self.sender.wake()

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run `callback` on the sender's loop (to set an asyncio.Event it waits on)."""
        self._loop.loop.call_soon_threadsafe(callback)


async def _new_event() -> asyncio.Event:
    return asyncio.Event()


def start_sender(slack: EmulatorThread, database_url: URL) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SUPPORTBOT_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "SUPPORTBOT_SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SUPPORTBOT_CATALOG": str(REPO / "examples" / "catalog.toml"),
        "SUPPORTBOT_LANGUAGE": "en",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "outbox", "send"],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


def wait_started(process: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    """Read the sender's log until it says it is sending (migrations done, loop running). The
    limit is generous: a loaded 2-core machine took over 15 s to start one, importing."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = io_select.select([process.stderr], [], [], 0.1)
        if ready and "sending the outbox" in process.stderr.readline():
            return
        assert process.poll() is None, "the sender exited early"
    raise TimeoutError("the sender did not start")


@contextmanager
def sender_process(slack: EmulatorThread, database_url: URL) -> Iterator[subprocess.Popen[str]]:
    """`supportbot outbox send` started and sending; stopped by SIGTERM, after which it must
    exit cleanly."""
    process = start_sender(slack, database_url)
    try:
        wait_started(process)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
