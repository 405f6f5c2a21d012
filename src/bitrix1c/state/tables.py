"""Tables of the state store (SQLAlchemy Core). Migrations in ``migrations/`` create them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)

# A record in 1C ↔ a record in Bitrix24.
links = sa.Table(
    "links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(40), nullable=False),  # counterparty, item, order …
    sa.Column("onec_base", sa.String(100), nullable=False),
    sa.Column("onec_ref", sa.String(36), nullable=False),  # 1C Ref_Key
    sa.Column("b24_entity", sa.String(40), nullable=False),  # company, contact, deal …
    sa.Column("b24_id", sa.Integer, nullable=False),
    sa.Column("b24_requisite_id", sa.Integer, nullable=True),
    sa.Column("match_key", sa.String(200), nullable=False),  # how the pair was found
    sa.Column("onec_version", sa.String(40), nullable=True),  # 1C DataVersion last synced
    sa.Column("to_b24_hash", sa.String(64), nullable=True),  # hash of the payload last written
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("entity", "onec_base", "onec_ref"),
    sa.Index(None, "b24_entity", "b24_id"),
)

# Where an incremental reader stopped.
cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

# One execution of one flow.
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(60), nullable=False),
    sa.Column("trigger", sa.String(40), nullable=False),  # schedule, cli, demo, event
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(20), nullable=False),  # running, ok, partial, failed
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp, nullable=True),
    sa.Column("read", sa.Integer, nullable=False, default=0),
    sa.Column("created", sa.Integer, nullable=False, default=0),
    sa.Column("updated", sa.Integer, nullable=False, default=0),
    sa.Column("skipped", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("message", sa.Text, nullable=True),
    sa.Index(None, "flow", "started_at"),
)

# A record that could not be synchronized; one row per (flow, record, error class).
record_errors = sa.Table(
    "record_errors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(60), nullable=False),
    sa.Column("record_key", sa.String(200), nullable=False),  # e.g. "trade:<Ref_Key>"
    sa.Column("b24_key", sa.String(100), nullable=True),  # e.g. "company:123"
    sa.Column("error_class", sa.String(100), nullable=False),
    sa.Column("message", sa.Text, nullable=False),  # for people: what happened
    sa.Column("hint", sa.Text, nullable=False),  # for people: what to do
    sa.Column("detail", sa.Text, nullable=True),  # technical
    sa.Column("payload", Json, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),  # open, retrying, resolved, ignored
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("first_seen", Timestamp, nullable=False),
    sa.Column("last_seen", Timestamp, nullable=False),
    sa.Column("next_retry_at", Timestamp, nullable=True),
    sa.Column("last_run_id", sa.Integer, nullable=True),
    # A person's correction of the source record (payload), used instead of what the source
    # returns while the source's DataVersion is the one in the edited payload.
    sa.Column("edited_payload", Json, nullable=True),
    sa.Column("edited_by", sa.String(100), nullable=True),
    sa.Column("edited_at", Timestamp, nullable=True),
    sa.UniqueConstraint("flow", "record_key", "error_class"),
    sa.Index(None, "status", "last_seen"),
)

# Events received (Bitrix24 events, 1C push), persisted before the 200 is sent.
inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(100), nullable=False),  # bitrix24 | 1c:<base>
    sa.Column("event", sa.String(100), nullable=False),
    sa.Column("object_type", sa.String(100), nullable=True),
    sa.Column("object_id", sa.String(100), nullable=True),
    sa.Column("payload", Json, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # new, done, skipped, failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("processed_at", Timestamp, nullable=True),
    sa.Column("error", sa.Text, nullable=True),  # why it failed, was skipped, or a note
    sa.Column("next_attempt_at", Timestamp, nullable=True),  # a failed try is retried then
    sa.Column("changed_at", Timestamp, nullable=True),  # when the source saw the change (UTC)
    sa.Column("synced_at", Timestamp, nullable=True),  # when the target's write committed
    # Set by sources that may resend (1C push): the same key is stored once per source.
    sa.Column("dedup_key", sa.String(300), nullable=True),
    sa.Index(None, "status", "received_at"),
    sa.Index("uq_inbox_source_dedup_key", "source", "dedup_key", unique=True),
)

# Conditions that need a person; one alert when opened, one when resolved.
incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False),  # kind:subject
    sa.Column("kind", sa.String(40), nullable=False),  # auth, unreachable, drift, …
    sa.Column("subject", sa.String(150), nullable=False),  # bitrix24, 1c:trade, flow name
    sa.Column("status", sa.String(20), nullable=False),  # open, resolved
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("hint", sa.Text, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("opened_at", Timestamp, nullable=False),
    sa.Column("last_seen", Timestamp, nullable=False),
    sa.Column("notified", sa.Boolean, nullable=False),
    sa.Column("resolved_at", Timestamp, nullable=True),
    sa.Index(None, "key", "status"),
)

# Every write to either system.
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("system", sa.String(100), nullable=False),  # bitrix24 | 1c:<base>
    sa.Column("entity", sa.String(60), nullable=False),
    sa.Column("record_id", sa.String(100), nullable=False),
    sa.Column("op", sa.String(20), nullable=False),  # create, update, delete-mark
    sa.Column("before", Json, nullable=True),
    sa.Column("after", Json, nullable=True),
    sa.Column("actor", sa.String(100), nullable=True),  # a person's login; NULL for a flow
    sa.Index(None, "entity", "record_id"),
)

# OAuth tokens of each Bitrix24 portal the application is installed on (bitrix24/auth.py).
bitrix24_auth = sa.Table(
    "bitrix24_auth",
    metadata,
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
    sa.Index(None, "domain"),
)

# Matches a person has to decide: ambiguous keys and look-alike companies (state/review.py).
review = sa.Table(
    "review",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(40), nullable=False),  # counterparty
    sa.Column("onec_base", sa.String(100), nullable=False),
    sa.Column("onec_ref", sa.String(36), nullable=False),
    sa.Column("label", sa.Text, nullable=False),  # name and INN, as people recognize it
    sa.Column("reason", sa.String(20), nullable=False),  # ambiguous, suggested
    sa.Column("candidates", Json, nullable=False),  # [{company_id, score, reason, title}]
    sa.Column("payload_hash", sa.String(64), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),  # open, link, create, ignore, resolved
    sa.Column("company_id", sa.Integer, nullable=True),  # the decision "link to company X"
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("decided_at", Timestamp, nullable=True),
    sa.UniqueConstraint("entity", "onec_base", "onec_ref"),
    sa.Index(None, "status"),
)
