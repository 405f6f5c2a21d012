"""Embedded scheduler: each enabled flow runs every N minutes, one run at a time per flow.

A run still going when its next turn comes is *overdue*: an incident is opened (one
alert), and closed when the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from bitrix1c.errors import Bitrix1cError
from bitrix1c.service import Service

log = structlog.get_logger(__name__)


async def _watch_overdue(service: Service, flow: str, interval: float) -> None:
    await asyncio.sleep(interval)
    await service.alerter.problem(
        "overdue",
        flow,
        f"Flow {flow!r} has been running longer than its schedule ({interval / 60:g} min).",
        hint="Check the run log and the connections on the dashboard; a slow 1C base or the "
        "Bitrix24 request limit are the usual causes.",
    )


async def run_once_watched(service: Service, flow: str, interval: float, trigger: str) -> None:
    """One run of ``flow``; an overdue incident if it outlasts ``interval`` seconds."""
    watchdog = asyncio.create_task(_watch_overdue(service, flow, interval))
    try:
        await service.run(flow, trigger=trigger)
    except Bitrix1cError as exc:
        # Already on the run log and alerted; the next tick tries again.
        log.error("schedule.run_failed", flow=flow, error=type(exc).__name__, message=str(exc))
    finally:
        watchdog.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watchdog
        await service.alerter.recovered("overdue", flow)


async def run_periodically(service: Service, flow: str, *, trigger: str = "schedule") -> None:
    """Run ``flow`` now and then every ``every_minutes``; failures are logged, not fatal."""
    interval = service.every_minutes(flow) * 60
    while True:
        await run_once_watched(service, flow, interval, trigger)
        await asyncio.sleep(interval)


async def run_scheduler(service: Service) -> None:
    """Run every enabled flow on its schedule until cancelled."""
    async with asyncio.TaskGroup() as group:
        for flow in service.enabled_flows():
            group.create_task(run_periodically(service, flow))
