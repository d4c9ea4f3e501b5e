"""The CLI commands that read the database (`audit`, `report`, `outbox status`) on a wrong
SUPPORTBOT_DATABASE_URL: exit 2 with a message saying what is wrong, no traceback, and no new
database made where none was."""

from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import URL

from bot.__main__ import main
from bot.storage.database import make_engine
from tests.plugins.db import PostgresDatabases
from tests.services.history import EXAMPLE_CATALOG

READERS = [
    ("audit", "INT-1"),
    ("report", "--month", "2026-11", "--as-of", "2026-11-30T12:00"),
    ("outbox", "status"),
]


@pytest.fixture(autouse=True)
def catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))


@pytest.mark.parametrize("argv", READERS, ids=lambda argv: argv[0])
def test_a_mistyped_sqlite_path_is_named_and_not_created(
    argv: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`outbox status` on a typo used to create and migrate a new file, and report it healthy."""
    path = tmp_path / "supportbto.db"
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{path}")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"no database at {path}" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", READERS, ids=lambda argv: argv[0])
def test_a_database_without_the_schema_says_to_migrate_and_is_left_alone(
    argv: tuple[str, ...],
    empty_database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`audit` and `report` used to crash with `no such table`; nothing is migrated either."""
    url = empty_database_url.render_as_string(hide_password=False)
    make_engine(url).dispose()
    if empty_database_url.get_backend_name() == "sqlite":
        Path(str(empty_database_url.database)).touch()  # exists, no tables
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "run `supportbot migrate`" in err
    engine = make_engine(url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("argv", READERS, ids=lambda argv: argv[0])
def test_an_unreachable_database_is_named_with_its_password_hidden(
    argv: tuple[str, ...],
    postgres: PostgresDatabases,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = postgres.admin_url.set(database="supportbot_test_absent", password="s3cret")
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url.render_as_string(hide_password=False))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot read the database" in err
    assert "supportbot_test_absent" in err
    assert "s3cret" not in err
    assert "Traceback" not in err
