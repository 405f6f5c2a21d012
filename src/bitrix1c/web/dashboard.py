"""What the dashboard shows, read from the store: per-flow charts, last runs, backlog,
transfer times, open errors, incidents and connection health."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bitrix1c.state.store import Run, RunSummary, Store, aware, utcnow
from bitrix1c.state.tables import inbox, incidents, runs
from bitrix1c.web.charts import Bar

HealthProbe = Callable[[], Mapping[str, Any]]
"""Live numbers only the running service knows (request budget in use, token expiry)."""


@dataclass(frozen=True)
class FlowPanel:
    flow: str
    last_run: Run | None
    per_hour: list[Bar]
    per_day: list[Bar]


@dataclass(frozen=True)
class Overview:
    flows: list[FlowPanel]
    transfer_median: float | None
    transfer_p95: float | None
    inbox_backlog: int
    retry_backlog: int
    open_errors: int
    incidents: list[Mapping[str, Any]]
    last_contact: dict[str, datetime | None]
    live: Mapping[str, Any] = field(default_factory=dict)
    inbox_failed: int = 0


def _buckets(now: datetime, unit: str, count: int) -> list[datetime]:
    if unit == "hour":
        start = now.replace(minute=0, second=0, microsecond=0)
        return [start - timedelta(hours=i) for i in reversed(range(count))]
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [start - timedelta(days=i) for i in reversed(range(count))]


def _series(rows: list[Run], now: datetime, unit: str, count: int) -> list[Bar]:
    buckets = _buckets(now, unit, count)
    sums: dict[datetime, list[int]] = {b: [0, 0] for b in buckets}
    for run in rows:
        t = run.started_at
        key = (
            t.replace(minute=0, second=0, microsecond=0)
            if unit == "hour"
            else t.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        if key in sums:
            sums[key][0] += run.summary.created + run.summary.updated
            sums[key][1] += run.summary.failed
    fmt = "%H:00" if unit == "hour" else "%d.%m"
    return [Bar(b.strftime(fmt), *sums[b]) for b in buckets]


TRANSFER_WINDOW = timedelta(hours=24)


async def transfer_times(store: Store, since: datetime) -> list[float]:
    """Seconds from "changed in 1C" to "Bitrix24 write committed" of pushed changes.

    The start is the change's ``changed_at`` (converted from the base's local time when the
    inbox was drained), or ``received_at`` when 1C did not send one; only changes that
    reached Bitrix24 (``synced_at`` set) since ``since`` count.
    """
    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(inbox.c.changed_at, inbox.c.received_at, inbox.c.synced_at).where(
                    inbox.c.synced_at.is_not(None), inbox.c.synced_at >= since
                )
            )
        ).all()
    out: list[float] = []
    for changed, received, synced in rows:
        start, end = aware(changed) or aware(received), aware(synced)
        if start is not None and end is not None:
            out.append(max(0.0, (end - start).total_seconds()))
    return out


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of non-empty ``values``."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


async def overview(
    store: Store,
    flows: list[str],
    systems_of: Callable[[str], list[str]],
    live: HealthProbe | None = None,
) -> Overview:
    """Everything the overview page shows."""
    now = utcnow()
    since = now - timedelta(days=14)
    async with store.engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    sa.select(runs).where(runs.c.started_at >= since, runs.c.dry_run.is_(False))
                )
            )
            .mappings()
            .all()
        )
        recent = [Run.from_row(r) for r in rows]
        open_incidents = (
            (
                await conn.execute(
                    sa.select(incidents)
                    .where(incidents.c.status == "open")
                    .order_by(incidents.c.opened_at)
                )
            )
            .mappings()
            .all()
        )
    backlog = await store.backlog()
    durations = await transfer_times(store, now - TRANSFER_WINDOW)
    panels = []
    last_contact: dict[str, datetime | None] = {}
    for flow in flows:
        mine = [r for r in recent if r.flow == flow]
        latest = await store.recent_runs(limit=1, flow=flow)
        last = latest[0] if latest else None
        panels.append(
            FlowPanel(
                flow=flow,
                last_run=last,
                per_hour=_series(mine, now, "hour", 24),
                per_day=_series(mine, now, "day", 14),
            )
        )
        good = [r.finished_at for r in mine if r.status in ("ok", "partial") and r.finished_at]
        for system in systems_of(flow):
            best = max(good, default=None)
            seen = last_contact.get(system)
            last_contact[system] = max(filter(None, (seen, best)), default=None)
    return Overview(
        flows=panels,
        transfer_median=statistics.median(durations) if durations else None,
        transfer_p95=percentile(durations, 0.95) if durations else None,
        inbox_backlog=backlog.inbox_new,
        inbox_failed=backlog.inbox_failed,
        retry_backlog=backlog.errors("retrying"),
        open_errors=backlog.errors("open"),
        incidents=[dict(i) for i in open_incidents],
        last_contact=last_contact,
        live=dict(live()) if live else {},
    )


def summary_cells(summary: RunSummary) -> list[int]:
    return [summary.read, summary.created, summary.updated, summary.skipped, summary.failed]
