"""Database fixtures: every test that takes `engine` runs on SQLite and on PostgreSQL.

PostgreSQL is `SUPPORTBOT_TEST_DATABASE_URL` (default: the local server's `test` database).
Each test gets a fresh database cloned from a migrated template, so tests never share state.
Unreachable PostgreSQL fails the run in CI (CI=true) and skips, saying why, elsewhere.
"""

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.database import make_engine, make_sessionmaker, migrate, normalize_url

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def postgres_admin_url() -> URL:
    return normalize_url(os.environ.get("SUPPORTBOT_TEST_DATABASE_URL", DEFAULT_POSTGRES))


def _postgres_unavailable(error: Exception) -> None:
    message = f"PostgreSQL not reachable at {postgres_admin_url().render_as_string()}: {error}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message + " (set SUPPORTBOT_TEST_DATABASE_URL, or start PostgreSQL)")


class PostgresDatabases:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, admin_url: URL) -> None:
        self.admin_url = admin_url
        self.admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")

    def create(self, template: str | None = None) -> URL:
        name = f"supportbot_test_{uuid.uuid4().hex[:12]}"
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}{clause}"))
        return self.admin_url.set(database=name)

    def drop(self, url: URL) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {url.database} WITH (FORCE)"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(postgres_admin_url())
    try:
        with databases.admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        _postgres_unavailable(error)
    yield databases
    databases.admin.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresDatabases) -> Iterator[str]:
    url = postgres.create()
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield str(url.database)
    postgres.drop(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    """URL of a fresh, migrated database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "supportbot.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield normalize_url(f"sqlite:///{path}")
        return
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    url = postgres.create(template=request.getfixturevalue("postgres_template"))
    yield url
    postgres.drop(url)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    """URL of an empty database (no tables) on each backend."""
    if request.param == "sqlite":
        yield normalize_url(f"sqlite:///{tmp_path / 'empty.db'}")
        return
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    url = postgres.create()
    yield url
    postgres.drop(url)


@pytest.fixture
def engine(database_url: URL) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)
