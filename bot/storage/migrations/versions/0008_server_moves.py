"""A server passed from one client to another is recorded: reports of the months before the
move keep it under its first client.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_moves",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("from_client_id", sa.String(length=64), nullable=False),
        sa.Column("to_client_id", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_server_moves_server_id_servers")
        ),
        sa.ForeignKeyConstraint(
            ["from_client_id"],
            ["clients.id"],
            name=op.f("fk_server_moves_from_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["to_client_id"], ["clients.id"], name=op.f("fk_server_moves_to_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_moves")),
    )
    with op.batch_alter_table("server_moves") as batch_op:
        batch_op.create_index(batch_op.f("ix_server_moves_server_id"), ["server_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("server_moves") as batch_op:
        batch_op.drop_index(batch_op.f("ix_server_moves_server_id"))
    op.drop_table("server_moves")
