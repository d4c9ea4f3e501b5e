"""An outbox row names the sender whose call is in flight: `outbox_messages.claimed_by`.

A leader superseded while its calls were in flight (paused, its database connection stalled)
could finish them after the new leader had sent the same rows again: the attempt committed
before a call left the row due at once for any other sender. Now an attempt claims the row
for its sender until `next_attempt_at`, and the others leave it alone until then.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(
            sa.Column(
                "claimed_by",
                sa.String(200),
                nullable=True,
                comment="sender whose call is in flight, until next_attempt_at",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("claimed_by")
