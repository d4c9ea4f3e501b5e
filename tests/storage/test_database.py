"""Migrations, the UTC datetime type, append-only audit and catalog sync, on both backends."""

import os
import re
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, insert, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

import bot.storage.database
from bot.config import CatalogError, load_catalog
from bot.storage.catalog_sync import sync_catalog
from bot.storage.database import is_transient, make_engine, make_sessionmaker, migrate, reading
from bot.storage.models import (
    ALLOWANCE_COUNTED,
    AuditEvent,
    Base,
    Client,
    ClientTerms,
    Clock,
    Credit,
    OutboxMessage,
    OutboxOperation,
    OutboxStatus,
    Scope,
    Server,
    Ticket,
    TicketStatus,
)
from tests.plugins.db import PostgresDatabases

CATALOG = Path(__file__).parents[2] / "examples" / "catalog.toml"
NOW = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


def test_migrations_create_every_table_on_an_empty_database(empty_database_url: URL) -> None:
    """Upgrading an empty database to head creates the models' tables, and is idempotent."""
    engine = make_engine(empty_database_url)
    migrate(engine)
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    engine.dispose()


def test_instances_that_start_together_migrate_an_empty_database_in_turn(
    empty_database_url: URL,
) -> None:
    """Two instances started at once on a new (or upgraded) PostgreSQL database both created
    the tables: one failed on a duplicate key of `pg_type` and its `supportbot run` stopped."""
    env = {
        **os.environ,
        "SUPPORTBOT_DATABASE_URL": empty_database_url.render_as_string(hide_password=False),
        "PYTHONPATH": str(Path(__file__).parents[2]),
    }
    command = [sys.executable, "-m", "bot", "migrate"]
    runs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in "ab"
    ]
    errors = [run.communicate(timeout=60)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors


def test_migrations_downgrade_to_base_and_back(empty_database_url: URL) -> None:
    """Every migration can be undone, so a bad release can be rolled back."""
    engine = make_engine(empty_database_url)
    migrate(engine)
    from alembic import command

    from bot.storage.database import alembic_config

    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_upgrading_keeps_each_clients_terms_as_in_force_since_it_was_added(
    empty_database_url: URL,
) -> None:
    """Migration 0009 writes the terms of the clients already there: the months before any
    later change of contract are priced as they were."""
    engine = make_engine(empty_database_url)
    migrate(engine, "0008")
    added = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with make_sessionmaker(engine).begin() as session:  # the clients table as 0008 has it
        session.add(
            Client(id="acme", name="ACME", level="essentiel", monthly_fee=120.0, added_at=added)
        )
    migrate(engine)
    with make_sessionmaker(engine)() as session:
        terms = session.scalars(select(ClientTerms)).one()
        assert (terms.client_id, terms.level, terms.monthly_fee) == ("acme", "essentiel", 120.0)
        assert terms.since == added
    engine.dispose()


def test_upgrading_marks_announced_the_breaches_whose_announcement_was_queued(
    empty_database_url: URL,
) -> None:
    """Migration 0012 gives a credit whose breach post is in the outbox that post's time; a
    recent one the sweep never announced stays NULL, for the next sweep to announce it; one
    more than a day old, which the bot before it would never announce, its last change's."""
    engine = make_engine(empty_database_url)
    migrate(engine, "0011")
    called = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    posted = called + timedelta(hours=1)
    old = called - timedelta(days=3)
    with make_sessionmaker(engine).begin() as session:  # the credits table as 0011 has it
        session.add(
            Client(id="acme", name="ACME", level="essentiel", monthly_fee=120.0, added_at=called)
        )
        for _ in "abc":
            session.add(
                Ticket(
                    client_id="acme", kind="secours", level="essentiel", description="down",
                    status=TicketStatus.RESOLVED, scope=Scope.IN, called_at=called,
                    registered_at=called, opened_by="U01AAA",
                )
            )  # fmt: skip
        session.flush()
        session.execute(  # the outbox as 0011 has it (without 0013's claimed_by)
            OutboxMessage.__table__.insert(),
            [
                {"key": "INT-1/gti/breach/thread", "operation": OutboxOperation.POST,
                 "channel_id": "C01ALERTS", "text": "breached", "status": OutboxStatus.SENT,
                 "attempts": 1, "created_at": posted, "next_attempt_at": posted}
            ],
        )  # fmt: skip
        session.execute(
            Credit.__table__.insert(),
            [
                {"ticket_id": ticket, "clock": "gti", "client_id": "acme", "breached_at": at,
                 "state": "eligible", "updated_at": at, "updated_by": "system"}
                for ticket, at in ((1, called), (2, called), (3, old))
            ],
        )  # fmt: skip
    migrate(engine)
    with make_sessionmaker(engine)() as session:
        announced = dict(session.execute(select(Credit.ticket_id, Credit.announced_at)).all())
    assert announced == {1: posted, 2: None, 3: old}
    engine.dispose()


def test_upgrading_leaves_what_slack_shows_of_earlier_messages_unknown(
    empty_database_url: URL,
) -> None:
    """Migration 0016: a root posted and edited before it has no record of what Slack shows,
    so its next edit goes (and records it), whatever it says; rolled back to 0015, the
    column goes and the messages stay."""
    from alembic import command

    from bot.storage.database import alembic_config

    engine = make_engine(empty_database_url)
    migrate(engine, "0015")
    with make_sessionmaker(engine).begin() as session:  # the outbox as 0015 has it
        session.execute(
            insert(OutboxMessage),
            [
                {"key": "outage-1/root", "operation": OutboxOperation.POST,
                 "channel_id": "C01ALERTS", "text": "web-01 down", "status": OutboxStatus.SENT,
                 "attempts": 1, "created_at": NOW, "next_attempt_at": NOW, "ts": "1.1"},
                {"key": "outage-1/root/r1", "operation": OutboxOperation.UPDATE,
                 "target_key": "outage-1/root", "text": "web-01 down, acknowledged",
                 "status": OutboxStatus.SENT, "attempts": 1, "created_at": NOW,
                 "next_attempt_at": NOW},
            ],
        )  # fmt: skip
    migrate(engine)
    with make_sessionmaker(engine)() as session:
        shown = session.execute(select(OutboxMessage.key, OutboxMessage.shown_digest)).all()
    assert sorted(shown) == [("outage-1/root", None), ("outage-1/root/r1", None)]
    command.downgrade(alembic_config(engine), "0015")
    columns = {column["name"] for column in inspect(engine).get_columns("outbox_messages")}
    assert "shown_digest" not in columns
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM outbox_messages")) == 2
    engine.dispose()


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Paris")),
        datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
        datetime(2026, 11, 27, 18, 0, tzinfo=timezone(timedelta(hours=-5))),
    ],
    ids=["utc-microseconds", "paris-after-spring-dst", "paris-second-2h30-in-october", "utc-5"],
)
def test_aware_datetimes_round_trip_as_the_same_instant_in_utc(
    sessions: sessionmaker[Session], instant: datetime
) -> None:
    """What goes in comes out as the same instant, aware, in UTC."""
    with sessions.begin() as session:
        session.add(Client(id="c", name="C", level="l", monthly_fee=1.0, added_at=instant))
    with sessions() as session:
        stored = session.scalars(select(Client.added_at)).one()
    # Compared in UTC: PEP 495 makes an ambiguous local time unequal to every other zone's time.
    assert stored == instant.astimezone(UTC)
    assert stored.tzinfo is UTC


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    """A naive datetime is ambiguous evidence: refused instead of guessed."""
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 (the point of the test)
    with sessions() as session:
        session.add(Client(id="c", name="C", level="l", monthly_fee=1.0, added_at=naive))
        with pytest.raises(StatementError, match="naive datetime refused"):
            session.flush()


def test_audit_events_cannot_be_edited_or_deleted(engine: Engine) -> None:
    """The database itself refuses UPDATE and DELETE on the audit trail."""
    sessions = sessionmaker(engine)
    with sessions.begin() as session:
        session.add(AuditEvent(at=NOW, actor_id="U1", action="ticket.opened", details={}))
    for statement in ("UPDATE audit_events SET actor_id = 'U2'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with sessions() as session:
        assert session.scalars(select(AuditEvent.actor_id)).all() == ["U1"]


def test_audit_events_cannot_be_emptied_nor_lose_their_ticket(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    """Nor by the ways around a row trigger: PostgreSQL's TRUNCATE, of the table or by cascade
    from the tickets, and on both backends deleting or renumbering the ticket an event is of
    (the foreign key refuses it; SQLite's is enforced on the bot's connections)."""
    from tests.services.history import build_history

    build_history(sessions)

    def events() -> list[tuple[int, int | None, str]]:
        with sessions() as session:
            rows = session.execute(
                select(AuditEvent.id, AuditEvent.ticket_id, AuditEvent.actor_id)
            ).all()
            return [(row.id, row.ticket_id, row.actor_id) for row in rows]

    before = events()
    assert any(ticket_id == 1 for _, ticket_id, _ in before)
    statements = ["DELETE FROM tickets WHERE id = 1", "UPDATE tickets SET id = 9999 WHERE id = 1"]
    if engine.dialect.name == "postgresql":
        statements += ["TRUNCATE audit_events", "TRUNCATE tickets CASCADE"]
    for statement in statements:
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text(statement))
    assert events() == before


def test_an_audit_event_cannot_be_replaced_by_inserting_over_it(engine: Engine) -> None:
    """SQLite's `INSERT OR REPLACE` deletes the row it collides with without firing the DELETE
    trigger: an insert over an existing event is refused too, on both backends."""
    sessions = sessionmaker(engine)
    with sessions.begin() as session:
        session.add(AuditEvent(at=NOW, actor_id="U1", action="credit.granted", details={}))
    replace = (
        "INSERT OR REPLACE INTO audit_events (id, at, actor_id, action, details) "
        "SELECT id, at, 'U2', 'credit.declined', details FROM audit_events"
        if engine.dialect.name == "sqlite"
        else "INSERT INTO audit_events (id, at, actor_id, action, details) "
        "SELECT id, at, 'U2', 'credit.declined', details FROM audit_events "
        "ON CONFLICT (id) DO UPDATE SET actor_id = 'U2'"
    )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(replace))
    with sessions() as session:
        assert session.scalars(select(AuditEvent.action)).all() == ["credit.granted"]


def test_outbox_keys_are_unique(sessions: sessionmaker[Session]) -> None:
    """The idempotency key is enforced by the database."""

    def message() -> OutboxMessage:
        return OutboxMessage(
            key="INT-1/gtr/75",
            operation=OutboxOperation.POST,
            channel_id="C1",
            text="hi",
            status=OutboxStatus.PENDING,
            created_at=NOW,
            next_attempt_at=NOW,
        )

    with sessions.begin() as session:
        session.add(message())
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(message())


def test_foreign_keys_are_enforced(sessions: sessionmaker[Session]) -> None:
    """A server of an unknown client is refused (SQLite too: foreign_keys is on)."""
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(Server(id="s", client_id="nobody", host="h", added_at=NOW))


def test_catalog_sync_keeps_removed_servers_as_history(sessions: sessionmaker[Session]) -> None:
    """Removing a server from the catalog marks it removed; adding it back restores it."""
    catalog = load_catalog(CATALOG)
    with sessions.begin() as session:
        first = sync_catalog(session, catalog, now=NOW)
    assert "server acme-web-01" in first.added
    smaller = catalog.model_copy(update={"servers": catalog.servers[1:]})
    later = NOW + timedelta(days=1)
    with sessions.begin() as session:
        report = sync_catalog(session, smaller, now=later)
    assert report.removed == ["server acme-web-01"]
    with sessions() as session:
        server = session.get_one(Server, "acme-web-01")
        assert server.removed_at == later
    with sessions.begin() as session:
        again = sync_catalog(session, catalog, now=later)
    assert again.restored == ["server acme-web-01"]
    with sessions() as session:
        assert session.get_one(Server, "acme-web-01").removed_at is None
        assert session.get_one(Client, "acme").monthly_fee == 120.0


def test_migrations_match_the_models(database_url: URL) -> None:
    """A migrated database has exactly the models' schema: no forgotten migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_the_allowance_count_reads_its_partial_index_of_the_tickets_that_count(
    database_url: URL,
) -> None:
    """The partial index holds the tickets the allowance counts (in scope, a software kind),
    as the migrations made it, and the count states its condition, so the planner uses it."""
    from bot.services.tickets import _ALLOWANCE_USED
    from bot.sla import TicketKind, counts_towards_allowance

    counted = [kind.value for kind in TicketKind if counts_towards_allowance(kind)]
    kinds = ", ".join(f"'{kind}'" for kind in counted)
    assert f"scope = '{Scope.IN.value}' AND kind IN ({kinds})" == ALLOWANCE_COUNTED
    engine = make_engine(database_url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            sql = "SELECT sql FROM sqlite_master WHERE name = 'ix_tickets_allowance'"
            assert connection.exec_driver_sql(sql).scalar_one().endswith(ALLOWANCE_COUNTED)
            sent = []  # the count's SQL and parameters as SQLite gets them, to explain

            @event.listens_for(connection, "before_cursor_execute")
            def keep(*args: Any) -> None:
                sent.append(args[2:4])

            month = {"client_id": "acme", "start": NOW, "end": NOW + timedelta(days=30)}
            connection.execute(_ALLOWANCE_USED, month).all()
            statement, parameters = sent[-1]
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            assert "COVERING INDEX ix_tickets_allowance " in plan[0][3]
        else:
            sql = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_tickets_allowance'"
            definition = connection.exec_driver_sql(sql).scalar_one()
            condition = definition.partition(" WHERE ")[2]
            assert "'in'" in condition
            assert sorted(re.findall(r"'(\w+)'::character varying", condition)) == sorted(counted)
    engine.dispose()


def test_only_passing_database_errors_make_a_message_wait() -> None:
    """Lost connections, a full pool, a busy SQLite wait for the next pass; a query the
    database refuses (a missing table) or any other error is the renderer's own."""
    lost = OperationalError("q", {}, Exception("closed"), connection_invalidated=True)
    assert is_transient(lost)
    assert is_transient(PoolTimeoutError("QueuePool limit reached"))
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorname = "SQLITE_BUSY"
    assert is_transient(OperationalError("q", {}, busy))
    missing = sqlite3.OperationalError("no such table: nope")
    missing.sqlite_errorname = "SQLITE_ERROR"
    assert not is_transient(OperationalError("q", {}, missing))
    assert not is_transient(ProgrammingError("q", {}, Exception("relation does not exist")))
    assert not is_transient(LookupError("no ticket 404"))


def test_a_begin_sqlite_refuses_is_raised_as_sqlalchemys_error(tmp_path: Path) -> None:
    """SQLite's BEGIN goes straight to the driver, outside SQLAlchemy's wrapping of its errors:
    "database is locked" (another program held the file past the busy timeout) came out as the
    bare sqlite3 error, which no `except SQLAlchemyError` saw and `is_transient` took for a
    fault, so a command was answered as a bug instead of "try again"."""
    path = tmp_path / "supportbot.db"
    engine = make_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _impatient)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:  # the file made, in WAL mode
            session.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        holder = sqlite3.connect(path, isolation_level=None)  # an `sqlite3` shell, say
        try:
            holder.execute("BEGIN EXCLUSIVE")
            with pytest.raises(OperationalError) as raised, sessions.begin() as session:
                session.execute(text("INSERT INTO counter VALUES (1)"))
        finally:
            holder.close()
        assert isinstance(raised.value.orig, sqlite3.OperationalError)
        assert raised.value.__cause__ is raised.value.orig
        assert "database is locked" in str(raised.value)
        assert is_transient(raised.value)
        with sessions.begin() as session:  # the lock let go, the next write goes in
            session.execute(text("INSERT INTO counter VALUES (2)"))
        with reading(sessions) as session:
            assert session.scalars(text("SELECT n FROM counter")).all() == [2]
    finally:
        engine.dispose()


def _impatient(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    """SQLite waits 50 ms for a lock instead of the 30 s the bot waits."""
    dbapi_connection.execute("PRAGMA busy_timeout=50")


def test_reads_keep_the_statements_postgresql_prepared(
    postgres: PostgresDatabases, postgres_template: str
) -> None:
    """Commands that only read (`show`, `list`, the sender's passes) leave the connection's
    prepared statements in place: psycopg forgets them at each ROLLBACK, which a read in a
    transaction ended with, so the server planned every statement again."""
    url = postgres.create(template=postgres_template)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        ticket_by_id = select(Ticket.description).where(Ticket.id == 1)
        for _ in range(6):  # psycopg prepares a statement at its fifth run on a connection
            with reading(sessions) as session:
                session.execute(ticket_by_id).all()
        with engine.connect() as connection:  # the pool's last returned: the same connection
            prepared = connection.execute(
                text("SELECT statement FROM pg_prepared_statements")
            ).scalars()
            assert any("FROM tickets" in statement for statement in prepared)
    finally:
        engine.dispose()
        postgres.drop(url)


def test_a_catalog_that_lost_a_calendar_the_clocks_run_on_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    """A calendar renamed or removed while stored clocks run on it would fail every deadline,
    report and audit of their tickets: the bot refuses to start on that catalog, naming it."""
    catalog = load_catalog(CATALOG)
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=NOW)
        ticket = Ticket(
            client_id="acme",
            server_id="acme-web-01",
            kind="secours",
            level="essentiel",
            description="site down",
            status=TicketStatus.OPEN,
            scope=Scope.IN,
            called_at=NOW,
            registered_at=NOW,
            opened_by="U01AAA",
            channel_id="C01ALERTS",
            revision=0,
        )
        ticket.clocks.append(
            Clock(kind="gti", budget_seconds=4 * 3600, calendar="business", started_at=NOW)
        )
        session.add(ticket)
    calendars = {"ouvrables": catalog.calendars["business"], "always": catalog.calendars["always"]}
    levels = {
        name: level.model_copy(update={"calendar": "ouvrables"})
        if level.calendar == "business"
        else level
        for name, level in catalog.levels.items()
    }
    renamed = catalog.model_copy(update={"calendars": calendars, "levels": levels})
    with pytest.raises(CatalogError) as caught, sessions.begin() as session:
        sync_catalog(session, renamed, now=NOW)
    (problem,) = caught.value.problems
    assert problem.path == "calendars.business"
    assert "the clocks of 1 ticket(s) run on it" in problem.message
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=NOW)  # the calendar back: accepted


def test_a_catalog_that_lost_a_level_of_the_clients_terms_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    """`essentiel` renamed `essential`: the reports of the months ACME was on `essentiel` read
    its allowance from the catalog, and would say "allowance 1/0". The sync refuses the
    catalog, naming the level; with the old level kept, the client moves to the new one."""
    catalog = load_catalog(CATALOG)
    with sessions.begin() as session:
        sync_catalog(session, catalog, now=NOW)
    essential = catalog.levels["essentiel"]
    clients = [
        client.model_copy(update={"level": "essential"}) if client.level == "essentiel" else client
        for client in catalog.clients
    ]
    renamed = catalog.model_copy(
        update={
            "levels": {
                **{name: level for name, level in catalog.levels.items() if name != "essentiel"},
                "essential": essential,
            },
            "clients": clients,
        }
    )
    with pytest.raises(CatalogError) as caught, sessions.begin() as session:
        sync_catalog(session, renamed, now=NOW + timedelta(days=1))
    (problem,) = caught.value.problems
    assert problem.path == "levels.essentiel"
    assert "1 client(s) had it" in problem.message
    both = renamed.model_copy(update={"levels": {**renamed.levels, "essentiel": essential}})
    with sessions.begin() as session:
        report = sync_catalog(session, both, now=NOW + timedelta(days=1))
    assert report.changed == ["client acme: essentiel 120 -> essential 120"]


def test_a_row_another_session_keeps_locked_is_waited_for_the_lock_wait_then_refused(
    postgres: PostgresDatabases, postgres_template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL waits for a lock as long as SQLite's busy timeout (1 s here), then refuses:
    a database thread is not held for as long as another program keeps a transaction open.
    The refusal is transient: the command says to try again."""
    monkeypatch.setattr(bot.storage.database, "LOCK_WAIT_SECONDS", 1)
    url = postgres.create(template=postgres_template)
    holder, waiter = make_engine(url), make_engine(url)
    try:
        with holder.begin() as held:
            held.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY)"))
            held.execute(text("INSERT INTO rows VALUES (1)"))
        with holder.begin() as held:
            held.execute(text("SELECT id FROM rows WHERE id = 1 FOR UPDATE"))
            with pytest.raises(OperationalError) as refused, waiter.begin() as waiting:
                waiting.execute(text("UPDATE rows SET id = 1 WHERE id = 1"))
        assert "lock timeout" in str(refused.value)
        assert is_transient(refused.value)
        with waiter.begin() as waiting:  # the connection's setting survived the rollback
            assert waiting.execute(text("SHOW lock_timeout")).scalar_one() == "1s"
    finally:
        holder.dispose()
        waiter.dispose()
        postgres.drop(url)


MIGRATION_LOCK = 0x5B07_0001  # env.py's (importing it runs it: spelled out)


def test_a_second_instance_waits_for_the_first_ones_migration_however_long(
    postgres: PostgresDatabases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Instances that start together take turns at the migration lock: the second waits for
    the first however long it migrates, not the connections' lock wait (1 s here)."""
    monkeypatch.setattr(bot.storage.database, "LOCK_WAIT_SECONDS", 1)
    url = postgres.create()
    first, second = make_engine(url), make_engine(url)
    migrating = threading.Event()
    done = threading.Event()

    def first_instance_migrating() -> None:  # a migration that takes longer than the lock wait
        with first.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            migrating.set()
            done.wait(5)  # 5 s > the 1 s lock wait

    holder = threading.Thread(target=first_instance_migrating)
    holder.start()
    try:
        assert migrating.wait(10)
        migrate(second)  # waits for the first's commit, then finds nothing to do
    finally:
        done.set()
        holder.join()
        first.dispose()
        second.dispose()
        postgres.drop(url)
