"""A client's level and fee are kept with the date they took effect: a change of contract
does not reprice the months before it. Each client's current terms are written as in force
since it was added.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_terms",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=64), nullable=False),
        sa.Column("monthly_fee", sa.Double(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_client_terms_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_terms")),
    )
    with op.batch_alter_table("client_terms") as batch_op:
        batch_op.create_index("ix_client_terms_client_since", ["client_id", "since"], unique=False)
    op.execute(
        "INSERT INTO client_terms (client_id, level, monthly_fee, since) "
        "SELECT id, level, monthly_fee, added_at FROM clients"
    )


def downgrade() -> None:
    with op.batch_alter_table("client_terms") as batch_op:
        batch_op.drop_index("ix_client_terms_client_since")
    op.drop_table("client_terms")
