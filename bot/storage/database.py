"""Engines, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

import fcntl
import os
import select
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Executable, Table, create_engine, event, insert, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InvalidatePoolError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.commit_gate import before_commit, before_work
from bot.storage.threads import note_commit

MIGRATIONS = Path(__file__).with_name("migrations")

# Execution option of a session that only reads (see `reading`): on SQLite it begins without
# taking the write lock.
READ_ONLY = "supportbot_read_only"


def normalize_url(url: str) -> URL:
    """Parse a database URL; bare `postgresql://` uses psycopg 3, the installed driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class DatabaseUnavailableError(Exception):
    """The configured database cannot be used: its URL does not parse, names a kind of database
    no installed driver serves, or no connection opens. The message says which, password hidden."""


def database_url(text: str) -> URL:
    """`text` parsed as `normalize_url` does, its driver loaded; DatabaseUnavailableError when it is
    no URL or no installed driver serves it (never showing the text, which may hold a password)."""
    try:
        url = normalize_url(text)
    except ArgumentError:
        raise DatabaseUnavailableError(
            "SUPPORTBOT_DATABASE_URL is not a database URL"
            " (write sqlite:///supportbot.db or postgresql://user@host/db)"
        ) from None
    try:
        dialect = url.get_dialect()
    except ArgumentError:  # NoSuchModuleError: "foo://", "postgres+nodriver://"
        raise DatabaseUnavailableError(
            f"SUPPORTBOT_DATABASE_URL names no database this bot knows: {url.drivername!r}"
            " (use sqlite:///FILE or postgresql://user@host/db)"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError as error:  # "mysql://" (MySQLdb), "postgresql+psycopg2://"
        raise DatabaseUnavailableError(
            f"SUPPORTBOT_DATABASE_URL needs the driver {url.drivername!r}, which is not"
            f" installed ({error.name or error}): use sqlite:///FILE or postgresql://user@host/db"
        ) from None
    return url


# How long SQLite's writers wait for the lock another connection holds (its busy timeout)
# before "database is locked"; /healthz counts a database whose work waits longer as not answering.
LOCK_WAIT_SECONDS = 30

# SQLite's result codes (and their extended forms) for a lock another connection held past
# the busy timeout.
_SQLITE_LOCKED = ("SQLITE_BUSY", "SQLITE_LOCKED")


def open_database(text: str) -> Engine:
    """An engine on the URL `text` once one connection opened (creating an SQLite file that does
    not exist yet); DatabaseUnavailableError saying why, password hidden, otherwise."""
    url = database_url(text)
    engine = make_engine(url)
    try:
        ping(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        shown = url.render_as_string(hide_password=True)
        message = f"cannot open the database {shown}: {reason(error)}"
        raise DatabaseUnavailableError(message) from None
    return engine


def reason(error: SQLAlchemyError) -> str:
    """The database's (or driver's) own words for `error`, on one line: no SQL, no traceback.
    SQLite's "database is locked" says what holds it and what to do: SQLite only says that."""
    orig = getattr(error, "orig", None)
    if str(getattr(orig, "sqlite_errorname", "")).startswith(_SQLITE_LOCKED):
        return (
            "database is locked by another program, which held it longer than the"
            f" {LOCK_WAIT_SECONDS} s supportbot waits: stop that program (an `sqlite3` shell"
            " with a transaction open, a copy or backup tool; `fuser` names it), then try again"
            " (what waited for it was not written)"
        )
    return str(orig or error).strip().splitlines()[0]


def migrate_at_start(engine: Engine) -> None:
    """`migrate`, a refusal (a role without rights, another application's tables) raised as
    DatabaseUnavailableError saying so, password hidden."""
    try:
        migrate(engine)
    except SQLAlchemyError as error:
        raise DatabaseUnavailableError(
            f"the database {describe(engine)} refused the migration: {reason(error)}"
        ) from None


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine with the pragmas and pool settings this project relies on."""
    parsed = normalize_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": LOCK_WAIT_SECONDS},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            _SqliteWriterQueue(Path(f"{database}-writers.lock")).install(engine)
        else:
            event.listen(engine, "begin", _sqlite_begin)
    else:
        # LIFO: the connection returned last is taken first, so the few busy ones are the ones
        # whose statements psycopg has prepared (at their fifth run on a connection, by default).
        # No `pool_pre_ping`: `_PingWhenIdle` pings only a connection that may have died unseen.
        engine = create_engine(parsed, pool_use_lifo=True, pool_size=10, max_overflow=20, **kwargs)
        event.listen(engine, "connect", _postgresql_on_connect)
        _PingWhenIdle(engine).install()
    # Work given up at its deadline (a command's answer was due) must not commit afterwards.
    event.listen(engine, "commit", before_commit)
    event.listen(engine, "commit", note_commit)  # /healthz: the database answers writes
    return engine


def _postgresql_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """A lock held by another session is waited for as long as SQLite's busy timeout, then
    refused (an OperationalError, transient: "try again"): without a limit, the work of a
    ticket whose row another program keeps locked (a session left open in `psql`) held a
    database thread until that program let go, and a few retries held them all. Set outside
    a transaction, where it lasts for the connection (a ROLLBACK would undo it)."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute(f"SET lock_timeout = {LOCK_WAIT_SECONDS * 1000}")
    finally:
        dbapi_connection.autocommit = autocommit


class _PingWhenIdle:
    """Ping a pooled PostgreSQL connection at checkout only when it may have died unseen.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip a command (25–35 µs of
    the bot's CPU, 15 of the server backend's), in bursts where commands follow each other on
    the same few connections. A connection the server ended (PostgreSQL restarted, its backend
    terminated) has the server's farewell, or at least the end of the stream, waiting on its
    socket: a connection returned less than `IDLE_S` ago whose socket has nothing to read is
    alive as far as a ping could tell, and is handed out as it is. Any other is pinged, as
    `pool_pre_ping` does: one that fails invalidates the pool (every connection opened before
    it is replaced at its next checkout) and the checkout opens a new one. What neither
    check sees, a server gone without a word (its host lost, the network cut) within `IDLE_S`
    of the connection's last use, fails the statement instead, as it would a moment after a
    ping.
    """

    IDLE_S = 2.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def install(self) -> None:
        event.listen(self.engine, "checkin", self._checked_in)
        event.listen(self.engine, "checkout", self._checkout)

    @staticmethod
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    def _checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # A connection opened again (or for the first time) starts with its info empty.
        checked_in_at = record.info.pop("checked_in_at", None)
        if checked_in_at is None:
            return
        dialect = self.engine.dialect
        recent = time.monotonic() - checked_in_at < self.IDLE_S
        if recent and not _readable(dbapi_connection, dialect.loaded_dbapi.Error):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            raise InvalidatePoolError(f"the database ended the connection: {error}") from error


def _readable(dbapi_connection: Any, driver_error: type[Exception]) -> bool:
    """Whether the server sent anything on a connection idle in the pool: between two
    transactions it sends nothing unless it is ending the connection (or reports a change of
    setting, or a notification, worth a ping too). True when the driver has no socket to
    look at any more (the connection closed): the ping then says what is wrong."""
    try:
        descriptor = dbapi_connection.fileno()
    except driver_error:
        return True
    poll = select.poll()  # not select.select, which refuses descriptors above 1023
    poll.register(descriptor, select.POLLIN)
    return bool(poll.poll(0))


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={LOCK_WAIT_SECONDS * 1000}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Begin a transaction, taking the write lock unless the session only reads.

    A deferred transaction that reads then writes fails at once with SQLITE_BUSY when another
    writer got in between; taking the write lock up front makes writers queue instead. Sessions
    that only read (`reading`) begin deferred: in WAL mode they neither wait for nor block the
    writer.
    """
    statement = "BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
    # Straight to the driver: a statement through SQLAlchemy's execution machinery (context,
    # events, result) cost a fifth of an empty transaction, on every transaction.
    try:
        connection.connection.dbapi_connection.execute(statement)
    except sqlite3.Error as error:
        # SQLAlchemy runs this listener outside its wrapping of the driver's errors: wrapped
        # here as it wraps a statement's, "database is locked" (another program held the file
        # past the busy timeout) is the OperationalError every handler and is_transient know.
        raise DBAPIError.instance(
            statement, None, error, sqlite3.Error, dialect=connection.dialect
        ) from error


class _SqliteWriterQueue:
    """Writers of one SQLite file, in any thread or process, queue on a file lock (`flock`).

    Without it they queue in SQLite's busy handler, which sleeps 1, 2, 5, 10… up to 100 ms
    between tries and leaves the lock unused meanwhile; the kernel hands a file lock over the
    moment it is released. Each pooled connection holds its own descriptor of the lock file
    (locks of distinct descriptors exclude each other, even within one process) and keeps the
    lock from BEGIN IMMEDIATE until the connection goes back to the pool, after its commit or
    rollback. SQLite's busy timeout still guards against writers that do not take the lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def install(self, engine: Engine) -> None:
        event.listen(engine, "connect", self._open)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "checkin", self._release)
        event.listen(engine, "close", self._close)

    def _open(self, _dbapi_connection: Any, record: Any) -> None:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        record.info["writers_lock"] = os.open(self.path, flags, 0o600)

    def _begin(self, connection: Any) -> None:
        info = connection.info
        if not connection.get_execution_options().get(READ_ONLY):
            fcntl.flock(info["writers_lock"], fcntl.LOCK_EX)  # waits with the GIL released
            info["writers_locked"] = True
            before_work()  # given up while it waited: let the next writer have the lock
        _sqlite_begin(connection)

    def _release(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop("writers_locked", False):
            fcntl.flock(record.info["writers_lock"], fcntl.LOCK_UN)

    def _close(self, _dbapi_connection: Any, record: Any) -> None:
        descriptor = record.info.pop("writers_lock", None)
        record.info.pop("writers_locked", None)
        if descriptor is not None:
            os.close(descriptor)  # closing it also releases the lock


# SQLite's result codes for a database busy, locked or unreachable for a moment; any other
# SQLite error (a missing table, say) is the caller's own and will not pass.
_SQLITE_TRANSIENT = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_FULL",
)


def is_transient(error: Exception) -> bool:
    """Whether `error` is the database away or overloaded for a moment (worth another try), not
    a fault of the code that ran into it."""
    if isinstance(error, PoolTimeoutError):  # every pooled connection busy
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    sqlite_code = getattr(error.orig, "sqlite_errorname", None)
    if sqlite_code is not None:
        return str(sqlite_code).startswith(_SQLITE_TRANSIENT)
    return isinstance(error, OperationalError)  # PostgreSQL: connection, server, cancellation


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def reading(sessions: sessionmaker[Session]) -> Session:
    """A session for reads only: on SQLite it waits for no writer and blocks none.

    On PostgreSQL it reads without a transaction (autocommit). At READ COMMITTED each
    statement sees the data as of its own start whether or not a transaction wraps them, so
    one would only add a BEGIN and a ROLLBACK; and psycopg forgets every statement prepared on
    a connection at each ROLLBACK, so the server planned again most of what the next commands
    sent on it.
    """
    session = sessions(execution_options={READ_ONLY: True})
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with sessions.begin() as session:
        yield session


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def ping(engine: Engine) -> None:
    """Raise if the database does not answer."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        connection.execute(text("SELECT 1"))


def describe(engine: Engine) -> str:
    """The engine's URL with any password hidden, for logs."""
    return engine.url.render_as_string(hide_password=True)


def upsert(session: Session, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with ON CONFLICT clauses, in the dialect of the session's database."""
    return _dialect_insert(session.get_bind().dialect.name, table)


def _dialect_insert(dialect: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database {dialect!r}: use SQLite or PostgreSQL")


def insert_new(
    session: Session, model: type[Any], *, unique: tuple[str, ...], returning: str | None
) -> Executable:
    """`INSERT … ON CONFLICT (unique) DO NOTHING RETURNING returning` into `model`'s table, to
    execute with the row's values as parameters: it returns a row only when the insert happened.
    Without `returning`, it may be executed with several rows' values at once.

    Built once per dialect and table: commands insert on their hot path, and building and
    coercing a statement per row costs more than running it.
    """
    table = cast(Table, model.__table__)
    return _insert_new(session.get_bind().dialect.name, table, unique, returning)


@cache
def _insert_new(
    dialect: str, table: Table, unique: tuple[str, ...], returning: str | None
) -> Executable:
    statement = _dialect_insert(dialect, table).on_conflict_do_nothing(index_elements=unique)
    return statement if returning is None else statement.returning(table.c[returning])


def insert_returning(model: type[Any], returning: str) -> Executable:
    """`INSERT … RETURNING returning` into `model`'s table, built once (see insert_new)."""
    return _insert_returning(cast(Table, model.__table__), returning)


@cache
def _insert_returning(table: Table, returning: str) -> Executable:
    return insert(table).returning(table.c[returning])
