"""Review queue: ambiguous and look-alike matches waiting for a person's decision.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "review",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("onec_base", sa.String(100), nullable=False),
        sa.Column("onec_ref", sa.String(36), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("candidates", Json, nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("company_id", sa.Integer, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("decided_at", Timestamp, nullable=True),
        sa.UniqueConstraint(
            "entity", "onec_base", "onec_ref", name="uq_review_entity_onec_base_onec_ref"
        ),
    )
    op.create_index("ix_review_status", "review", ["status"])


def downgrade() -> None:
    op.drop_table("review")
