"""Index tickets by client and call time: allowance counts and monthly reports read by month.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tickets_client_called", "tickets", ["client_id", "called_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_client_called", table_name="tickets")
