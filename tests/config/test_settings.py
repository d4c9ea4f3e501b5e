"""Settings come from the environment and `.env`; secrets never show in output."""

from datetime import timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import Settings

SECRET = "xoxb-very-secret-token-123"


def test_secrets_are_read_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens and the database URL are SecretStr: repr and str hide them."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", SECRET)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", "postgresql://bot:hunter2@db/supportbot")
    settings = Settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == SECRET
    assert SECRET not in repr(settings)
    assert "hunter2" not in repr(settings)
    assert not settings.local_mode


def test_dotenv_in_the_working_directory_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A `.env` file sets what the environment does not."""
    (tmp_path / ".env").write_text("SUPPORTBOT_LANGUAGE=en\nSUPPORTBOT_PORT=3999\n")
    monkeypatch.chdir(tmp_path)
    for name in ("SUPPORTBOT_LANGUAGE", "SUPPORTBOT_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.language, settings.port) == ("en", 3999)


def test_without_credentials_the_bot_runs_locally_on_the_shipped_catalog(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No Slack credentials: local mode; no ./catalog.toml: the shipped example."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SUPPORTBOT_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.local_mode
    assert settings.catalog_path(tmp_path).name == "catalog.toml"
    assert settings.catalog_path(tmp_path).parent.name == "examples"
    (tmp_path / "catalog.toml").write_text("")
    assert settings.catalog_path(tmp_path) == tmp_path / "catalog.toml"


def test_bad_settings_exit_2_without_echoing_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value is named, not printed: it may sit next to a secret."""
    monkeypatch.setenv("SUPPORTBOT_PORT", "not-a-port")
    monkeypatch.setenv("SLACK_BOT_TOKEN", SECRET)
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "SUPPORTBOT_PORT" in err
    assert "not-a-port" not in err
    assert SECRET not in err


def test_a_sweep_period_that_is_not_a_number_is_said_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`nan` was refused as "less than or equal to 300", which it is not either."""
    monkeypatch.setenv("SUPPORTBOT_SWEEP_SECONDS", "nan")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "SUPPORTBOT_SWEEP_SECONDS" in err
    assert "finite number" in err


@pytest.mark.parametrize(
    ("url", "setting", "threads"),
    [
        ("sqlite:///supportbot.db", None, 1),
        ("postgresql://bot@db/supportbot", None, 2),
        ("sqlite:///supportbot.db", "4", 4),
    ],
)
def test_database_threads_default_by_backend(
    monkeypatch: pytest.MonkeyPatch, url: str, setting: str | None, threads: int
) -> None:
    """SQLite's writers take turns: one thread; elsewhere two, unless set."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url)
    if setting is None:
        monkeypatch.delenv("SUPPORTBOT_DATABASE_THREADS", raising=False)
    else:
        monkeypatch.setenv("SUPPORTBOT_DATABASE_THREADS", setting)
    assert Settings().threads_for_database == threads


EXAMPLE_CATALOG = Path(__file__).resolve().parents[2] / "examples" / "catalog.toml"


@pytest.mark.parametrize(
    "argv",
    [
        ["check-config"],
        ["sla", "due", "--level", "essentiel", "--clock", "gti", "--start", "2026-11-27T18:00"],
        [
            "sla",
            "calendar",
            "--level",
            "essentiel",
            "--clock",
            "gti",
            "--from",
            "2026-11-27",
            "--days",
            "1",
        ],
    ],
    ids=["check-config", "sla due", "sla calendar"],
)
def test_commands_that_pick_the_catalog_report_bad_settings_like_the_others(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --catalog they read the settings to find it: a bad value used to escape as a
    pydantic traceback that printed the value."""
    monkeypatch.setenv("SUPPORTBOT_PORT", "not-a-port")
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "SUPPORTBOT_PORT" in err
    assert "not-a-port" not in err
    assert "Traceback" not in err


def test_check_config_of_a_named_file_needs_no_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--catalog names the file: the environment has nothing to say about it."""
    monkeypatch.setenv("SUPPORTBOT_PORT", "not-a-port")
    assert main(["check-config", "--catalog", str(EXAMPLE_CATALOG)]) == 0
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["slack.com/api/", "notaurl", "https://slack.com/ api/"])
def test_a_slack_api_url_without_http_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """Such a URL used to be taken: the bot answered commands and never posted a message, its
    outbox retrying `notaurl/chat.postMessage` forever."""
    monkeypatch.setenv("SUPPORTBOT_SLACK_API_URL", value)
    assert main(["migrate"]) == 2
    assert "SUPPORTBOT_SLACK_API_URL: must be an http:// or https:// URL" in capsys.readouterr().err


def test_an_empty_catalog_setting_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`SUPPORTBOT_CATALOG=` (a `.env` line left blank) was read as the folder `.`, and the bot
    said `.: cannot read the file: Is a directory` without naming the setting."""
    monkeypatch.setenv("SUPPORTBOT_CATALOG", "")
    assert main(["check-config"]) == 2
    assert "SUPPORTBOT_CATALOG: is empty: name the catalog file" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["bot#1", "x" * 161, ""])
def test_an_instance_id_the_lease_cannot_hold_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """The lease tells an instance's processes apart by what follows a `#`: an instance `bot`
    could take over the live lease of `bot#1`; and its holder column has 200 characters."""
    monkeypatch.setenv("SUPPORTBOT_INSTANCE_ID", value)
    assert main(["migrate"]) == 2
    assert "SUPPORTBOT_INSTANCE_ID: must be 1 to 160 characters, without '#'" in (
        capsys.readouterr().err
    )


def test_probe_history_is_kept_whole_unless_set_and_never_under_62_days(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under 62 days, last month's report would lose the evidence that a server was watched."""
    assert Settings().probe_history is None
    monkeypatch.setenv("SUPPORTBOT_PROBE_HISTORY_DAYS", "400")
    assert Settings().probe_history == timedelta(days=400)
    monkeypatch.setenv("SUPPORTBOT_PROBE_HISTORY_DAYS", "30")
    assert main(["migrate"]) == 2
    assert "SUPPORTBOT_PROBE_HISTORY_DAYS" in capsys.readouterr().err


def test_variables_without_the_prefix_are_not_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the documented names are read: `LANGUAGE=en_US:en`, which Ubuntu desktops set for
    gettext, made every command fail with `LANGUAGE: Input should be 'fr' or 'en'`, and a
    platform's `DATABASE_URL` or `PORT` silently became the bot's."""
    for name in ("SUPPORTBOT_LANGUAGE", "SUPPORTBOT_DATABASE_URL", "SUPPORTBOT_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANGUAGE", "en_US:en")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@platform-db/app")
    monkeypatch.setenv("PORT", "5000")
    monkeypatch.setenv("WORKERS", "0")
    settings = Settings()
    assert settings.language == "fr"
    assert settings.database_url.get_secret_value() == "sqlite:///supportbot.db"
    assert settings.port == 3000
    assert settings.workers == 1
    assert main(["check-config", "--catalog", str(EXAMPLE_CATALOG)]) == 0
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    assert main(["check-config"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("SLACK_BOT_TOKEN", SECRET, "SLACK_SIGNING_SECRET is required in HTTP mode"),
        ("SUPPORTBOT_DATABASE_URL", "garbage", "SUPPORTBOT_DATABASE_URL is not a database URL"),
        ("SUPPORTBOT_DATABASE_URL", "mysql://bot@db/bot", "needs the driver 'mysql'"),
    ],
    ids=["credentials", "database url", "database driver"],
)
def test_check_config_refuses_the_settings_run_refuses(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    said: str,
) -> None:
    """Without --catalog it checks the deployment as `run` reads it: it said OK to settings
    that `run` then refused before starting."""
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    monkeypatch.setenv(variable, value)
    assert main(["run"]) == 2
    assert said in capsys.readouterr().err
    assert main(["check-config"]) == 2
    captured = capsys.readouterr()
    assert said in captured.err
    assert value not in captured.err
    assert "OK" not in captured.out


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_a_mistyped_setting_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    where: str,
) -> None:
    """`SUPPORTBOT_DATABSE_URL=postgresql://…` was ignored: the bot ran on a new SQLite file
    beside it, as if the team's database were empty, and said nothing."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SUPPORTBOT_DATABASE_URL", raising=False)
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    value = "postgresql://bot:hunter2@db/supportbot"
    if where == "environment":
        monkeypatch.setenv("SUPPORTBOT_DATABSE_URL", value)
    else:
        (tmp_path / ".env").write_text(f"SUPPORTBOT_DATABSE_URL={value}\n")
    # `run` last: unless refused, it would serve until stopped.
    for argv in (["migrate"], ["check-config"], ["outbox", "status"], ["run"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "SUPPORTBOT_DATABSE_URL: not a setting (SUPPORTBOT_DATABASE_URL?)" in err
        assert "hunter2" not in err
    assert not (tmp_path / "supportbot.db").exists()


def test_the_tests_and_benches_own_variables_are_not_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`SUPPORTBOT_TEST_…` and `SUPPORTBOT_BENCH_…` are read by the tests and the benches."""
    monkeypatch.setenv("SUPPORTBOT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    monkeypatch.setenv("SUPPORTBOT_BENCH_CALLGRIND", "/tmp")
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    assert main(["check-config"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "# the team's database\n\nSUPPORTBOT_DATABASE_URL=\"postgresql://bot:hunter2@db/sb\n",
            ".env, line 3 (SUPPORTBOT_DATABASE_URL): not read as NAME=value",
        ),
        ("SUPPORTBOT_LANGUAGE=en\nSUPPORTBOT_PORT 3999\n", ".env, line 2: not read as NAME=value"),
    ],
    ids=["quote left open", "no equals sign"],
)
def test_a_dotenv_line_that_does_not_parse_is_refused_by_its_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    lines: str,
    expected: str,
) -> None:
    """python-dotenv skips such a line with a warning naming neither the file nor the setting:
    with a quote left open on the database URL, `check-config` said OK and `migrate` made a
    new SQLite file beside it, as if the team's database were empty."""
    monkeypatch.chdir(tmp_path)
    for name in ("SUPPORTBOT_DATABASE_URL", "SUPPORTBOT_LANGUAGE", "SUPPORTBOT_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    (tmp_path / ".env").write_text(lines)
    for argv in (["check-config"], ["migrate"]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert expected in captured.err
        assert "hunter2" not in captured.err
        assert "OK" not in captured.out
    assert not (tmp_path / "supportbot.db").exists()


def test_a_dotenv_that_is_not_utf8_is_refused_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A `.env` saved in Latin-1 ended every command in a UnicodeDecodeError traceback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    (tmp_path / ".env").write_bytes("SUPPORTBOT_INSTANCE_ID=sécurité\n".encode("latin-1"))
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert ".env: not UTF-8 text (byte 0xe9 on line 1): save it as UTF-8" in err
