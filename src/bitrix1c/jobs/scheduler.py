"""Embedded scheduler: each enabled flow runs every N minutes, one run at a time per flow.

A run still going when its next turn comes is *overdue*: an incident is opened (one
alert), and closed when the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from bitrix1c.bitrix24.events import bind_offline, poll_offline_events
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


async def drain_inbox_periodically(service: Service) -> None:
    """Drain the changes 1C pushed every ``inbox.every_seconds``; failures are logged."""
    drain = service.inbox_drain()
    while True:
        try:
            await drain.drain()
        except Exception:  # the store itself failing: logged, tried again next tick
            log.exception("schedule.inbox_drain_failed")
        await asyncio.sleep(service.settings.inbox.every_seconds)


# CRM changes the service keeps in its inbox (read offline, so nothing is lost while the
# service is down).
OFFLINE_EVENTS = ("ONCRMCOMPANYADD", "ONCRMCOMPANYUPDATE", "ONCRMCONTACTADD", "ONCRMCONTACTUPDATE")


async def poll_offline_events_periodically(service: Service, every_seconds: float) -> None:
    """Move Bitrix24's offline event queue into the inbox; failures are logged.

    A batch the store could not take stays reserved in Bitrix24 under the process id and
    comes back on the next poll: nothing is lost.
    """
    oauth = service.settings.bitrix24.oauth
    connector = oauth.auth_connector if oauth is not None else None
    bound = False
    while True:
        try:
            if not bound:
                await bind_offline(service.bitrix24, OFFLINE_EVENTS, auth_connector=connector)
                bound = True
            await poll_offline_events(service.bitrix24, service.store)
        except Exception:
            log.exception("schedule.offline_events_failed")
        await asyncio.sleep(every_seconds)


async def run_scheduler(service: Service) -> None:
    """Run every enabled flow on its schedule, the inbox drain and (for an OAuth app) the
    offline-events poller, until cancelled."""
    oauth = service.settings.bitrix24.oauth
    async with asyncio.TaskGroup() as group:
        for flow in service.enabled_flows():
            group.create_task(run_periodically(service, flow))
        group.create_task(drain_inbox_periodically(service))
        # Offline events need an application's auth (a webhook cannot bind them).
        if oauth is not None and oauth.offline_events_every_seconds > 0:
            group.create_task(
                poll_offline_events_periodically(service, oauth.offline_events_every_seconds)
            )
