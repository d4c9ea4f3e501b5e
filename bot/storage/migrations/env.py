"""Alembic environment: runs against the engine the caller put in `config.attributes`."""

from alembic import context
from sqlalchemy import text

from bot.storage.models import Base

# Key of the PostgreSQL advisory lock that migrations take (any constant unique to this app).
MIGRATION_LOCK = 0x5B07_0001

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Instances that start together on one database take turns: the second reads the
            # revision once the first committed, instead of creating the same tables and failing.
            # However long the first migrates: the connection's lock wait (LOCK_WAIT_SECONDS,
            # for the commands) is lifted for this transaction, its DDL included.
            connection.execute(text("SET LOCAL lock_timeout = 0"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()
    connection.commit()
