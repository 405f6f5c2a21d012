"""The state store: links, runs, record errors, audit, cursors and inbox.

One async SQLAlchemy engine, SQLite (embedded) or PostgreSQL (distributed). The schema is
owned by Alembic; :meth:`Store.open` upgrades it to the newest revision before anything
else touches it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bitrix1c.errors import StoreError
from bitrix1c.state.tables import audit, cursors, inbox, links, record_errors, runs


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Link:
    """A 1C record and the Bitrix24 record it is synchronized with."""

    entity: str
    onec_base: str
    onec_ref: str
    b24_entity: str
    b24_id: int
    match_key: str
    b24_requisite_id: int | None = None
    onec_version: str | None = None
    to_b24_hash: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Link:
        return cls(
            entity=row["entity"],
            onec_base=row["onec_base"],
            onec_ref=row["onec_ref"],
            b24_entity=row["b24_entity"],
            b24_id=row["b24_id"],
            match_key=row["match_key"],
            b24_requisite_id=row["b24_requisite_id"],
            onec_version=row["onec_version"],
            to_b24_hash=row["to_b24_hash"],
        )


@dataclass(frozen=True)
class RunSummary:
    """Counters of one flow run."""

    read: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
        }


@dataclass(frozen=True)
class Run:
    id: int
    flow: str
    trigger: str
    dry_run: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    summary: RunSummary
    message: str | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Run:
        started = aware(row["started_at"])
        assert started is not None
        return cls(
            id=row["id"],
            flow=row["flow"],
            trigger=row["trigger"],
            dry_run=row["dry_run"],
            status=row["status"],
            started_at=started,
            finished_at=aware(row["finished_at"]),
            summary=RunSummary(
                read=row["read"],
                created=row["created"],
                updated=row["updated"],
                skipped=row["skipped"],
                failed=row["failed"],
            ),
            message=row["message"],
        )


@dataclass(frozen=True)
class RecordErrorEntry:
    """One open (or resolved) record error, as shown to people."""

    id: int
    flow: str
    record_key: str
    b24_key: str | None
    error_class: str
    message: str
    hint: str
    detail: str | None
    payload: Any
    status: str
    attempts: int
    first_seen: datetime
    last_seen: datetime
    edited_payload: dict[str, Any] | None = None
    edited_by: str | None = None
    edited_at: datetime | None = None
    next_retry_at: datetime | None = None  # the next try of a failing record (backoff)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> RecordErrorEntry:
        first, last = aware(row["first_seen"]), aware(row["last_seen"])
        assert first is not None and last is not None
        edited = row.get("edited_payload")
        return cls(
            id=row["id"],
            flow=row["flow"],
            record_key=row["record_key"],
            b24_key=row["b24_key"],
            error_class=row["error_class"],
            message=row["message"],
            hint=row["hint"],
            detail=row["detail"],
            payload=row["payload"],
            status=row["status"],
            attempts=row["attempts"],
            first_seen=first,
            last_seen=last,
            edited_payload=edited if isinstance(edited, dict) else None,
            edited_by=row.get("edited_by"),
            edited_at=aware(row.get("edited_at")),
            next_retry_at=aware(row.get("next_retry_at")),
        )

    @property
    def editable(self) -> bool:
        """Whether the payload is a source record a person may correct (it has a Ref_Key)."""
        return isinstance(self.payload, dict) and bool(self.payload.get("Ref_Key"))

    @property
    def effective_payload(self) -> Any:
        """What the flow uses for this record: the correction if there is one."""
        return self.edited_payload if self.edited_payload is not None else self.payload

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (API, CLI)."""
        return {
            "id": self.id,
            "flow": self.flow,
            "record": self.record_key,
            "bitrix24": self.b24_key,
            "class": self.error_class,
            "message": self.message,
            "hint": self.hint,
            "detail": self.detail,
            "payload": self.payload,
            "status": self.status,
            "attempts": self.attempts,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "edited_payload": self.edited_payload,
            "edited_by": self.edited_by,
            "edited_at": self.edited_at.isoformat() if self.edited_at else None,
            "next_retry_at": self.next_retry_at.isoformat() if self.next_retry_at else None,
        }


class PayloadRejected(ValueError):
    """An edited payload cannot replace the stored one; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


# The keys that tie a payload to one version of one source record: an edit may not change them.
IDENTITY_KEYS = ("Ref_Key", "DataVersion")


def payload_changes(before: Any, after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Keys whose value differs between two payloads, as (key, before, after), sorted.

    A key missing on one side shows as ``None`` there.
    """
    old: Mapping[str, Any] = before if isinstance(before, Mapping) else {}
    return [
        (key, old.get(key), after.get(key))
        for key in sorted(set(old) | set(after))
        if old.get(key) != after.get(key) or (key in old) != (key in after)
    ]


@dataclass(frozen=True)
class Backlog:
    """Work waiting: record errors by status and inbox events not processed yet."""

    errors_by_status: Mapping[str, int]
    inbox_new: int
    inbox_failed: int = 0

    def errors(self, status: str) -> int:
        return self.errors_by_status.get(status, 0)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("bitrix1c.state") / "migrations"))
    config.attributes["connection"] = connection
    return config


class Store:
    """Access to the state store. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to ``url`` and bring the schema to the newest revision."""
        kwargs: dict[str, Any] = {}
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": 30}
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        store = cls(engine)
        if migrate:
            try:
                await store.migrate()
            except (OSError, sa.exc.DBAPIError) as exc:
                await engine.dispose()
                raise StoreError(
                    f"cannot open the state store: {exc.__class__.__name__}: {exc}",
                    url=engine.url.render_as_string(hide_password=True),
                ) from exc
        return store

    async def migrate(self) -> None:
        """Upgrade the schema to the newest Alembic revision."""
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    # --- links --------------------------------------------------------------------------

    async def links_for(self, entity: str, onec_base: str, refs: Iterable[str]) -> dict[str, Link]:
        """The links of these 1C records, by Ref_Key."""
        refs = list(refs)
        if not refs:
            return {}
        query = sa.select(links).where(
            links.c.entity == entity, links.c.onec_base == onec_base, links.c.onec_ref.in_(refs)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return {row["onec_ref"]: Link.from_row(row) for row in rows}

    async def links_to_b24(self, b24_entity: str, b24_ids: Iterable[int]) -> dict[int, Link]:
        """Links that already point at these Bitrix24 records."""
        ids = list(b24_ids)
        if not ids:
            return {}
        query = sa.select(links).where(links.c.b24_entity == b24_entity, links.c.b24_id.in_(ids))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return {row["b24_id"]: Link.from_row(row) for row in rows}

    async def count_links(self, entity: str) -> int:
        async with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(links).where(links.c.entity == entity)
            return int((await conn.execute(query)).scalar_one())

    async def links_by_match(self, entity: str) -> dict[str, int]:
        """How many links of ``entity`` each match key produced (created, inn_kpp, …)."""
        query = (
            sa.select(links.c.match_key, sa.func.count())
            .where(links.c.entity == entity)
            .group_by(links.c.match_key)
        )
        async with self.engine.connect() as conn:
            return {key: int(n) for key, n in (await conn.execute(query)).all()}

    @staticmethod
    async def save_link(conn: AsyncConnection, link: Link) -> None:
        """Insert or update ``link`` (keyed by entity, base and Ref_Key)."""
        now = utcnow()
        values = {
            "b24_entity": link.b24_entity,
            "b24_id": link.b24_id,
            "b24_requisite_id": link.b24_requisite_id,
            "match_key": link.match_key,
            "onec_version": link.onec_version,
            "to_b24_hash": link.to_b24_hash,
            "updated_at": now,
        }
        key = (
            (links.c.entity == link.entity)
            & (links.c.onec_base == link.onec_base)
            & (links.c.onec_ref == link.onec_ref)
        )
        result = await conn.execute(sa.update(links).where(key).values(**values))
        if result.rowcount == 0:
            await conn.execute(
                sa.insert(links).values(
                    entity=link.entity,
                    onec_base=link.onec_base,
                    onec_ref=link.onec_ref,
                    created_at=now,
                    **values,
                )
            )

    # --- runs ---------------------------------------------------------------------------

    async def start_run(self, flow: str, trigger: str, *, dry_run: bool = False) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa.insert(runs)
                .values(
                    flow=flow,
                    trigger=trigger,
                    dry_run=dry_run,
                    status="running",
                    started_at=utcnow(),
                    read=0,
                    created=0,
                    updated=0,
                    skipped=0,
                    failed=0,
                )
                .returning(runs.c.id)
            )
            return int(result.scalar_one())

    async def finish_run(
        self, run_id: int, summary: RunSummary, status: str, message: str | None = None
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, finished_at=utcnow(), message=message, **summary.as_dict())
            )

    async def recent_runs(self, limit: int = 20, flow: str | None = None) -> list[Run]:
        query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        if flow is not None:
            query = query.where(runs.c.flow == flow)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [Run.from_row(row) for row in rows]

    # --- record errors ---------------------------------------------------------------------

    async def record_error(
        self,
        *,
        flow: str,
        record_key: str,
        error_class: str,
        message: str,
        hint: str,
        detail: str | None = None,
        payload: Any = None,
        b24_key: str | None = None,
        run_id: int | None = None,
        retry: Callable[[int, datetime], datetime] | None = None,
    ) -> None:
        """Open an error for a record, or count one more occurrence of the same error.

        ``retry`` maps the number of failures in a row to the time of the next try
        (``next_retry_at``); a recurrence after the error was resolved counts from one.
        """
        now = utcnow()
        key = (
            (record_errors.c.flow == flow)
            & (record_errors.c.record_key == record_key)
            & (record_errors.c.error_class == error_class)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa.update(record_errors)
                .where(key)
                .values(
                    message=message,
                    hint=hint,
                    detail=detail,
                    payload=payload,
                    b24_key=b24_key,
                    # An error a person chose to ignore stays ignored when it recurs.
                    status=sa.case((record_errors.c.status == "ignored", "ignored"), else_="open"),
                    attempts=sa.case(
                        (record_errors.c.status == "resolved", 1),
                        else_=record_errors.c.attempts + 1,
                    ),
                    last_seen=now,
                    last_run_id=run_id,
                )
            )
            if result.rowcount == 0:
                await conn.execute(
                    sa.insert(record_errors).values(
                        flow=flow,
                        record_key=record_key,
                        error_class=error_class,
                        message=message,
                        hint=hint,
                        detail=detail,
                        payload=payload,
                        b24_key=b24_key,
                        status="open",
                        attempts=1,
                        first_seen=now,
                        last_seen=now,
                        last_run_id=run_id,
                    )
                )
            if retry is not None:
                attempts = (
                    await conn.execute(sa.select(record_errors.c.attempts).where(key))
                ).scalar_one()
                await conn.execute(
                    sa.update(record_errors)
                    .where(key)
                    .values(next_retry_at=retry(int(attempts), now))
                )

    async def retry_waits(
        self, flow: str, record_keys: Iterable[str]
    ) -> dict[str, tuple[datetime, str | None]]:
        """Records of ``flow`` failing and not due again yet: key → (next try, the
        ``DataVersion`` of the source record that failed). A person's retry makes one due."""
        keys = list(record_keys)
        if not keys:
            return {}
        now = utcnow()
        query = sa.select(
            record_errors.c.record_key, record_errors.c.next_retry_at, record_errors.c.payload
        ).where(
            record_errors.c.flow == flow,
            record_errors.c.record_key.in_(keys),
            record_errors.c.status == "open",
            record_errors.c.next_retry_at > now,
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        waits: dict[str, tuple[datetime, str | None]] = {}
        for key, due, payload in rows:
            version = payload.get("DataVersion") if isinstance(payload, dict) else None
            when = aware(due)
            assert when is not None
            waits[str(key)] = (when, None if version is None else str(version))
        return waits

    @staticmethod
    async def resolve_errors(conn: AsyncConnection, flow: str, record_keys: Iterable[str]) -> None:
        """Mark the open errors of records that have now synced as resolved."""
        keys = list(record_keys)
        if not keys:
            return
        await conn.execute(
            sa.update(record_errors)
            .where(
                record_errors.c.flow == flow,
                record_errors.c.record_key.in_(keys),
                record_errors.c.status.in_(("open", "retrying")),
            )
            .values(status="resolved", last_seen=utcnow())
        )

    async def errors(self, status: str | None = "open", limit: int = 100) -> list[RecordErrorEntry]:
        query = sa.select(record_errors).order_by(record_errors.c.last_seen.desc()).limit(limit)
        if status is not None:
            query = query.where(record_errors.c.status == status)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [RecordErrorEntry.from_row(row) for row in rows]

    async def error(self, error_id: int) -> RecordErrorEntry | None:
        """One record error by id."""
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(sa.select(record_errors).where(record_errors.c.id == error_id)))
                .mappings()
                .first()
            )
        return None if row is None else RecordErrorEntry.from_row(row)

    async def set_error_status(self, error_id: int, status: str) -> RecordErrorEntry | None:
        """Mark an error retrying (picked up by the next run), resolved or ignored."""
        if status not in ("open", "retrying", "resolved", "ignored"):
            raise ValueError(f"unknown error status {status!r}")
        values: dict[str, Any] = {"status": status}
        if status == "retrying":
            values["next_retry_at"] = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(record_errors).where(record_errors.c.id == error_id).values(**values)
            )
        return await self.error(error_id)

    async def edit_error_payload(
        self, error_id: int, payload: Any, *, by: str
    ) -> RecordErrorEntry | None:
        """Store a person's correction of a record error's source record and retry it.

        The correction (an *override*) is used by the flow instead of what the source
        returns for as long as the source keeps the same ``DataVersion``; see
        :meth:`payload_overrides`. The change is audited with before/after and ``by``.

        Returns:
            The error, now ``retrying``; ``None`` when there is no error ``error_id``.

        Raises:
            PayloadRejected: ``payload`` is not a JSON object, the error has no source
                record to edit, or ``Ref_Key`` / ``DataVersion`` differ from the stored ones.
        """
        if not isinstance(payload, dict):
            raise PayloadRejected("payload", "must be a JSON object (the source record)")
        async with self.engine.begin() as conn:
            row = (
                (await conn.execute(sa.select(record_errors).where(record_errors.c.id == error_id)))
                .mappings()
                .first()
            )
            if row is None:
                return None
            current = RecordErrorEntry.from_row(row)
            if not current.editable:
                raise PayloadRejected(
                    "payload", "this error carries no source record with a Ref_Key to edit"
                )
            for key in IDENTITY_KEYS:
                if payload.get(key) != current.payload.get(key):
                    raise PayloadRejected(
                        key,
                        f"must stay {current.payload.get(key)!r}: it names the record and the "
                        "version of it the correction is for",
                    )
            now = utcnow()
            await conn.execute(
                sa.update(record_errors)
                .where(record_errors.c.id == error_id)
                .values(
                    edited_payload=payload,
                    edited_by=by,
                    edited_at=now,
                    status="retrying",
                    next_retry_at=now,
                )
            )
            await conn.execute(
                sa.insert(audit).values(
                    run_id=None,
                    at=now,
                    system="bitrix1c",
                    entity="record_error",
                    record_id=str(error_id),
                    op="edit-payload",
                    before=current.effective_payload,
                    after=payload,
                    actor=by,
                )
            )
        return await self.error(error_id)

    async def payload_overrides(
        self, flow: str, record_keys: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """Corrected source records of these records, by record key (one query).

        An override outlives the error's resolution: once the corrected record has synced,
        the next run must still read the correction, not the unchanged wrong source record
        (which would fail again and reopen the error). It ends when the source's
        ``DataVersion`` changes (:meth:`drop_payload_overrides`). An ignored error's
        correction is not used: a person chose to leave that record alone.
        """
        keys = list(record_keys)
        if not keys:
            return {}
        query = (
            sa.select(record_errors.c.record_key, record_errors.c.edited_payload)
            .where(
                record_errors.c.flow == flow,
                record_errors.c.record_key.in_(keys),
                record_errors.c.edited_payload.is_not(None),
                record_errors.c.status != "ignored",
            )
            # The newest correction wins when one record has errors of several classes.
            .order_by(record_errors.c.edited_at)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {key: dict(payload) for key, payload in rows if isinstance(payload, dict)}

    async def drop_payload_overrides(self, flow: str, record_keys: Iterable[str]) -> None:
        """Forget the corrections of these records (their source changed: the live record
        wins). The correction stays in the audit log."""
        keys = list(record_keys)
        if not keys:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(record_errors)
                .where(
                    record_errors.c.flow == flow,
                    record_errors.c.record_key.in_(keys),
                    record_errors.c.edited_payload.is_not(None),
                )
                # SQL NULL, not a JSON null: "no correction" must not look like one.
                .values(edited_payload=sa.null())
            )

    async def backlog(self) -> Backlog:
        """Record errors by status and new inbox events (dashboard, metrics)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(record_errors.c.status, sa.func.count()).group_by(record_errors.c.status)
            )
            by_status = {str(status): int(n) for status, n in rows.all()}
            events = await conn.execute(
                sa.select(inbox.c.status, sa.func.count())
                .where(inbox.c.status.in_(("new", "failed")))
                .group_by(inbox.c.status)
            )
            inbox_by_status = {str(status): int(n) for status, n in events.all()}
        return Backlog(
            errors_by_status=by_status,
            inbox_new=inbox_by_status.get("new", 0),
            inbox_failed=inbox_by_status.get("failed", 0),
        )

    # --- audit --------------------------------------------------------------------------

    @staticmethod
    async def audit_writes(
        conn: AsyncConnection,
        *,
        run_id: int | None,
        system: str,
        entity: str,
        writes: Iterable[tuple[str, str, Any, Any]],
    ) -> None:
        """Record writes as (record id, op, before, after)."""
        now = utcnow()
        rows = [
            {
                "run_id": run_id,
                "at": now,
                "system": system,
                "entity": entity,
                "record_id": record_id,
                "op": op,
                "before": before,
                "after": after,
            }
            for record_id, op, before, after in writes
        ]
        if rows:
            await conn.execute(sa.insert(audit), rows)

    async def audit_count(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(sa.select(sa.func.count()).select_from(audit))).scalar_one()
            )

    # --- cursors ------------------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(cursors.c.value).where(cursors.c.name == name))
            ).first()
        return None if row is None else str(row[0])

    @staticmethod
    async def set_cursor(conn: AsyncConnection, name: str, value: str) -> None:
        now = utcnow()
        result = await conn.execute(
            sa.update(cursors).where(cursors.c.name == name).values(value=value, updated_at=now)
        )
        if result.rowcount == 0:
            await conn.execute(sa.insert(cursors).values(name=name, value=value, updated_at=now))
