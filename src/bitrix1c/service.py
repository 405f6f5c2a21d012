"""The service: the store, one client per system, and the flows built from settings."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bitrix1c.bitrix24.auth import StateTokenStore
from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.bitrix24.config import open_client
from bitrix1c.monitor.alerts import Alerter, RunAlerts, channels_from
from bitrix1c.monitor.drift import DriftFinding, MetadataDrift, check_counterparties
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import get_profile
from bitrix1c.settings import Settings
from bitrix1c.state.store import RunSummary, Store
from bitrix1c.sync.engine import FlowBody, Progress, RunContext, run_flow
from bitrix1c.sync.flows.counterparties import FLOW as COUNTERPARTIES
from bitrix1c.sync.flows.counterparties import CounterpartySync
from bitrix1c.web import bitrix24_events, commerceml, onec_push, review
from bitrix1c.web.app import create_app

log = structlog.get_logger(__name__)

FLOWS = (COUNTERPARTIES,)


class Service:
    """Open with :meth:`open`, close with :meth:`close` (or ``async with``)."""

    def __init__(self, settings: Settings, store: Store, bitrix24: Bitrix24Client) -> None:
        self.settings = settings
        self.store = store
        self.bitrix24 = bitrix24
        self._checked: dict[str, float] = {}
        self._exchange: commerceml.ExchangeServer | None = None
        self.alerter = Alerter(store, settings.alerts, channels_from(settings.alerts))
        self.watch = RunAlerts(self.alerter, self.systems_of)
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
        try:
            # A webhook client, or an OAuth app whose tokens live in the store.
            bitrix24 = await open_client(settings.bitrix24, store)
        except BaseException:
            await store.close()
            raise
        return cls(settings, store, bitrix24)

    async def close(self) -> None:
        if self._exchange is not None:
            self._exchange.close()
        await self.bitrix24.aclose()
        for client in self.onec.values():
            await client.aclose()
        await self.store.close()

    async def __aenter__(self) -> Service:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def web_app(self) -> Starlette:
        """The web side: dashboard, API, metrics, health, and the hooks 1C and Bitrix24 call."""
        tokens = {b.name: b.push_token for b in self.settings.onec if b.push_token}
        routes: list[BaseRoute] = [
            *bitrix24_events.routes(self.store, StateTokenStore(self.store).application_token),
            *onec_push.routes(self.store, tokens),
            *review.routes(self.store),
        ]
        if self.settings.commerceml is not None:
            if self._exchange is None:
                self._exchange = commerceml.ExchangeServer(self.store, self.settings.commerceml)
            routes += self._exchange.routes()
        return create_app(
            self.store,
            web=self.settings.web,
            flows=self.enabled_flows(),
            systems_of=self.systems_of,
            live=self.live_health,
            extra_routes=routes,
        )

    def live_health(self) -> dict[str, str]:
        """What only the running service knows: request budget in use, token expiry."""
        health = {"budget": f"{self.bitrix24.bucket.usage():.0%}"}
        tokens = getattr(self.bitrix24.auth, "tokens", None)
        if tokens is not None:
            health["token"] = f"{tokens.expires_at:%Y-%m-%d %H:%M} UTC"
        return health

    def systems_of(self, flow: str) -> list[str]:
        """The systems a flow talks to, as incident subjects."""
        base = getattr(self.settings.flows, flow).base
        return ["bitrix24", f"1c:{self.settings.onec_base(base).name}"]

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

    async def check(self, name: str) -> list[DriftFinding]:
        """Drift findings of flow ``name`` against the live systems."""
        if name != COUNTERPARTIES:
            raise KeyError(f"unknown flow {name!r}")
        flow = self.settings.flows.counterparties
        base = self.settings.onec_base(flow.base)
        findings = await check_counterparties(
            bitrix24=self.bitrix24,
            onec=self.onec[base.name],
            profile=get_profile(base.profile, base.overrides),
            base=base.name,
            presets=flow.presets.model_dump(),
            assigned_by_id=flow.assigned_by_id,
        )
        self._checked[name] = time.monotonic()
        return findings

    def _guarded(self, name: str, body: FlowBody) -> FlowBody:
        """``body`` preceded by a drift check when the last one is older than the setting."""

        async def run(ctx: RunContext) -> None:
            last = self._checked.get(name)
            if last is None or time.monotonic() - last > self.settings.checks.every_minutes * 60:
                findings = await self.check(name)
                if findings and self.settings.checks.policy(name) == "stop":
                    raise MetadataDrift(
                        "the mapping no longer fits the live systems: "
                        + "; ".join(str(f) for f in findings),
                        flow=name,
                    )
            await body(ctx)

        return run

    def _counterparties(self) -> FlowBody:
        flow = self.settings.flows.counterparties
        base = self.settings.onec_base(flow.base)
        sync = CounterpartySync(
            store=self.store,
            bitrix24=self.bitrix24,
            onec=self.onec[base.name],
            profile=get_profile(base.profile, base.overrides),
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
            self.store,
            name,
            self._guarded(name, self.flow(name)) if not dry_run else self.flow(name),
            trigger=trigger,
            dry_run=dry_run,
            progress=progress,
            watch=None if dry_run else self.watch,
        )
        return summary
