"""Incidents for alerting: one alert when opened, one when resolved.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(150), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("hint", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("opened_at", Timestamp, nullable=False),
        sa.Column("last_seen", Timestamp, nullable=False),
        sa.Column("notified", sa.Boolean, nullable=False),
        sa.Column("resolved_at", Timestamp, nullable=True),
    )
    op.create_index("ix_incidents_key_status", "incidents", ["key", "status"])


def downgrade() -> None:
    op.drop_table("incidents")
