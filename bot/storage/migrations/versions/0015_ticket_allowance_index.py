"""A partial index of the tickets that use up a client's allowance (in scope, of a software
kind) by client and call time: the allowance count (`/sla status`, `open`) reads only them,
from the index alone. Through `ix_tickets_client_called` it read every ticket of the client's
month, and each one's row for its scope and kind (about 430 in bench_ack.py's store), and
PostgreSQL every ticket of the month, of all clients, through `ix_tickets_called_at`. The
condition is `models.ALLOWANCE_COUNTED` as it was written.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = sa.text("scope = 'in' AND kind IN ('secours', 'maintenance', 'utilisation')")


def upgrade() -> None:
    op.create_index(
        "ix_tickets_allowance",
        "tickets",
        ["client_id", "called_at", "kind", "scope"],
        sqlite_where=COUNTED,
        postgresql_where=COUNTED,
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_allowance", table_name="tickets")
