"""The service: the store, one client per system, and the flows built from settings."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import get_profile
from bitrix1c.settings import Settings
from bitrix1c.state.store import RunSummary, Store
from bitrix1c.sync.engine import FlowBody, Progress, run_flow
from bitrix1c.sync.flows.counterparties import FLOW as COUNTERPARTIES
from bitrix1c.sync.flows.counterparties import CounterpartySync

log = structlog.get_logger(__name__)

FLOWS = (COUNTERPARTIES,)


class Service:
    """Open with :meth:`open`, close with :meth:`close` (or ``async with``)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        rate, burst = settings.bitrix24.limits()
        self.bitrix24 = Bitrix24Client(
            settings.bitrix24.webhook_url.get_secret_value(),
            rate=rate,
            burst=burst,
            timeout=settings.bitrix24.timeout_seconds,
        )
        self.onec = {
            base.name: ODataClient(
                base.odata_url,
                base.username,
                base.password.get_secret_value(),
                base=base.name,
                timeout=base.timeout_seconds,
            )
            for base in settings.onec
        }

    @classmethod
    async def open(cls, settings: Settings) -> Service:
        store = await Store.open(settings.store.url)
        return cls(settings, store)

    async def close(self) -> None:
        await self.bitrix24.aclose()
        for client in self.onec.values():
            await client.aclose()
        await self.store.close()

    async def __aenter__(self) -> Service:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def enabled_flows(self) -> list[str]:
        return [name for name in FLOWS if getattr(self.settings.flows, name).enabled]

    def every_minutes(self, flow: str) -> float:
        return float(getattr(self.settings.flows, flow).every_minutes)

    def flow(self, name: str) -> FlowBody:
        """The callable that runs flow ``name`` once."""
        builders: dict[str, Callable[[], FlowBody]] = {COUNTERPARTIES: self._counterparties}
        if name not in builders:
            raise KeyError(f"unknown flow {name!r}; known: {', '.join(builders)}")
        return builders[name]()

    def _counterparties(self) -> FlowBody:
        flow = self.settings.flows.counterparties
        base = self.settings.onec_base(flow.base)
        sync = CounterpartySync(
            store=self.store,
            bitrix24=self.bitrix24,
            onec=self.onec[base.name],
            profile=get_profile(base.profile),
            base=base.name,
            settings=flow,
        )
        sync.page_size = base.page_size
        return sync

    async def run(
        self, name: str, *, trigger: str, dry_run: bool = False, progress: Progress | None = None
    ) -> RunSummary:
        """Run flow ``name`` once and return its counters."""
        summary, _status, _message = await run_flow(
            self.store, name, self.flow(name), trigger=trigger, dry_run=dry_run, progress=progress
        )
        return summary
