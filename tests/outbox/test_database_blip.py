"""The database away for a moment just as Slack answers: the sender records the answer once the
database is back, instead of sending the message again."""

import logging
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text

from bot.outbox.sender import SenderConfig
from bot.sandbox import EmulatorThread
from bot.storage.database import make_engine, make_sessionmaker
from bot.storage.models import OutboxStatus
from bot.storage.outbox import Outbound
from tests.outbox.harness import ALERTS, SenderThread, enqueue, statuses, wait_until
from tests.plugins.db import PostgresDatabases


@pytest.mark.postgres
def test_an_answer_that_arrives_while_the_database_is_away_is_recorded_once_it_is_back(
    slack: EmulatorThread,
    postgres: PostgresDatabases,
    postgres_template: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Slack posted the message; the sender cannot write `sent` for a few seconds. Once the
    database answers again, the row is sent with Slack's `ts`, and Slack has one copy."""
    slack.add_channel(ALERTS, name="alerts")
    url = postgres.create(template=postgres_template)
    database = str(url.database)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    config = SenderConfig(alerts_channel=ALERTS, poll_interval=0.1)
    try:
        with (
            postgres.admin.connect() as admin,
            SenderThread(sessions, slack.api_url, slack.bot_token, config=config),
        ):
            slack.stall(ALERTS)
            enqueue(sessions, [Outbound(key="root", text="server down", channel_id=ALERTS)])
            slack.wait_until(lambda: slack.stalled_calls == 1 or None, timeout_s=10)

            admin.execute(text(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS false"))
            admin.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": database},
            )
            with caplog.at_level(logging.WARNING, logger="bot.outbox.sender"):
                slack.release(ALERTS)  # Slack posts it and answers: the database is away
                deadline = time.monotonic() + 10
                while not any("root" in r.getMessage() for r in caplog.records):
                    assert time.monotonic() < deadline, "the sender never tried to record it"
                    time.sleep(0.05)
            admin.execute(text(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS true"))

            wait_until(lambda: statuses(sessions)["root"] is OutboxStatus.SENT, timeout_s=15)
            time.sleep(1.0)  # passes that would send it again
        assert [m.text for m in slack.messages(ALERTS)] == ["server down"]
    finally:
        engine.dispose()
        with postgres.admin.connect() as admin:
            admin.execute(text(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS true"))
        postgres.drop(url)


def test_an_answer_that_arrives_while_another_program_locks_sqlite_is_recorded_after(
    slack: EmulatorThread,
    sqlite_template: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As above on SQLite, the file locked by another program (an `sqlite3` shell) past the
    busy timeout: SQLite's "database is locked" at BEGIN came out bare, which the sender took
    for a bug, leaving the row pending and posting the message a second time."""
    slack.add_channel(ALERTS, name="alerts")
    path = tmp_path / "supportbot.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _impatient)
    sessions = make_sessionmaker(engine)
    config = SenderConfig(alerts_channel=ALERTS, poll_interval=0.1)
    try:
        with SenderThread(sessions, slack.api_url, slack.bot_token, config=config):
            slack.stall(ALERTS)
            enqueue(sessions, [Outbound(key="root", text="server down", channel_id=ALERTS)])
            slack.wait_until(lambda: slack.stalled_calls == 1 or None, timeout_s=10)
            holder = sqlite3.connect(path, isolation_level=None)
            try:
                holder.execute("BEGIN EXCLUSIVE")
                with caplog.at_level(logging.WARNING, logger="bot.outbox.sender"):
                    slack.release(ALERTS)  # Slack posts it and answers: the file is locked
                    deadline = time.monotonic() + 10
                    while not any("root" in r.getMessage() for r in caplog.records):
                        assert time.monotonic() < deadline, "the sender never tried to record it"
                        time.sleep(0.05)
            finally:
                holder.close()
            wait_until(lambda: statuses(sessions)["root"] is OutboxStatus.SENT, timeout_s=15)
            time.sleep(1.0)  # passes that would send it again
        assert [m.text for m in slack.messages(ALERTS)] == ["server down"]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        engine.dispose()


def _impatient(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    """SQLite waits 50 ms for a lock instead of the 30 s the bot waits."""
    dbapi_connection.execute("PRAGMA busy_timeout=50")
