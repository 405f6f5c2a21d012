"""Edited record payloads (overrides), who changed what in the audit, inbox drain times.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("record_errors") as batch:
        batch.add_column(sa.Column("edited_payload", Json, nullable=True))
        batch.add_column(sa.Column("edited_by", sa.String(100), nullable=True))
        batch.add_column(sa.Column("edited_at", Timestamp, nullable=True))
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("actor", sa.String(100), nullable=True))
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("next_attempt_at", Timestamp, nullable=True))
        batch.add_column(sa.Column("changed_at", Timestamp, nullable=True))
        batch.add_column(sa.Column("synced_at", Timestamp, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("synced_at")
        batch.drop_column("changed_at")
        batch.drop_column("next_attempt_at")
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("actor")
    with op.batch_alter_table("record_errors") as batch:
        batch.drop_column("edited_at")
        batch.drop_column("edited_by")
        batch.drop_column("edited_payload")
