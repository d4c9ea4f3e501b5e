"""PostgreSQL's pooled connections: one the server ended is never handed to a command, and one
used a moment ago is handed out without a ping (a round trip a command)."""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from bot.storage.database import make_engine, make_sessionmaker, reading, transaction
from tests.plugins.db import PostgresDatabases

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(postgres: PostgresDatabases) -> Iterator[URL]:
    url = postgres.create()
    yield url
    postgres.drop(url)


@pytest.fixture
def engine(url: URL) -> Iterator[Engine]:
    engine = make_engine(url)
    yield engine
    engine.dispose()


def backend(connection: Connection) -> int:
    return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(postgres: PostgresDatabases, url: URL) -> int:
    """End every backend of `url`'s database, as a restart of PostgreSQL does, and wait until
    they are gone (up to 5 s each); how many there were."""
    with postgres.admin.connect() as admin:
        ended = admin.execute(
            text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = :d"),
            {"d": url.database},
        ).scalars()
        return sum(1 for done in ended if done)


def last_statement(postgres: PostgresDatabases, pid: int) -> str:
    with postgres.admin.connect() as admin:
        query = "SELECT query FROM pg_stat_activity WHERE pid = :pid"
        return str(admin.execute(text(query), {"pid": pid}).scalar_one())


def test_a_connection_the_server_ended_just_after_its_use_is_not_handed_to_the_next_command(
    postgres: PostgresDatabases, url: URL, engine: Engine
) -> None:
    """PostgreSQL restarted (or its backends terminated) within a second of the commands that
    used the pool's connections: the next commands, writes and reads, run on new connections
    instead of failing on the ended ones."""
    sessions = make_sessionmaker(engine)
    with ExitStack() as stack:  # three connections in the pool, all used a moment ago
        used = [backend(stack.enter_context(engine.connect())) for _ in range(3)]
    assert terminate(postgres, url) == 3

    with transaction(sessions) as session:
        assert backend(session.connection()) not in used
    with reading(sessions) as session:
        assert backend(session.connection()) not in used
    with ExitStack() as stack:
        now = [backend(stack.enter_context(engine.connect())) for _ in range(3)]
    assert not set(now) & set(used)


def test_a_connection_used_a_moment_ago_is_not_pinged_and_an_idle_one_is(
    postgres: PostgresDatabases, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ping before a transaction is a round trip of each command in a burst, where the
    pool's connections are a few milliseconds old; one idle for a while may have lost its
    server without a word, and is pinged first."""
    with engine.connect() as connection:
        pid = backend(connection)
    returned = last_statement(postgres, pid)  # what ended its use (the reset's ROLLBACK)

    monkeypatch.setattr("bot.storage.database._PingWhenIdle.IDLE_S", 3600.0)
    with engine.connect():
        assert last_statement(postgres, pid) == returned  # not pinged

    monkeypatch.setattr("bot.storage.database._PingWhenIdle.IDLE_S", 0.0)
    with engine.connect() as connection:
        assert last_statement(postgres, pid) != returned  # the ping
        assert backend(connection) == pid


def test_a_connection_the_driver_closed_is_not_handed_out(engine: Engine) -> None:
    """A pooled connection psycopg closed behind the pool's back has no socket to look at: it
    is pinged, found closed and replaced, not handed out."""
    with engine.connect() as connection:
        pid = backend(connection)
        driver_connection = connection.connection.dbapi_connection
    assert driver_connection is not None
    driver_connection.close()  # back in the pool
    with engine.connect() as connection:
        assert backend(connection) != pid
