"""A message may be written at send time: `outbox_messages.render` names the renderer.

A ticket's root message shows the ticket as it is when the message goes out; writing it in
the transaction that changed the ticket cost that transaction (and, on SQLite, every writer
waiting for it) the rendering of a message that the next change often supersedes.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(
            sa.Column(
                "render",
                sa.String(64),
                nullable=True,
                comment="renderer:argument writing text and blocks at send time",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("render")
