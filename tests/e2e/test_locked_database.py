"""A lock held for long: a command that cannot be recorded within Slack's 3 s is answered
"nothing was done" in time, and nothing is done when the lock frees (trying again does not do it
twice); /healthz says the database threads are stuck instead of hanging with them."""

import asyncio
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import URL

import bot.storage.database
from bot.app import HEALTH_DEADLINE
from bot.sandbox import EmulatorThread
from bot.slack.ids import Action, View
from bot.storage import database as bot_database
from bot.storage.database import make_engine, normalize_url, transaction
from bot.storage.models import AuditEvent, Ticket
from bot.storage.threads import UNCONFIGURED_THREADS, in_database_thread
from tests.plugins.bot import ALERTS, TECH, TECH2, RunningBot, start_bot, stop_bot

NOT_ANSWERING = (
    "The database is not answering right now, so nothing was done. Try again in a moment."
)
TOO_SLOW = (
    "The bot could not record this within the 3 seconds Slack allows (the database or Slack is"
    " slow), so nothing was done. Try again in a moment."
)


@contextmanager
def ticket_locked(url: URL, ticket_id: int) -> Iterator[None]:
    """The ticket's row locked (and, on SQLite, the writers' lock held) inside the block."""
    held, release = threading.Event(), threading.Event()
    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(hold_ticket, url, ticket_id, held, release)
        assert held.wait(10)
        try:
            yield
        finally:
            release.set()
        holder.result()


def hold_ticket(url: URL, ticket_id: int, held: threading.Event, release: threading.Event) -> None:
    """Keep the ticket's row locked (and, on SQLite, the writers' lock) until `release`."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(Ticket).where(Ticket.id == ticket_id).values(description=Ticket.description)
            )
            held.set()
            assert release.wait(30)
    finally:
        engine.dispose()


def test_a_claim_stuck_behind_a_lock_is_answered_in_time_and_never_recorded(
    bot: RunningBot, database_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    assert bot.command("open acme-web-01 secours Site down").startswith("INT-1 registered")
    with caplog.at_level(logging.WARNING, logger="bot.handlers.budget"):
        with ticket_locked(database_url, 1):
            reply = bot.command("claim INT-1")  # answered while the lock is still held
        assert reply == TOO_SLOW
        bot.slack.wait_until(lambda: "without committing" in caplog.text, timeout_s=10)
    with bot.sessions() as session:
        assert session.get(Ticket, 1).assignee_id is None
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.ticket_id == 1))
        assert "claim" not in list(actions)
    assert bot.command("claim INT-1").startswith("INT-1 claimed")


def test_an_update_modal_stuck_behind_a_lock_is_answered_in_time_and_never_recorded(
    bot: RunningBot, database_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    """As a command: the submission's delivery key is recorded in its own transaction, under
    the time limit, not in one before it that waited for the lock outside of it (SQLite)."""
    assert bot.command("open acme-web-01 secours Site down").startswith("INT-1 registered")
    typed = {"update_text": {"text": {"type": "plain_text_input", "value": "told the client"}}}
    with caplog.at_level(logging.WARNING, logger="bot.handlers.budget"):
        with ticket_locked(database_url, 1):
            answer = bot.slack.send_view_submission(
                View.UPDATE, typed, user_id=TECH, private_metadata="1"
            )
        assert answer.json() == {"response_action": "errors", "errors": {"update_text": TOO_SLOW}}
        bot.slack.wait_until(lambda: "without committing" in caplog.text, timeout_s=10)
    with bot.sessions() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.ticket_id == 1))
        assert "ticket.updated" not in list(actions)


def test_a_click_stuck_behind_a_lock_is_acked_at_once_and_carried_out_after(
    bot: RunningBot, database_url: URL
) -> None:
    """A click is acked before its work: held by the lock, the claim is told to the clicker
    once done, where the ack used to wait for it (and come after Slack's 3 s)."""
    assert bot.command("open acme-web-01 secours Site down").startswith("INT-1 registered")
    root = bot.slack.wait_until(lambda: next(iter(bot.slack.roots(ALERTS)), None), timeout_s=15)
    with ticket_locked(database_url, 1):
        click = bot.slack.click(ALERTS, root.ts, Action.CLAIM, user_id=TECH2)
        assert click.status == 200  # answered while the lock is still held
        assert bot.slack.responses(TECH2) == []  # the claim itself waits for the lock
    told = bot.slack.wait_until(lambda: [r.text for r in bot.slack.responses(TECH2)] or None)
    assert told[0].startswith("INT-1 claimed by <@U01BBB>.")


def test_healthz_says_the_database_threads_are_stuck_rather_than_hang(
    bot: RunningBot, database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every database thread waits on a lock held past the lock wait (1 s here, not 30). On
    SQLite the writers' lock is held: nothing in the bot can commit, and /healthz says so. On
    PostgreSQL only the ticket's row is: the bot's other writes commit (its lease, the outbox),
    the database answers, and /healthz is 200 while the claims wait."""
    assert bot.command("open acme-web-01 secours Site down").startswith("INT-1 registered")
    monkeypatch.setattr(bot_database, "LOCK_WAIT_SECONDS", 1)
    claims = UNCONFIGURED_THREADS + 2  # every database thread waits on the lock, and more
    with ticket_locked(database_url, 1), ThreadPoolExecutor(claims) as senders:
        replies = [senders.submit(bot.command, "claim INT-1") for _ in range(claims)]
        if database_url.get_backend_name() == "sqlite":
            body = bot.slack.wait_until(bot.unhealthy, timeout_s=20)  # lock still held
            assert body["database"] == {"ok": False, "error": "Stalled"}
        answers = {reply.result() for reply in replies}
        if database_url.get_backend_name() == "sqlite":
            assert answers == {TOO_SLOW}
        else:  # a connection opened meanwhile waits for a row lock the lock wait (1 s) only
            assert answers <= {TOO_SLOW, NOT_ANSWERING}
            assert healthy_within(bot, 20)
    assert healthy_within(bot, 20)


def healthy_within(bot: RunningBot, seconds: float) -> bool:
    """Whether /healthz answers 200 within `seconds` (polled: the emulator's `wait_until` wakes
    on Slack's events, and the bot's commits make none)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if bot.healthz()[0] == 200:
            return True
        time.sleep(0.1)
    return False


def test_healthz_is_ok_while_the_database_threads_are_busy_with_a_long_write(
    bot: RunningBot,
) -> None:
    """A write holding every database thread past /healthz's deadline is the database working:
    /healthz read on them, waited behind it and answered 503, and an orchestrator would have
    restarted a bot that was only busy."""
    assert bot.command("open acme-web-01 secours Site down").startswith("INT-1 registered")
    release, writing = threading.Event(), threading.Event()

    def long_write() -> None:  # the first takes the write lock; the others queue behind it
        with transaction(bot.sessions) as session:
            session.execute(
                update(Ticket)
                .where(Ticket.id == 1)
                .values(description=Ticket.description + ".", revision=Ticket.revision + 1)
            )
            writing.set()
            assert release.wait(30)

    with ThreadPoolExecutor(UNCONFIGURED_THREADS) as callers:
        writes = [
            callers.submit(asyncio.run, in_database_thread(long_write))
            for _ in range(UNCONFIGURED_THREADS)
        ]
        try:
            assert writing.wait(20)
            # Every database thread at work past /healthz's deadline (its clock, not a bound
            # on anything measured: the threads keep the lock until released).
            time.sleep(HEALTH_DEADLINE + 0.5)
            status, body = bot.healthz()
        finally:
            release.set()
        for write in writes:
            write.result()
    assert (status, body["database"]) == (200, {"ok": True, "error": None})
    with bot.sessions() as session:
        assert session.get_one(Ticket, 1).description.endswith("." * UNCONFIGURED_THREADS)


def test_a_command_on_sqlite_another_program_locks_says_the_database_is_busy(
    slack: EmulatorThread,
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SQLite file locked by another program (an `sqlite3` shell in a transaction) past the
    busy timeout: SQLite's "database is locked", raised at BEGIN, reached the handler bare and
    was answered as an internal error, not as the database busy for a moment."""
    path = tmp_path / "supportbot.db"
    shutil.copyfile(sqlite_template, path)
    connect = bot.storage.database._sqlite_on_connect

    def impatient(dbapi_connection: Any, record: Any) -> None:  # 50 ms instead of 30 s
        connect(dbapi_connection, record)
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    monkeypatch.setattr(bot.storage.database, "_sqlite_on_connect", impatient)
    running, loop = start_bot(slack, normalize_url(f"sqlite:///{path}"))
    try:
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            reply = running.command("open acme-web-01 secours site down")
        finally:
            holder.close()
        assert reply == (
            "The database is not answering right now, so nothing was done. Try again in a moment."
        )
        assert running.command("open acme-web-01 secours site down").startswith("INT-1 registered")
    finally:
        stop_bot(running, loop)
