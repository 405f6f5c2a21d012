"""Inbox deduplication key: the same notification is stored once, whatever the process.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("dedup_key", sa.String(300), nullable=True))
    # NULL keys never collide: only sources that set a key are deduplicated.
    op.create_index("uq_inbox_source_dedup_key", "inbox", ["source", "dedup_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_inbox_source_dedup_key", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("dedup_key")
