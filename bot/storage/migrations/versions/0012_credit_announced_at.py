"""`credits.announced_at`: when the reminders sweep queued the breach's announcement. The sweep
looks for breaches still to announce through a partial index on the NULL ones, rather than
among the clocks stopped late in the last day: a breach the bot was down for more than a day
to see was never announced. Credits already announced (their thread post is in the outbox)
take that post's time; those whose breach is more than a day old otherwise, which the bot
before this revision would never announce, take their own last change's time (an upgrade
does not post a pile of old breaches in the alert channel); the others are announced at the
next sweep.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNANNOUNCED = sa.text("announced_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("credits", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "announced_at",
                UtcDateTime(),
                nullable=True,
                comment="when the reminders sweep queued the breach's announcement; "
                "NULL until then",
            )
        )
    # The announcement's key is `INT-<ticket>/<clock>/breach/thread` (bot/services/reminders.py).
    op.execute(
        "UPDATE credits SET announced_at = (SELECT outbox_messages.created_at "
        "FROM outbox_messages WHERE outbox_messages.key = "
        "'INT-' || CAST(credits.ticket_id AS VARCHAR(20)) || '/' || credits.clock "
        "|| '/breach/thread')"
    )
    credits = sa.table(
        "credits",
        sa.column("announced_at", UtcDateTime()),
        sa.column("breached_at", UtcDateTime()),
        sa.column("updated_at", UtcDateTime()),
    )
    old = sa.bindparam("old", datetime.now(UTC) - timedelta(days=1), type_=UtcDateTime())
    op.execute(
        credits.update()
        .where(credits.c.announced_at.is_(None), credits.c.breached_at < old)
        .values(announced_at=credits.c.updated_at)
    )
    op.create_index(
        "ix_credits_unannounced",
        "credits",
        ["ticket_id"],
        sqlite_where=UNANNOUNCED,
        postgresql_where=UNANNOUNCED,
    )


def downgrade() -> None:
    op.drop_index("ix_credits_unannounced", table_name="credits")
    with op.batch_alter_table("credits", schema=None) as batch_op:
        batch_op.drop_column("announced_at")
