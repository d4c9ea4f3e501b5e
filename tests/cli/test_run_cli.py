"""`supportbot run` refuses Slack credentials that are incomplete, before anything starts."""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from bot.__main__ import main
from bot.config import Settings
from bot.sandbox import EmulatorThread
from tests.services.history import build_history

EXAMPLE_CATALOG = Path(__file__).resolve().parents[2] / "examples" / "catalog.toml"


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        ({"SLACK_SIGNING_SECRET": "s3cret"}, "SLACK_BOT_TOKEN is required"),
        ({"SLACK_APP_TOKEN": "xapp-s3cret"}, "SLACK_BOT_TOKEN is required"),
        ({"SLACK_BOT_TOKEN": "xoxb-s3cret"}, "SLACK_SIGNING_SECRET is required"),
    ],
    ids=["signing secret alone", "app token alone", "bot token alone"],
)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_incomplete_slack_credentials_exit_2_naming_the_missing_one(
    credentials: dict[str, str],
    expected: str,
    workers: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A lone signing secret used to start the local emulator under a banner saying no
    credentials were set; the other two exited 1 from one process, and with several workers
    restarted them forever."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SUPPORTBOT_WORKERS", workers)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    assert not Settings().local_mode  # some credential is set: this is no local run
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "s3cret" not in err
    assert not (tmp_path / "bot.db").exists()  # refused before anything started


def test_a_database_that_refuses_the_migration_at_start_is_named_without_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another application's database (or a role without rights on the tables): `run`
    migrates at start, and ended in SQLAlchemy's traceback."""
    database = tmp_path / "bot.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE clients (id INTEGER)")
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    monkeypatch.setenv("SUPPORTBOT_PORT", "0")
    assert main(["run"]) == 2
    assert capsys.readouterr().err == (
        f"the database sqlite:///{database} refused the migration: table clients already exists\n"
    )


def test_an_app_token_slack_refuses_exits_2_saying_so(
    slack: EmulatorThread,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A mistyped SLACK_APP_TOKEN: `run` never finished starting, logged a traceback every
    10 s, and ignored SIGTERM; it says what Slack answered and exits."""
    for name in ("SLACK_SIGNING_SECRET", "SUPPORTBOT_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A0SUPPORTBOT-s3cret")
    monkeypatch.setenv("SUPPORTBOT_SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    monkeypatch.setenv("SUPPORTBOT_HOST", "127.0.0.1")
    monkeypatch.setenv("SUPPORTBOT_PORT", "0")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.endswith(
        "Slack refused SLACK_APP_TOKEN (invalid_auth): Socket Mode needs the app-level token "
        "(xapp-…) with the connections:write scope, from the app's Basic Information page\n"
    )
    assert "s3cret" not in err


def test_a_catalog_that_drops_the_calendar_of_the_clocks_is_named_by_its_file(
    sessions: sessionmaker[Session],
    database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`run` said `catalog: 1 problem(s)`, where check-config and report name the file."""
    build_history(sessions)
    renamed = tmp_path / "catalog.toml"
    renamed.write_text(
        EXAMPLE_CATALOG.read_text()
        .replace("[calendars.business]", "[calendars.ouvrables]")
        .replace('calendar = "business"', 'calendar = "ouvrables"')
    )
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", database_url.render_as_string(False))
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(renamed))
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert f"{renamed}: 1 problem(s)\n  calendars.business: missing, but the clocks of" in err


def test_a_bad_catalog_is_refused_before_the_database_is_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` created and migrated an empty database, then refused the catalog."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(EXAMPLE_CATALOG.read_text().replace('level = "premium"', 'level = "or"'))
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(catalog))
    assert main(["run"]) == 2
    assert "clients[1].level: unknown level 'or'" in capsys.readouterr().err
    assert not (tmp_path / "bot.db").exists()
