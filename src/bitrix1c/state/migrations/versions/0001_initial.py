"""Initial tables: links, cursors, runs, record_errors, inbox, audit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("onec_base", sa.String(100), nullable=False),
        sa.Column("onec_ref", sa.String(36), nullable=False),
        sa.Column("b24_entity", sa.String(40), nullable=False),
        sa.Column("b24_id", sa.Integer, nullable=False),
        sa.Column("b24_requisite_id", sa.Integer, nullable=True),
        sa.Column("match_key", sa.String(200), nullable=False),
        sa.Column("onec_version", sa.String(40), nullable=True),
        sa.Column("to_b24_hash", sa.String(64), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.UniqueConstraint(
            "entity", "onec_base", "onec_ref", name="uq_links_entity_onec_base_onec_ref"
        ),
    )
    op.create_index("ix_links_b24_entity_b24_id", "links", ["b24_entity", "b24_id"])
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(60), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.Column("read", sa.Integer, nullable=False),
        sa.Column("created", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=True),
    )
    op.create_index("ix_runs_flow_started_at", "runs", ["flow", "started_at"])
    op.create_table(
        "record_errors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(60), nullable=False),
        sa.Column("record_key", sa.String(200), nullable=False),
        sa.Column("b24_key", sa.String(100), nullable=True),
        sa.Column("error_class", sa.String(100), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("hint", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("payload", Json, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("first_seen", Timestamp, nullable=False),
        sa.Column("last_seen", Timestamp, nullable=False),
        sa.Column("next_retry_at", Timestamp, nullable=True),
        sa.Column("last_run_id", sa.Integer, nullable=True),
        sa.UniqueConstraint(
            "flow", "record_key", "error_class", name="uq_record_errors_flow_record_key_error_class"
        ),
    )
    op.create_index("ix_record_errors_status_last_seen", "record_errors", ["status", "last_seen"])
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("object_type", sa.String(100), nullable=True),
        sa.Column("object_id", sa.String(100), nullable=True),
        sa.Column("payload", Json, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("processed_at", Timestamp, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_inbox_status_received_at", "inbox", ["status", "received_at"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(60), nullable=False),
        sa.Column("record_id", sa.String(100), nullable=False),
        sa.Column("op", sa.String(20), nullable=False),
        sa.Column("before", Json, nullable=True),
        sa.Column("after", Json, nullable=True),
    )
    op.create_index("ix_audit_entity_record_id", "audit", ["entity", "record_id"])


def downgrade() -> None:
    for table in ("audit", "inbox", "record_errors", "runs", "cursors", "links"):
        op.drop_table(table)
