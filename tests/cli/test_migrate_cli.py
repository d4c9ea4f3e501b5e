"""`supportbot migrate`: says the revision the database is at, refuses one that does not exist."""

import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.__main__ import main
from bot.storage.database import alembic_config, make_engine


def head() -> str:
    engine = make_engine("sqlite://")
    try:
        revision = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    finally:
        engine.dispose()
    assert revision is not None
    return revision


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "supportbot.db"
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{path}")
    return path


def test_migrate_says_the_revision_it_reached(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == f"sqlite:///{database}: at {head()}\n"


def test_an_older_revision_leaves_the_database_where_it_is_and_says_so(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An upgrade never goes back: `--revision 0001` on an up-to-date database used to print
    "at 0001" while the database stayed at the head."""
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["migrate", "--revision", "0001"]) == 0
    assert capsys.readouterr().out == f"sqlite:///{database}: at {head()}\n"


def test_a_revision_that_does_not_exist_is_refused_without_traceback(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--revision", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "Can't locate revision identified by 'bogus'" in err
    assert "Traceback" not in err


def test_a_blank_revision_is_refused_as_usage(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["migrate", "--revision", " "])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "a revision is needed" in err
    assert "Traceback" not in err


def test_a_database_that_refuses_the_migration_is_named_without_traceback(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A URL pointing at another application's database (or a role without rights on the
    tables) made `migrate` end in SQLAlchemy's traceback."""
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE clients (id INTEGER)")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"migrate: the database sqlite:///{database} refused it: table clients already exists\n"
    )


@pytest.mark.parametrize("revision", ["head+1", f"{head()}+1"])
def test_a_revision_past_the_head_is_refused_without_traceback(
    revision: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """alembic fails on a revision counted past the head with a bare AssertionError."""
    assert main(["migrate", "--revision", revision]) == 2
    err = capsys.readouterr().err
    assert f"migrate: no revision {revision!r} (head, or one of 0001 … {head()})" in err
    assert "Traceback" not in err
    assert not database.exists()


def test_a_relative_revision_upgrades_that_many_steps(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--revision", "0001"]) == 0
    capsys.readouterr()
    assert main(["migrate", "--revision", "+2"]) == 0
    assert capsys.readouterr().out == f"sqlite:///{database}: at 0003\n"


@pytest.mark.parametrize("revision", ["head-100", f"{head()}-20", "0001-1", "base+0", "base-1"])
def test_a_revision_counted_back_before_the_first_is_refused_without_traceback(
    revision: str, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """alembic fails on a revision counted back to the base or before it with a bare
    AssertionError (exit 1, a traceback), after creating the SQLite file."""
    assert main(["migrate", "--revision", revision]) == 2
    err = capsys.readouterr().err
    assert f"migrate: no revision {revision!r} (head, or one of 0001 … {head()})" in err
    assert "Traceback" not in err
    assert not database.exists()
