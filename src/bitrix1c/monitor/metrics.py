"""Prometheus metrics: what was synced, what failed, what the two systems answered.

Counters are updated where things happen (runs, client requests); gauges that describe
the store (open errors, backlog, incidents) are read from it when ``/metrics`` is scraped.
"""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from bitrix1c.state.store import RunSummary, Store
from bitrix1c.state.tables import incidents

RECORDS = Counter(
    "bitrix1c_records_total", "Records processed by flows, by outcome.", ["flow", "outcome"]
)
RUNS = Counter("bitrix1c_runs_total", "Flow runs by final status.", ["flow", "status"])
RUN_SECONDS = Histogram(
    "bitrix1c_run_duration_seconds",
    "Duration of flow runs.",
    ["flow"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
REQUESTS = Counter(
    "bitrix1c_requests_total",
    "HTTP requests to Bitrix24 and 1C by system, method and status.",
    ["system", "method", "status"],
)
LIMITED = Counter(
    "bitrix1c_rate_limited_total",
    "Answers 503 QUERY_LIMIT_EXCEEDED / 429 OPERATION_TIME_LIMIT received.",
    ["system", "status"],
)
REQUEST_SECONDS = Histogram(
    "bitrix1c_request_duration_seconds",
    "Latency of requests to Bitrix24 and 1C.",
    ["system"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
TRANSFER_SECONDS = Histogram(
    "bitrix1c_transfer_seconds",
    "Pushed changes: from the change in 1C (changed_at, else received) to the Bitrix24 commit.",
    ["flow"],
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600),
)
OPEN_ERRORS = Gauge("bitrix1c_record_errors", "Record errors by status.", ["status"])
BACKLOG = Gauge(
    "bitrix1c_backlog",
    "Work waiting: inbox events (inbox), events given up on (inbox_failed), errors to retry.",
    ["kind"],
)
OPEN_INCIDENTS = Gauge("bitrix1c_open_incidents", "Incidents waiting for a person.")


def observe_run(flow: str, status: str, summary: RunSummary, seconds: float) -> None:
    """Count one finished run."""
    RUNS.labels(flow, status).inc()
    RUN_SECONDS.labels(flow).observe(seconds)
    for outcome, n in summary.as_dict().items():
        if n:
            RECORDS.labels(flow, outcome).inc(n)


def observe_transfer(flow: str, seconds: float) -> None:
    """One pushed change that reached Bitrix24 after ``seconds``."""
    TRANSFER_SECONDS.labels(flow).observe(seconds)


def observe_request(system: str, method: str, status: int | str, seconds: float) -> None:
    """Count one HTTP request (status "error" when no answer came)."""
    REQUESTS.labels(system, method, str(status)).inc()
    REQUEST_SECONDS.labels(system).observe(seconds)
    if status in (429, 503):
        LIMITED.labels(system, str(status)).inc()


async def refresh_from_store(store: Store) -> None:
    """Update the gauges that describe the store."""
    backlog = await store.backlog()
    async with store.engine.connect() as conn:
        open_incidents = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(incidents)
                .where(incidents.c.status == "open")
            )
        ).scalar_one()
    for status in ("open", "retrying", "resolved", "ignored"):
        OPEN_ERRORS.labels(status).set(backlog.errors(status))
    BACKLOG.labels("inbox").set(backlog.inbox_new)
    BACKLOG.labels("inbox_failed").set(backlog.inbox_failed)
    BACKLOG.labels("retry").set(backlog.errors("retrying"))
    OPEN_INCIDENTS.set(open_incidents)


async def exposition(store: Store) -> tuple[bytes, str]:
    """The text exposition format, fresh gauges included."""
    await refresh_from_store(store)
    return generate_latest(), CONTENT_TYPE_LATEST
