"""An outbox row may say what it depends on: `outbox_messages.depends_on`.

A reminder was sent however long it had waited for its turn (a channel's pace, a retry's
backoff, the bot down): a technician who resolved INT-42 was paged a minute later by "INT-42:
GTR at 75 %". A warning or a nudge now carries the ticket's state it was decided on; the
sender judges it again when its turn comes and drops it (status `dropped`, the reason in
`last_error`) once the ticket moved on. The new status needs no change: the column is a
string of 32 characters without a constraint.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(
            sa.Column(
                "depends_on",
                sa.JSON(),
                nullable=True,
                comment="what the message depends on: dropped, not sent, once it no longer holds",
            )
        )


def downgrade() -> None:
    # A dropped row takes the status the older code gives a message superseded before it was
    # sent (not `failed`: nothing went wrong, and /healthz would count it).
    op.execute("UPDATE outbox_messages SET status = 'coalesced' WHERE status = 'dropped'")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("depends_on")
