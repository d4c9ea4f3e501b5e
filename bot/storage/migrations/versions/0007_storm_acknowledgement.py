"""A storm can be acknowledged as a whole, from its grouped root: who and when.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_storms") as batch:
        batch.add_column(sa.Column("acknowledged_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_storms") as batch:
        batch.drop_column("acknowledged_at")
        batch.drop_column("acknowledged_by")
