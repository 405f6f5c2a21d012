"""Draining the inbox: changes 1C pushed are read from 1C and handed to their flow.

``/hooks/1c/<base>`` only stores *which* object changed (``onec/push.py``). The drain takes
the ``new`` rows of each base whose object type a flow consumes, reads those objects from
1C by ``Ref_Key`` (one ``$filter`` with ``or`` per group) and runs the flow's ``sync_rows``
on them as one logged run (trigger ``push``). Then each row is

* ``done`` — handled (``synced_at`` is set when the run wrote the record to Bitrix24; a
  note in ``error`` when the object no longer exists in 1C or its record failed: the record
  error is in the error log);
* retried later (``next_attempt_at``) when the run failed (1C or Bitrix24 down), and
  ``failed`` after the last try, with a record error so a person sees it;
* ``skipped`` when no flow consumes its object type (or its base): the backlog counts
  only work that will be done.

Rows of other sources (Bitrix24 events) are left alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog

from bitrix1c.errors import Bitrix1cError
from bitrix1c.monitor import metrics
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.query import Query, guid
from bitrix1c.state.store import RunSummary, Store, aware, utcnow
from bitrix1c.state.tables import audit, inbox, links, record_errors, runs
from bitrix1c.sync.engine import RunContext, RunWatcher, run_flow

log = structlog.get_logger(__name__)

SyncRows = Callable[[RunContext, Sequence[Mapping[str, Any]]], Awaitable[None]]
"""A flow's entry point for a slice of 1C rows (``CounterpartySync.sync_rows``)."""

# A scheduled run of the same flow may be going on (another task or process): the push run
# waits for it, so the two never match and create the same record at the same time. A row
# "running" for longer than this is taken for a crashed process and no longer waited for.
RUNNING_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class InboxRetry:
    """When to try a failed change again: exponential backoff, then give up.

    Pure: given the number of the try that failed, it answers with a time or ``None``.
    """

    attempts: int = 6  # tries in all, the first included
    first_seconds: float = 30.0
    max_seconds: float = 1800.0

    def next_try(self, attempt: int, now: datetime) -> datetime | None:
        """When to try again after try number ``attempt`` (1-based) failed; None: give up."""
        if attempt >= self.attempts:
            return None
        wait = min(self.max_seconds, self.first_seconds * 2.0 ** (attempt - 1))
        return now + timedelta(seconds=wait)


@dataclass(frozen=True)
class PushConsumer:
    """A flow that consumes the pushed changes of one object type of one 1C base."""

    base: str
    object_type: str  # the OData entity set, e.g. Catalog_Контрагенты
    flow: str
    onec: ODataClient
    select: Sequence[str]
    sync_rows: Callable[[], SyncRows]  # a fresh flow instance per run
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))

    @property
    def source(self) -> str:
        return f"1c:{self.base}"

    def record_key(self, ref: str) -> str:
        """How the flow names the record in its errors (``<base>:<Ref_Key>``)."""
        return f"{self.base}:{ref}"


@dataclass(frozen=True)
class InboxItem:
    """One stored change."""

    id: int
    ref: str
    attempts: int
    received_at: datetime
    changed_at_local: str | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> InboxItem:
        received = aware(row["received_at"])
        assert received is not None
        payload = row["payload"] if isinstance(row["payload"], dict) else {}
        changed = payload.get("changed_at")
        return cls(
            id=row["id"],
            ref=str(row["object_id"]).lower(),
            attempts=row["attempts"],
            received_at=received,
            changed_at_local=changed if isinstance(changed, str) else None,
        )

    def changed_at(self, zone: ZoneInfo) -> datetime | None:
        """When 1C saw the change, in UTC (1C sends the base's local time without a zone)."""
        if not self.changed_at_local:
            return None
        try:
            moment = datetime.fromisoformat(self.changed_at_local)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)


@dataclass
class DrainResult:
    """What one drain did, by outcome of the inbox rows."""

    done: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    missing: int = 0
    runs: list[int] = field(default_factory=list)


class _FailuresOnly:
    """Hands run failures to the alerting side, but not the ends of push runs: a run of a
    handful of records must not clear the error-rate incident a full run opened."""

    def __init__(self, watch: RunWatcher) -> None:
        self.watch = watch

    async def failed(self, flow: str, error: Bitrix1cError) -> None:
        await self.watch.failed(flow, error)

    async def finished(self, flow: str, summary: RunSummary) -> None:
        pass


class InboxDrain:
    """Drains the inbox for the given consumers; call :meth:`drain` periodically."""

    def __init__(
        self,
        store: Store,
        consumers: Sequence[PushConsumer],
        *,
        retry: InboxRetry | None = None,
        batch: int = 50,
        watch: RunWatcher | None = None,
        max_groups: int = 20,
    ) -> None:
        self.store = store
        self.consumers = list(consumers)
        self.retry = retry or InboxRetry()
        self.batch = batch
        self.watch = _FailuresOnly(watch) if watch is not None else None
        self.max_groups = max_groups  # bounds one drain; the rest waits for the next tick

    async def drain(self) -> DrainResult:
        """Process what is due now: skip what no flow consumes, run the rest in groups."""
        result = DrainResult()
        result.skipped = await self._skip_unconsumed()
        for consumer in self.consumers:
            if await self._flow_busy(consumer.flow):
                log.info("inbox.wait_for_run", flow=consumer.flow)
                continue
            for _ in range(self.max_groups):
                items = await self._due(consumer)
                if not items:
                    break
                if not await self._process(consumer, items, result):
                    break  # the source or target is failing: the others wait for their turn
        if result.done or result.retried or result.failed or result.skipped:
            log.info(
                "inbox.drained",
                done=result.done,
                missing=result.missing,
                retried=result.retried,
                failed=result.failed,
                skipped=result.skipped,
            )
        return result

    # --- selection -------------------------------------------------------------------------

    async def _skip_unconsumed(self) -> int:
        consumed = [
            (inbox.c.source == c.source) & (inbox.c.object_type == c.object_type)
            for c in self.consumers
        ]
        condition = (inbox.c.status == "new") & inbox.c.source.like("1c:%")
        if consumed:
            condition &= ~sa.or_(*consumed)
        async with self.store.transaction() as conn:
            result = await conn.execute(
                sa.update(inbox)
                .where(condition)
                .values(
                    status="skipped",
                    processed_at=utcnow(),
                    error="no enabled flow consumes this object type from this base",
                )
            )
        return int(result.rowcount)

    async def _flow_busy(self, flow: str) -> bool:
        query = (
            sa.select(sa.func.count())
            .select_from(runs)
            .where(
                runs.c.flow == flow,
                runs.c.status == "running",
                runs.c.dry_run.is_(False),
                runs.c.started_at >= utcnow() - RUNNING_GRACE,
            )
        )
        async with self.store.engine.connect() as conn:
            return bool((await conn.execute(query)).scalar_one())

    async def _due(self, consumer: PushConsumer) -> list[InboxItem]:
        now = utcnow()
        query = (
            sa.select(inbox)
            .where(
                inbox.c.status == "new",
                inbox.c.source == consumer.source,
                inbox.c.object_type == consumer.object_type,
                sa.or_(inbox.c.next_attempt_at.is_(None), inbox.c.next_attempt_at <= now),
            )
            .order_by(inbox.c.id)
            .limit(self.batch)
        )
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [InboxItem.from_row(row) for row in rows]

    # --- one group ---------------------------------------------------------------------------

    async def _process(
        self, consumer: PushConsumer, items: list[InboxItem], result: DrainResult
    ) -> bool:
        """Run one group; False when the run failed (the rows are retried later)."""
        refs = list(dict.fromkeys(item.ref for item in items))  # one read per object
        found: dict[str, Mapping[str, Any]] = {}
        run_ids: list[int] = []

        async def body(ctx: RunContext) -> None:
            run_ids.append(ctx.run_id)
            condition = " or ".join(f"Ref_Key eq {guid(ref)}" for ref in refs)
            query = Query(select=tuple(consumer.select), filter=condition, top=len(refs))
            rows = await consumer.onec.query(consumer.object_type, query)
            found.update({str(row["Ref_Key"]).lower(): row for row in rows})
            if rows:
                await consumer.sync_rows()(ctx, rows)

        try:
            await run_flow(self.store, consumer.flow, body, trigger="push", watch=self.watch)
        except Exception as exc:  # whatever stopped the run (1C, Bitrix24, a bug), rows wait
            await self._failed(consumer, items, exc, result)
            return False
        run_id = run_ids[0]
        result.runs.append(run_id)
        written = await self._written(consumer, run_id, refs)
        failed = await self._failed_records(consumer, run_id, refs)
        now = utcnow()
        async with self.store.transaction() as conn:
            for item in items:
                values: dict[str, Any] = {
                    "status": "done",
                    "attempts": item.attempts + 1,
                    "processed_at": now,
                    "next_attempt_at": None,
                    "changed_at": item.changed_at(consumer.zone),
                    "synced_at": written.get(item.ref),
                    "error": None,
                }
                if item.ref not in found:
                    values["error"] = "the object no longer exists in 1C"
                    result.missing += 1
                elif item.ref in failed:
                    values["error"] = "the record failed: see the error log"
                await conn.execute(sa.update(inbox).where(inbox.c.id == item.id).values(**values))
                result.done += 1
                synced = written.get(item.ref)
                if synced is not None:
                    start = values["changed_at"] or item.received_at
                    metrics.observe_transfer(
                        consumer.flow, max(0.0, (synced - start).total_seconds())
                    )
        return True

    async def _written(
        self, consumer: PushConsumer, run_id: int, refs: Sequence[str]
    ) -> dict[str, datetime]:
        """When the run committed its Bitrix24 write of each record (from the audit log)."""
        async with self.store.engine.connect() as conn:
            audited = (
                await conn.execute(
                    sa.select(audit.c.entity, audit.c.record_id, audit.c.at).where(
                        audit.c.run_id == run_id, audit.c.system == "bitrix24"
                    )
                )
            ).all()
            if not audited:
                return {}
            linked = (
                await conn.execute(
                    sa.select(links.c.onec_ref, links.c.b24_entity, links.c.b24_id).where(
                        links.c.onec_base == consumer.base, links.c.onec_ref.in_(refs)
                    )
                )
            ).all()
        at = {(entity, record_id): aware(moment) for entity, record_id, moment in audited}
        out: dict[str, datetime] = {}
        for ref, entity, b24_id in linked:
            moment = at.get((entity, str(b24_id)))
            if moment is not None:
                out[str(ref).lower()] = moment
        return out

    async def _failed_records(
        self, consumer: PushConsumer, run_id: int, refs: Sequence[str]
    ) -> set[str]:
        keys = {consumer.record_key(ref): ref for ref in refs}
        query = sa.select(record_errors.c.record_key).where(
            record_errors.c.flow == consumer.flow,
            record_errors.c.last_run_id == run_id,
            record_errors.c.record_key.in_(list(keys)),
        )
        async with self.store.engine.connect() as conn:
            return {keys[key] for (key,) in (await conn.execute(query)).all()}

    async def _failed(
        self,
        consumer: PushConsumer,
        items: list[InboxItem],
        error: Exception,
        result: DrainResult,
    ) -> None:
        now = utcnow()
        message = f"{type(error).__name__}: {error}"
        log.warning("inbox.group_failed", flow=consumer.flow, rows=len(items), error=message)
        given_up: list[InboxItem] = []
        async with self.store.transaction() as conn:
            for item in items:
                attempt = item.attempts + 1
                retry_at = self.retry.next_try(attempt, now)
                values: dict[str, Any] = {"attempts": attempt, "error": message}
                if retry_at is None:
                    values.update(status="failed", processed_at=now, next_attempt_at=None)
                    given_up.append(item)
                    result.failed += 1
                else:
                    values["next_attempt_at"] = retry_at
                    result.retried += 1
                await conn.execute(sa.update(inbox).where(inbox.c.id == item.id).values(**values))
        for item in given_up:
            # In the error log too: a later run that syncs the record resolves it.
            await self.store.record_error(
                flow=consumer.flow,
                record_key=consumer.record_key(item.ref),
                error_class="PushNotProcessed",
                message=f"A change 1C pushed (inbox #{item.id}) could not be processed after "
                f"{self.retry.attempts} tries: {message}",
                hint="Check the connections on the dashboard. The record is synced again by the "
                "next full run of the flow; `bitrix1c errors retry` marks it for it.",
                detail=message,
            )
