"""Probe rollups: per probe and UTC hour, count, failures and latency percentiles.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "probe_rollups",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("hour_start", UtcDateTime(), nullable=False, comment="UTC, on the hour"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("p50_ms", sa.Double(), nullable=True, comment="median latency, ms"),
        sa.Column("p95_ms", sa.Double(), nullable=True, comment="95th percentile latency, ms"),
        sa.PrimaryKeyConstraint("key", "hour_start", name=op.f("pk_probe_rollups")),
    )


def downgrade() -> None:
    op.drop_table("probe_rollups")
