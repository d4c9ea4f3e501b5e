"""A command that cannot be recorded within Slack's 3 s is answered "nothing was done" in time,
and nothing is done when the lock it waited for frees: trying again does not do it twice."""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import URL

from bot.storage.database import make_engine
from bot.storage.models import AuditEvent, Ticket
from tests.plugins.bot import RunningBot

TOO_SLOW = (
    "The bot could not record this within the 3 seconds Slack allows (the database or Slack is"
    " slow), so nothing was done. Try again in a moment."
)


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
    held, release = threading.Event(), threading.Event()
    with (
        caplog.at_level(logging.WARNING, logger="bot.handlers.budget"),
        ThreadPoolExecutor(1) as pool,
    ):
        holder = pool.submit(hold_ticket, database_url, 1, held, release)
        assert held.wait(10)
        try:
            reply = bot.command("claim INT-1")  # answered while the lock is still held
        finally:
            release.set()
        holder.result()
        assert reply == TOO_SLOW
        bot.slack.wait_until(lambda: "without committing" in caplog.text, timeout_s=10)
    with bot.sessions() as session:
        assert session.get(Ticket, 1).assignee_id is None
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.ticket_id == 1))
        assert "claim" not in list(actions)
    assert bot.command("claim INT-1").startswith("INT-1 claimed")
