"""The CLI commands that read the database (`audit`, `report`, `outbox status`) on a wrong
SUPPORTBOT_DATABASE_URL: exit 2 with a message saying what is wrong, no traceback, and no new
database made where none was."""

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
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


WRITERS = [("migrate",), ("run",), ("outbox", "send")]


def refusal(
    argv: tuple[str, ...],
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """What `argv` says on stderr when run against `url`: exit 2, no traceback."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")  # outbox send needs one
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "test")  # and run, with it, HTTP mode
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("argv", READERS + WRITERS, ids=lambda argv: " ".join(argv))
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite//supportbot.db", "SUPPORTBOT_DATABASE_URL is not a database URL"),
        ("mysql+nodriver://bot:s3cret@db/bot", "names no database this bot knows"),
        ("postgresql+psycopg2://bot:s3cret@db/bot", "needs the driver 'postgresql+psycopg2'"),
    ],
    ids=["unparsable", "unknown kind", "driver not installed"],
)
def test_a_url_that_names_no_usable_database_is_said_so(
    argv: tuple[str, ...],
    url: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each used to end in SQLAlchemy's ArgumentError, NoSuchModuleError or the driver's
    ModuleNotFoundError traceback."""
    err = refusal(argv, url, monkeypatch, capsys)
    assert expected in err
    assert "s3cret" not in err


@pytest.mark.parametrize("argv", WRITERS, ids=lambda argv: " ".join(argv))
def test_the_commands_that_migrate_name_an_unreachable_database_with_its_password_hidden(
    argv: tuple[str, ...],
    postgres: PostgresDatabases,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`migrate`, `run` and `outbox send` used to crash with psycopg's OperationalError."""
    url = postgres.admin_url.set(database="supportbot_test_absent", password="s3cret")
    err = refusal(argv, url.render_as_string(hide_password=False), monkeypatch, capsys)
    assert "cannot open the database" in err
    assert "supportbot_test_absent" in err
    assert "s3cret" not in err


@pytest.mark.parametrize("missing", ["folder", "file in the way"])
@pytest.mark.parametrize("argv", [*WRITERS, ("check-config",)], ids=lambda argv: " ".join(argv))
def test_an_sqlite_file_in_a_missing_folder_is_named(
    argv: tuple[str, ...],
    missing: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SQLite creates the file, not its folder: the commands that would create it said
    SQLite's "unable to open database file", naming neither the setting nor the folder, and
    check-config said OK."""
    folder = tmp_path / ("missing" if missing == "folder" else "plain-file")
    if missing != "folder":
        folder.write_text("")
    err = refusal(argv, f"sqlite:///{folder / 'supportbot.db'}", monkeypatch, capsys)
    assert f"SUPPORTBOT_DATABASE_URL: the folder {folder} of the SQLite file supportbot.db" in err


@pytest.mark.parametrize("limit", ["-1", "ten"])
def test_outbox_status_refuses_a_limit_that_is_not_a_count(
    limit: str,
    database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--limit -1` listed every failed message on SQLite and ended in psycopg's
    `LIMIT must not be negative` traceback on PostgreSQL."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", database_url.render_as_string(False))
    with pytest.raises(SystemExit) as exited:
        main(["outbox", "status", "--limit", limit])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--limit" in err
    assert "Traceback" not in err


KNOWS_NEWER = [*READERS, ("migrate",), ("check-config",)]  # check-config said OK, exit 0
NEWER = [(argv, "which this supportbot does not know") for argv in KNOWS_NEWER]
NEWER += [(("run",), "did a newer supportbot migrate it?")]
NEWER += [(("outbox", "send"), "did a newer supportbot migrate it?")]


@pytest.mark.parametrize(
    ("argv", "expected"), [pytest.param(*case, id=" ".join(case[0])) for case in NEWER]
)
def test_a_database_a_newer_version_migrated_is_named_with_its_revision(
    argv: tuple[str, ...],
    expected: str,
    database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After rolling the bot back: `run`, `migrate` and `outbox send` ended in alembic's
    traceback, and the readers said to run `supportbot migrate`, which cannot help."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    finally:
        engine.dispose()
    err = refusal(argv, database_url.render_as_string(hide_password=False), monkeypatch, capsys)
    assert "0999" in err
    assert expected in err
    assert "run `supportbot migrate`" not in err


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
@pytest.mark.parametrize("argv", READERS, ids=lambda argv: argv[0])
def test_an_in_memory_sqlite_url_is_said_to_hold_nothing(
    argv: tuple[str, ...],
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new, empty database each time a process opens it: it said to run `supportbot
    migrate`, which migrates one that is gone when it exits."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url)
    assert main(argv) == 2
    # The last line: `report --as-of` may note first that the instant is still to come.
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"SUPPORTBOT_DATABASE_URL is an in-memory SQLite database ({url}), empty in every"
        " process that opens it: set the file the bot writes (sqlite:///supportbot.db)"
    )
