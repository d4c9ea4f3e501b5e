"""An index on `probe_rollups.hour_start`: the retention job (`SUPPORTBOT_PROBE_HISTORY_DAYS`)
deletes the oldest hours in small batches, each found through it rather than by a scan of a
table that grows by 24,000 rows a day per 1,000 probes, under the writers' lock on SQLite.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_probe_rollups_hour_start", "probe_rollups", ["hour_start"])


def downgrade() -> None:
    op.drop_index("ix_probe_rollups_hour_start", table_name="probe_rollups")
