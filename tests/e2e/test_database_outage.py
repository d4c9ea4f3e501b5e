"""The database away for a moment: commands are answered with what is going on, and work again
once it is back."""

import pytest
from sqlalchemy import text

from bot.sandbox import EmulatorThread
from bot.slack.ids import Action
from bot.storage.models import Ticket
from tests.plugins.bot import ALERTS, TECH2, start_bot, stop_bot
from tests.plugins.db import PostgresDatabases

NOT_ANSWERING = (
    "The database is not answering right now, so nothing was done. Try again in a moment."
)


@pytest.mark.postgres
def test_a_command_while_the_database_is_away_says_so_and_works_once_it_is_back(
    slack: EmulatorThread, postgres: PostgresDatabases, postgres_template: str
) -> None:
    """No connection to the database can be had: the technician is told the database does not
    answer and nothing was done (not an internal error); once it answers, the command works."""
    url = postgres.create(template=postgres_template)
    database = str(url.database)
    running, loop = start_bot(slack, url)
    try:
        with postgres.admin.connect() as admin:
            admin.execute(text(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS false"))
            admin.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": database},
            )
            reply = running.command("open acme-web-01 secours site down")
            assert reply == NOT_ANSWERING
            admin.execute(text(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS true"))
        assert running.command("open acme-web-01 secours site down").startswith("INT-1 registered")
    finally:
        stop_bot(running, loop)
        postgres.drop(url)


@pytest.mark.postgres
def test_a_click_while_the_database_is_away_tells_the_clicker_nothing_was_done(
    slack: EmulatorThread, postgres: PostgresDatabases, postgres_template: str
) -> None:
    """A click is acked before its work, whose outcome goes through the outbox: in the
    database too. With no connection to be had, the clicker is still told that the database
    does not answer and nothing was done (it was told nothing); once it answers, Claim works."""
    url = postgres.create(template=postgres_template)
    database = str(url.database)
    running, loop = start_bot(slack, url)
    try:
        assert running.command("open acme-web-01 secours site down").startswith("INT-1 registered")
        root = slack.wait_until(lambda: next(iter(slack.roots(ALERTS)), None), timeout_s=15)
        with postgres.admin.connect() as admin:
            admin.execute(text(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS false"))
            admin.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": database},
            )
            assert slack.click(ALERTS, root.ts, Action.CLAIM, user_id=TECH2).status == 200
            told = slack.wait_until(lambda: [r.text for r in slack.responses(TECH2)] or None)
            assert told == [NOT_ANSWERING]
            admin.execute(text(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS true"))
        with running.sessions() as session:
            assert session.get_one(Ticket, 1).assignee_id is None
        slack.click(ALERTS, root.ts, Action.CLAIM, user_id=TECH2)
        claimed = slack.wait_until(lambda: slack.responses(TECH2)[1:] or None, timeout_s=10)
        assert claimed[0].text.startswith("INT-1 claimed by <@U01BBB>.")
    finally:
        stop_bot(running, loop)
        postgres.drop(url)
