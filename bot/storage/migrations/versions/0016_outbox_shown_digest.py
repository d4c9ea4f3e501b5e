"""A posted message remembers what Slack shows of it: `outbox_messages.shown_digest`.

A ticket's root is edited after every change to the ticket, and an outage's or a storm's root
after each of theirs; many such edits say exactly what the message already says (a client
update changes no field of the root), and each was a chat.update for nothing. The root's row
now keeps a digest of the text and blocks of its last post or edit Slack accepted, cleared
while an edit's outcome is unknown; the sender settles an edit identical to it without a call
(status `coalesced`, `last_error` "unchanged").

Rows already there have none: the next edit of each message goes, and sets it.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(
            sa.Column(
                "shown_digest",
                sa.String(64),
                nullable=True,
                comment="sha256 of the text and blocks Slack shows; NULL when unknown",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("shown_digest")
