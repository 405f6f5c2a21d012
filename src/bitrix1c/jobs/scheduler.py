"""Embedded scheduler: each enabled flow runs every N minutes, one run at a time per flow."""

from __future__ import annotations

import asyncio

import structlog

from bitrix1c.errors import Bitrix1cError
from bitrix1c.service import Service

log = structlog.get_logger(__name__)


async def run_periodically(service: Service, flow: str, *, trigger: str = "schedule") -> None:
    """Run ``flow`` now and then every ``every_minutes``; failures are logged, not fatal."""
    interval = service.every_minutes(flow) * 60
    while True:
        try:
            await service.run(flow, trigger=trigger)
        except Bitrix1cError as exc:
            # Already on the run log; the next tick tries again.
            log.error("schedule.run_failed", flow=flow, error=type(exc).__name__, message=str(exc))
        await asyncio.sleep(interval)


async def run_scheduler(service: Service) -> None:
    """Run every enabled flow on its schedule until cancelled."""
    async with asyncio.TaskGroup() as group:
        for flow in service.enabled_flows():
            group.create_task(run_periodically(service, flow))
