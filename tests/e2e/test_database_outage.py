"""The database away for a moment: commands are answered with what is going on, and work again
once it is back."""

import pytest
from sqlalchemy import text

from bot.sandbox import EmulatorThread
from tests.plugins.bot import start_bot, stop_bot
from tests.plugins.db import PostgresDatabases


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
            assert reply == (
                "The database is not answering right now, so nothing was done. "
                "Try again in a moment."
            )
            admin.execute(text(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS true"))
        assert running.command("open acme-web-01 secours site down").startswith("INT-1 registered")
    finally:
        stop_bot(running, loop)
        postgres.drop(url)
