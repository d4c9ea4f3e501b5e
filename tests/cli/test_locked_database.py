"""Every command on an SQLite database another program keeps locked: a message saying so and
what to do, exit 2, never a traceback."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import bot.storage.database
from bot.__main__ import main
from bot.storage.database import make_engine, make_sessionmaker, migrate
from tests.services.history import EXAMPLE_CATALOG, build_history

BUSY_MS = 50  # instead of the 30 s a command waits for the lock


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated database the commands use, on which a wait for a lock is cut to BUSY_MS."""
    path = tmp_path / "supportbot.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    connect = bot.storage.database._sqlite_on_connect

    def impatient(dbapi_connection: Any, record: Any) -> None:
        connect(dbapi_connection, record)
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_MS}")

    monkeypatch.setattr(bot.storage.database, "_sqlite_on_connect", impatient)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    monkeypatch.setenv("SUPPORTBOT_PORT", "0")
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return path


@contextmanager
def held(path: Path, begin: str) -> Iterator[None]:
    """`path` held by another program in a transaction begun with `begin`: EXCLUSIVE (an
    `sqlite3` shell that locked it), or IMMEDIATE (a writer, such as the running bot)."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute(begin)
    try:
        yield
    finally:
        holder.close()


@pytest.fixture
def locked_database(database: Path) -> Iterator[Path]:
    with held(database, "BEGIN EXCLUSIVE"):
        yield database


@pytest.mark.parametrize(
    "argv",
    [("run",), ("migrate",), ("outbox", "send")],
    ids=" ".join,
)
def test_a_database_locked_by_another_program_is_said_so_without_traceback(
    argv: tuple[str, ...],
    locked_database: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SQLite's "database is locked", raised where a transaction begins, came out as a Python
    traceback and exit 1, from `run` at start as from any command; then, wrapped as SQLAlchemy's
    error, as the commands' "refused it: database is locked", which says neither by what nor
    what to do. `outbox send` has no word of its own for it: the entry point says it."""
    if argv == ("outbox", "send"):  # which needs a token (`run` would then need the rest)
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-never-used")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"the database sqlite:///{locked_database}" in err
    assert "database is locked by another program" in err
    assert "stop that program" in err


@pytest.mark.parametrize(
    "argv",
    [
        ("audit", "INT-1"),
        ("outbox", "status"),
        ("report", "--month", "2026-11", "--as-of", "2026-12-15T12:00"),
        ("check-config",),
    ],
    ids=lambda argv: argv[0],
)
def test_commands_that_read_do_so_while_a_writer_holds_the_database(
    argv: tuple[str, ...], database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit`, `outbox status`, `report` and `check-config` (the catalog against the history)
    only read, but began as a writer does: they queued
    behind the running bot's writes (and held them up while they read), and failed when one
    outlasted their wait."""
    engine = make_engine(f"sqlite:///{database}")
    try:
        build_history(make_sessionmaker(engine))
    finally:
        engine.dispose()
    with held(database, "BEGIN IMMEDIATE"):
        assert main(argv) == 0
    assert capsys.readouterr().out
