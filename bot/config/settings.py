"""Process settings: environment variables and `.env`, read once by the composition root."""

import difflib
import io
import os
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_API_URL = "https://slack.com/api/"
MAX_INSTANCE_ID = 160
SHIPPED_CATALOG = Path(__file__).resolve().parents[2] / "examples" / "catalog.toml"
PREFIX = "SUPPORTBOT_"
# Read by the test suite and the benchmarks, not by the bot.
FOREIGN_PREFIXES = ("SUPPORTBOT_TEST_", "SUPPORTBOT_BENCH_")


class Settings(BaseSettings):
    """Everything the process reads from its environment. Secrets never print."""

    # Only the documented names are read, never a field's own: `LANGUAGE` (gettext's, on Ubuntu
    # desktops), `PORT` or `DATABASE_URL` (a platform's) are not this bot's settings. Code builds
    # Settings by the same names: `Settings(SUPPORTBOT_PORT=0)`.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", validate_by_name=False
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    database_url: SecretStr = Field(
        SecretStr("sqlite:///supportbot.db"),
        validation_alias="SUPPORTBOT_DATABASE_URL",
        description="May carry a password, hence secret.",
    )
    catalog: Path | None = Field(None, validation_alias="SUPPORTBOT_CATALOG")
    slack_api_url: str = Field(SLACK_API_URL, validation_alias="SUPPORTBOT_SLACK_API_URL")
    port: int = Field(3000, ge=0, le=65535, validation_alias="SUPPORTBOT_PORT")
    host: str | None = Field(
        None,
        validation_alias="SUPPORTBOT_HOST",
        description="Unset: every interface, or only this machine's against the emulator.",
    )
    language: Literal["fr", "en"] = Field("fr", validation_alias="SUPPORTBOT_LANGUAGE")
    instance_id: str | None = Field(None, validation_alias="SUPPORTBOT_INSTANCE_ID")
    workers: int = Field(
        1,
        ge=1,
        le=64,
        validation_alias="SUPPORTBOT_WORKERS",
        description="Bot processes sharing the port; one per core uses every core.",
    )
    database_threads: int | None = Field(
        None,
        ge=1,
        le=64,
        validation_alias="SUPPORTBOT_DATABASE_THREADS",
        description="Threads running database work in each process; default by backend.",
    )
    probe_history_days: int | None = Field(
        None,
        ge=62,
        le=36600,
        validation_alias="SUPPORTBOT_PROBE_HISTORY_DAYS",
        description="Days of hourly probe rollups kept (unset: all); 62 at least, so the last"
        " month's report keeps its evidence that each server was watched.",
    )
    sweep_seconds: float = Field(
        15.0,
        gt=0,
        le=300,
        allow_inf_nan=False,
        validation_alias="SUPPORTBOT_SWEEP_SECONDS",
        description="Period of the warnings and nudges sweep; a warning is at most this late.",
    )

    @field_validator("catalog", mode="before")
    @classmethod
    def _named_file(cls, value: object) -> object:
        # An empty value was read as the folder `.`: "cannot read the file: Is a directory".
        if isinstance(value, str) and not value.strip():
            raise PydanticCustomError(
                "empty_path", "is empty: name the catalog file, or unset it to use the default"
            )
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # Without a scheme, every message failed in the outbox's retries while the bot looked up.
        if not value.startswith(("http://", "https://")) or len(value.split()) != 1:
            raise PydanticCustomError(
                "http_url", "must be an http:// or https:// URL, such as https://slack.com/api/"
            )
        return value

    @field_validator("instance_id")
    @classmethod
    def _instance_name(cls, value: str | None) -> str | None:
        # The leader lease stores `<instance>/w<k>#<process token>` in 200 characters, and
        # tells an instance's processes apart by what follows its `#`.
        if value is not None and (not 0 < len(value) <= MAX_INSTANCE_ID or "#" in value):
            raise PydanticCustomError(
                "instance_id",
                f"must be 1 to {MAX_INSTANCE_ID} characters, without '#' (e.g. the host name)",
            )
        return value

    @property
    def local_mode(self) -> bool:
        """No Slack credentials at all: run against the local Slack emulator."""
        return (
            self.slack_bot_token is None
            and self.slack_app_token is None
            and self.slack_signing_secret is None
        )

    @property
    def listen_host(self) -> str:
        """The address the HTTP server binds: SUPPORTBOT_HOST, else every interface (Slack
        must reach it), or only loopback when running locally (the emulator is on this
        machine, and a bot for trying out has no business answering the network)."""
        if self.host is not None:
            return self.host
        return "127.0.0.1" if self.local_mode else "0.0.0.0"  # noqa: S104

    @property
    def missing_credential(self) -> str | None:
        """What Slack credential these settings lack for the mode they ask for, if any."""
        if self.local_mode:
            return None
        if self.slack_bot_token is None:
            return (
                "SLACK_BOT_TOKEN is required when SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set"
                " (set none of them to run locally, against the Slack emulator)"
            )
        if self.slack_app_token is None and self.slack_signing_secret is None:
            return "SLACK_SIGNING_SECRET is required in HTTP mode (no SLACK_APP_TOKEN)"
        return None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def probe_history(self) -> timedelta | None:
        """How long hourly probe rollups are kept (None: all)."""
        return None if self.probe_history_days is None else timedelta(days=self.probe_history_days)

    @property
    def threads_for_database(self) -> int:
        """The setting, else 1 on SQLite (its writers take turns, and reads only compute: more
        threads only pass the interpreter's lock around) and 2 elsewhere (one can compute while
        another waits on the network or a row lock)."""
        if self.database_threads is not None:
            return self.database_threads
        return 1 if self.database_url.get_secret_value().startswith("sqlite") else 2

    def catalog_path(self, cwd: Path) -> Path:
        """The catalog to load: the setting, else ./catalog.toml, else the shipped example."""
        if self.catalog is not None:
            return self.catalog
        local = cwd / "catalog.toml"
        return local if local.exists() else SHIPPED_CATALOG


def setting_names() -> list[str]:
    """The environment variables Settings reads."""
    return [str(field.validation_alias) for field in Settings.model_fields.values()]


def unknown_settings(names: Iterable[str]) -> dict[str, str | None]:
    """Among `names` (of the environment and `.env`), those that look like a setting of the bot
    (`SUPPORTBOT_…`, in any case, as they are read) but are none, each with the setting it was
    likely meant to be, if one is close: a typo must not silently leave a default in place."""
    known = setting_names()
    unknown: dict[str, str | None] = {}
    for name in names:
        upper = name.upper()
        ours = upper.startswith(PREFIX) and not upper.startswith(FOREIGN_PREFIXES)
        if ours and upper not in known:
            close = difflib.get_close_matches(upper, known, n=1)
            unknown[name] = close[0] if close else None
    return unknown


def dotenv_names(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The names set in the environment and in the `.env` file Settings reads."""
    from dotenv import dotenv_values  # pydantic-settings' own reader of `.env`

    names = list(environ)
    env_file = dotenv_file()
    if env_file is not None:
        names.extend(dotenv_values(env_file, encoding="utf-8"))
    return names


def dotenv_file() -> Path | None:
    """The `.env` file Settings reads, if there is one."""
    env_file = Settings.model_config.get("env_file")
    return Path(env_file) if isinstance(env_file, str) and Path(env_file).is_file() else None


# The name a `.env` statement sets, when it begins like one (`export NAME=`, `NAME =`).
_DOTENV_NAME = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=")


def dotenv_problems() -> list[str]:
    """What keeps the `.env` file from being read whole: text that is not UTF-8 (which failed
    every command in a traceback), and each statement python-dotenv cannot parse. dotenv skips
    those with a warning that names neither the file nor the setting, so a URL with its quote
    left open left the bot on its default database, a new SQLite file. A line's value is never
    shown: it may be a secret."""
    from dotenv.parser import parse_stream  # what dotenv_values, and so Settings, parses with

    env_file = dotenv_file()
    if env_file is None:
        return []
    try:
        text = env_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        byte = error.object[error.start]
        return [f"{env_file}: not UTF-8 text (byte {byte:#x} on line {line}): save it as UTF-8"]
    except OSError as error:
        return [f"{env_file}: cannot be read: {error.strerror or error}"]
    problems = []
    for binding in parse_stream(io.StringIO(text)):
        if not binding.error:
            continue
        statement = binding.original.string
        # A statement carries the blank lines before it: its own line comes after them.
        line = binding.original.line + len(statement) - len(statement.lstrip("\r\n"))
        named = _DOTENV_NAME.match(statement.lstrip("\r\n"))
        name = f" ({named.group(1)})" if named else ""
        problems.append(
            f"{env_file}, line {line}{name}: not read as NAME=value (a quote left open, or no"
            " `=`?): fix it, or its setting keeps its default"
        )
    return problems
