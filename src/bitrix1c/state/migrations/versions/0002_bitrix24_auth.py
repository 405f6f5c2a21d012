"""OAuth tokens of Bitrix24 portals (bitrix24_auth).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bitrix24_auth",
        sa.Column("member_id", sa.String(64), primary_key=True),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("client_endpoint", sa.String(500), nullable=False),
        sa.Column("server_endpoint", sa.String(500), nullable=False),
        sa.Column("scope", sa.Text, nullable=True),
        sa.Column("application_token", sa.String(100), nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_index("ix_bitrix24_auth_domain", "bitrix24_auth", ["domain"])


def downgrade() -> None:
    op.drop_table("bitrix24_auth")
