"""Running a flow: the run log, counters, progress and what happens on failure."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from bitrix1c.errors import Bitrix1cError, RecordError
from bitrix1c.monitor import metrics
from bitrix1c.state.store import RunSummary, Store
from bitrix1c.sync.retry import RECORD_RETRY

log = structlog.get_logger(__name__)

Progress = Callable[[int, int | None], None]
"""Called with (records done so far, total if known)."""


def _no_progress(done: int, total: int | None) -> None:
    pass


@dataclass
class RunContext:
    """What a flow needs while it runs: the store, its run id and counters."""

    store: Store
    flow: str
    run_id: int
    dry_run: bool = False
    progress: Progress = _no_progress
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("read", "created", "updated", "skipped", "failed"), 0
        )
    )

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def part(self) -> RunContext:
        """A context for a step of this run that keeps counters of its own."""
        return RunContext(self.store, self.flow, self.run_id, self.dry_run)

    def summary(self) -> RunSummary:
        return RunSummary(**self.counts)

    async def fail_record(
        self,
        record_key: str,
        error: RecordError,
        *,
        payload: Any = None,
        b24_key: str | None = None,
    ) -> None:
        """Log one record that cannot be synced and count it as failed."""
        self.count("failed")
        log.warning(
            "record.failed",
            flow=self.flow,
            record=record_key,
            error=type(error).__name__,
            message=error.message,
        )
        if self.dry_run:
            return
        await self.store.record_error(
            flow=self.flow,
            record_key=record_key,
            error_class=type(error).__name__,
            message=error.message,
            hint=error.hint,
            detail=str(error),
            payload=payload,
            b24_key=b24_key,
            run_id=self.run_id,
            retry=RECORD_RETRY.next_try,
        )


FlowBody = Callable[[RunContext], Awaitable[None]]


async def run_flow(
    store: Store,
    flow: str,
    body: FlowBody,
    *,
    trigger: str,
    dry_run: bool = False,
    progress: Progress | None = None,
    watch: RunWatcher | None = None,
) -> tuple[RunSummary, str, str | None]:
    """Run ``body`` as one logged run; return (summary, status, message).

    A failure that stops the flow is recorded on the run, handed to ``watch`` (alerts) and
    re-raised, so the caller (CLI, scheduler) can report it; record errors are already
    counted inside.
    """
    started = time.monotonic()
    run_id = await store.start_run(flow, trigger, dry_run=dry_run)
    ctx = RunContext(store, flow, run_id, dry_run=dry_run, progress=progress or _no_progress)
    log.info("run.started", flow=flow, run=run_id, trigger=trigger, dry_run=dry_run)
    try:
        await body(ctx)
    except Bitrix1cError as exc:
        summary = ctx.summary()
        await store.finish_run(run_id, summary, "failed", f"{type(exc).__name__}: {exc}")
        log.error("run.failed", flow=flow, run=run_id, error=type(exc).__name__, message=str(exc))
        metrics.observe_run(flow, "failed", summary, time.monotonic() - started)
        if watch is not None:
            await watch.failed(flow, exc)
        raise
    except BaseException as exc:
        await store.finish_run(run_id, ctx.summary(), "failed", f"{type(exc).__name__}: {exc}")
        raise
    summary = ctx.summary()
    status = "partial" if summary.failed else "ok"
    await store.finish_run(run_id, summary, status)
    log.info("run.finished", flow=flow, run=run_id, status=status, **summary.as_dict())
    if not dry_run:
        metrics.observe_run(flow, status, summary, time.monotonic() - started)
    if watch is not None:
        await watch.finished(flow, summary)
    return summary, status, None


class RunWatcher(Protocol):
    """Told about every run's end (the alerting side implements it)."""

    async def failed(self, flow: str, error: Bitrix1cError) -> None: ...

    async def finished(self, flow: str, summary: RunSummary) -> None: ...
